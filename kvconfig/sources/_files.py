"""Config files: JSON, YAML and TOML (and ``.env``, by name), with the line each setting came from."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kvconfig.sources._base import ConfigSource, SourceError
from kvconfig.sources._depth import check_depth
from kvconfig.sources._dotenv import from_dotenv
from kvconfig.sources._locate import json_lines, line_of, toml_lines
from kvconfig.sources._paths import PathPart, leaves, path_key
from kvconfig.sources._reading import read_text_file
from kvconfig.sources._yaml import load_yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["file_kind", "from_file"]

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def from_file(path: str | os.PathLike[str], *, interpolate: bool = True) -> ConfigSource:
    """Read a ``.env``, ``.json``, ``.yaml``/``.yml`` or ``.toml`` file, chosen by its name.

    ``interpolate`` applies to ``.env`` files only (see :func:`from_dotenv`).
    """
    file = Path(path)
    kind = file_kind(file)
    if kind is None:
        raise SourceError(f"Cannot tell the format of {file}: use a .env, .json, .yaml/.yml or .toml file name.")
    if kind == "dotenv":
        return from_dotenv(file, interpolate=interpolate)
    return _structured(file, kind)


def file_kind(path: str | os.PathLike[str]) -> str | None:
    """``"dotenv"``, ``"json"``, ``"yaml"`` or ``"toml"`` from a file name; ``None`` when it says nothing."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".toml":
        return "toml"
    if suffix == ".env" or file.name.startswith(".env") or file.name.endswith(".env"):
        return "dotenv"
    return None


def _structured(file: Path, kind: str) -> ConfigSource:
    text = read_text_file(file, "the config file")
    lines: dict[tuple[PathPart, ...], int] = {}
    try:
        if kind == "json":
            data = json.loads(text)
        elif kind == "toml":
            data = tomllib.loads(text)
        else:
            try:
                import yaml  # noqa: F401  (only to say what to install)
            except ImportError:  # pragma: no cover - depends on the environment
                raise SourceError("Reading YAML needs PyYAML: pip install 'kvconfig[yaml]'.") from None
            data, lines = load_yaml(text, file)
    except SourceError:
        raise
    except RecursionError:
        raise SourceError(f"{file}: the {kind.upper()} document is nested too deeply to read.") from None
    except Exception as exc:
        # ``from None``: the parser's own exception may quote the document, values included.
        raise SourceError(f"{file} is not valid {kind.upper()}: {_parse_error(exc)}") from None
    check_depth(data, file, kind)
    if data is None:
        data = {}
    if not isinstance(data, Mapping | list):
        raise SourceError(f"{file} must hold an object (a mapping of settings) at the top, not a single value.")
    settings: dict[str, Any] = {}
    paths: dict[str, tuple[PathPart, ...]] = {}
    for path, value in leaves(data):
        key = path_key(path)
        settings[key] = value
        paths[key] = path
    if kind == "json":
        lines = json_lines(text)
    elif kind == "toml":
        lines = toml_lines(text)
    origins = {}
    for key, path in paths.items():
        line = lines.get(path) if kind == "yaml" else line_of(path, lines)
        origins[key] = f"{file}:{line}" if line is not None else str(file)
    return ConfigSource(settings, origins, kind, file, data, paths, text)


def _parse_error(exc: Exception) -> str:
    """Where the parser stopped and what it expected: its messages are templates, never document text."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}."
    if isinstance(exc, tomllib.TOMLDecodeError):
        message = str(exc)
        found = _TOML_POSITION.search(message)
        reason = _TOML_POSITION.sub("", message).strip()
        return f"{reason} at line {found.group(1)}, column {found.group(2)}." if found else f"{reason}."
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        problem = getattr(exc, "problem", None) or "syntax error"
        # PyYAML's problems may name the character it stopped at, but not the text around it.
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}."
    return type(exc).__name__
