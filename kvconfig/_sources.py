"""Where settings come from: the environment, ``.env`` files (python-dotenv) and JSON, YAML or TOML files.

Each reader returns a :class:`ConfigSource`: flat settings (nested keys joined as ``database.password`` and
``servers[0].url``), where each came from (``app.env:3``) for error messages, and, for structured files, the
structure itself so that resolved values can be written back in place (``kvconfig inject``).
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from kvconfig.errors import KvConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["ConfigSource", "SourceError", "from_dotenv", "from_environ", "from_file", "from_mapping"]

PathPart = str | int


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

    def render(self, resolved: Mapping[str, Any]) -> Any:
        """The structure of the source with resolved values put back in place (for structured files)."""
        if self.data is None:
            return {key: resolved.get(key, value) for key, value in self.settings.items()}
        data = _deep_copy(self.data)
        for key, path in self.paths.items():
            if key in resolved:
                _assign(data, path, resolved[key])
        return data

    def __repr__(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"ConfigSource({self.kind}{where}, {len(self.settings)} settings)"


def from_mapping(settings: Mapping[str, Any], *, origin: str = "mapping") -> ConfigSource:
    return ConfigSource(dict(settings), dict.fromkeys(settings, origin), "mapping")


def from_environ(environ: Mapping[str, str] | None = None, *, prefix: str = "") -> ConfigSource:
    """Environment variables (optionally only those starting with ``prefix``, which is kept in the names)."""
    env = os.environ if environ is None else environ
    settings = {key: value for key, value in env.items() if key.startswith(prefix)}
    return ConfigSource(settings, dict.fromkeys(settings, "environment"), "environ")


def from_dotenv(path: str | os.PathLike[str], *, interpolate: bool = True) -> ConfigSource:
    """A ``.env`` file read with python-dotenv; origins carry the line of each variable."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"Cannot read the env file {file}: {exc.strerror or exc}.") from exc
    values = dotenv_values(stream=io.StringIO(text), interpolate=interpolate)
    origins: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise SourceError(f"{file}:{binding.original.line}: this line is not valid .env syntax.")
        if binding.key is not None:
            origins[binding.key] = f"{file}:{binding.original.line}"
    settings = {key: ("" if value is None else value) for key, value in values.items()}
    return ConfigSource(settings, origins, "dotenv", file)


def from_file(path: str | os.PathLike[str]) -> ConfigSource:
    """Read a ``.env``, ``.json``, ``.yaml``/``.yml`` or ``.toml`` file, chosen by its name."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix in (".json",):
        return _structured(file, "json")
    if suffix in (".yaml", ".yml"):
        return _structured(file, "yaml")
    if suffix == ".toml":
        return _structured(file, "toml")
    if suffix == ".env" or file.name.startswith(".env") or file.name.endswith(".env"):
        return from_dotenv(file)
    raise SourceError(f"Cannot tell the format of {file}: use a .env, .json, .yaml/.yml or .toml file name.")


def _structured(file: Path, kind: str) -> ConfigSource:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"Cannot read the config file {file}: {exc.strerror or exc}.") from exc
    try:
        if kind == "json":
            data = json.loads(text)
        elif kind == "toml":
            data = tomllib.loads(text)
        else:
            try:
                import yaml
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise SourceError("Reading YAML needs PyYAML: pip install 'kvconfig[yaml]'.") from exc
            data = yaml.safe_load(text)
    except SourceError:
        raise
    except Exception as exc:
        raise SourceError(f"{file} is not valid {kind.upper()}: {_parse_error_position(exc)}") from exc
    settings: dict[str, Any] = {}
    paths: dict[str, tuple[PathPart, ...]] = {}
    for path, value in _leaves(data, ()):
        key = _key(path)
        settings[key] = value
        paths[key] = path
    lines = text.splitlines()
    origins = {key: _locate(file, lines, value) for key, value in settings.items()}
    return ConfigSource(settings, origins, kind, file, data, paths)


def _parse_error_position(exc: Exception) -> str:
    # Parser messages give positions, not content; keep them short and value-free.
    line = getattr(exc, "lineno", None)
    if line is not None:
        return f"line {line}."
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"line {mark.line + 1}."
    return type(exc).__name__


def _leaves(data: Any, path: tuple[PathPart, ...]) -> Iterator[tuple[tuple[PathPart, ...], Any]]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from _leaves(value, (*path, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _leaves(value, (*path, index))
    else:
        yield path, data


def _key(path: tuple[PathPart, ...]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _locate(file: Path, lines: list[str], value: Any) -> str:
    if isinstance(value, str) and value:
        for number, line in enumerate(lines, start=1):
            if value in line:
                return f"{file}:{number}"
    return str(file)


def _deep_copy(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {key: _deep_copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_deep_copy(value) for value in data]
    return data


def _assign(data: Any, path: tuple[PathPart, ...], value: Any) -> None:
    target = data
    for part in path[:-1]:
        target = target[part]
    if path:
        target[path[-1]] = value
