"""A source of settings: :class:`ConfigSource` (flat settings, their origins, how to write them back) and
:class:`SourceError`.

Settings are flat (nested keys joined as ``database.password`` and ``servers[0].url``); each has an origin
(``app.env:3``) for error messages. Errors name the file and the line, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvconfig.errors import KvConfigError
from kvconfig.sources._paths import PathPart
from kvconfig.sources._render import as_text, assign_path, deep_copy, dotenv_quote, dump_toml, render_dotenv

__all__ = ["ConfigSource", "SourceError", "os_reason"]


class SourceError(KvConfigError):
    """A configuration file cannot be read or parsed; says which file and where."""


@dataclass
class ConfigSource:
    """Flat settings with their origins; ``data`` keeps the nested structure of a structured file."""

    settings: dict[str, Any] = field(repr=False)
    origins: dict[str, str]
    kind: str
    path: Path | None = None
    data: Any = field(default=None, repr=False)
    paths: dict[str, tuple[PathPart, ...]] = field(default_factory=dict, repr=False)
    text: str | None = field(default=None, repr=False)

    def render(self, resolved: Mapping[str, Any]) -> Any:
        """The structure of the source with resolved values put back in place (for structured files)."""
        if self.data is None:
            return {key: resolved.get(key, value) for key, value in self.settings.items()}
        data = deep_copy(self.data)
        for key, path in self.paths.items():
            if key in resolved:
                assign_path(data, path, resolved[key])
        return data

    def render_text(self, resolved: Mapping[str, Any]) -> str:
        """The file's text with resolved values in place.

        A ``.env`` file keeps its comments, order and untouched lines; only lines whose value changed are rewritten
        (single-quoted). JSON, YAML and TOML are written out again from the structure (comments are not kept).
        """
        if self.kind == "dotenv" and self.text is not None:
            return render_dotenv(self.text, self.settings, resolved)
        if self.kind == "json":
            return json.dumps(self.render(resolved), indent=2) + "\n"
        if self.kind == "yaml":
            import yaml

            return str(yaml.safe_dump(self.render(resolved), sort_keys=False, allow_unicode=True))
        if self.kind == "toml":
            return dump_toml(self.render(resolved))
        values = self.render(resolved)
        return "".join(f"{key}={dotenv_quote(as_text(value))}\n" for key, value in values.items())

    def __repr__(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"ConfigSource({self.kind}{where}, {len(self.settings)} settings)"


def os_reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not UTF-8 text (byte {exc.start})"
    return str(getattr(exc, "strerror", None) or type(exc).__name__)
