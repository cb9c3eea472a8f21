"""A platform's own file read as written: its parsed structure, and the file:line of every part of it.

The JSON and YAML are read by :func:`kvconfig.sources.from_file` (its depth bound, its safe YAML loader, its line of
each value); this module adds the size bound, the line of a container (a mapping or list, where the platform's
errors point), and :class:`PlatformError`, the one-line error every platform reader raises.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kvconfig.sources import ConfigSource, PathPart, SourceError, file_kind, from_file

__all__ = ["MAX_FILE_BYTES", "Document", "PlatformError", "read_document"]

#: The largest platform file kvconfig reads (real ones are a few kilobytes).
MAX_FILE_BYTES = 4 * 1024 * 1024

Path_ = tuple[PathPart, ...]


class PlatformError(SourceError):
    """A platform's file says something the platform would refuse: names the setting, the file and the line."""


class Document:
    """A parsed JSON or YAML file and where each of its values (and containers) was written."""

    def __init__(self, source: ConfigSource) -> None:
        assert source.path is not None
        self.path: Path = source.path
        self.data: Any = source.data
        self._lines: dict[Path_, str] = {path: source.origins[key] for key, path in source.paths.items()}
        self._ordered = sorted(self._lines.items(), key=lambda item: _line_number(item[1]))

    def origin(self, path: Path_) -> str:
        """``file:line`` of the value at ``path``; for a mapping or list, the line of its first value."""
        found = self._lines.get(path)
        if found is not None:
            return found
        depth = len(path)
        for candidate, origin in self._ordered:
            if candidate[:depth] == path:
                return origin
        return str(self.path)

    def fail(self, path: Path_, message: str) -> PlatformError:
        """A :class:`PlatformError` for the part at ``path``: ``<file>:<line>: <message>``."""
        return PlatformError(f"{self.origin(path)}: {message}")


def read_document(path: str | os.PathLike[str], what: str) -> Document:
    """Read a platform's JSON or YAML file (``what`` names it in errors: ``"local.settings.json"``)."""
    file = Path(path)
    kind = file_kind(file)
    if kind not in ("json", "yaml"):
        suffix = file.suffix or "a name without a suffix"
        raise PlatformError(f"{file}: a {what} file is JSON or YAML (.json, .yaml or .yml), not {suffix}.")
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise PlatformError(f"Cannot read the {what} file {file}: {exc.strerror or type(exc).__name__}.") from None
    if size > MAX_FILE_BYTES:
        raise PlatformError(
            f"{file}: the {what} file is {size:,} bytes; kvconfig reads at most {MAX_FILE_BYTES:,} bytes of it."
        )
    document = Document(from_file(file))
    if not isinstance(document.data, Mapping | list):
        raise PlatformError(f"{file}: a {what} file holds an object at the top.")
    return document


def _line_number(origin: str) -> int:
    _, _, line = origin.rpartition(":")
    return int(line) if line.isdigit() else 0
