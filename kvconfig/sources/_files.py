"""Config files: JSON, YAML and TOML (and ``.env``, by name), with the line each setting came from."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kvconfig.sources._base import ConfigSource, SourceError, os_reason
from kvconfig.sources._dotenv import from_dotenv
from kvconfig.sources._paths import PathPart, leaves, path_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["file_kind", "from_file"]

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def from_file(path: str | os.PathLike[str]) -> ConfigSource:
    """Read a ``.env``, ``.json``, ``.yaml``/``.yml`` or ``.toml`` file, chosen by its name."""
    file = Path(path)
    kind = file_kind(file)
    if kind is None:
        raise SourceError(f"Cannot tell the format of {file}: use a .env, .json, .yaml/.yml or .toml file name.")
    if kind == "dotenv":
        return from_dotenv(file)
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
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"Cannot read the config file {file}: {os_reason(exc)}.") from None
    yaml_lines: dict[tuple[PathPart, ...], int] = {}
    try:
        if kind == "json":
            data = json.loads(text)
        elif kind == "toml":
            data = tomllib.loads(text)
        else:
            try:
                import yaml
            except ImportError:  # pragma: no cover - depends on the environment
                raise SourceError("Reading YAML needs PyYAML: pip install 'kvconfig[yaml]'.") from None
            data = yaml.safe_load(text)
            yaml_lines = _yaml_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except SourceError:
        raise
    except Exception as exc:
        # ``from None``: the parser's own exception may quote the document, values included.
        raise SourceError(f"{file} is not valid {kind.upper()}: {_parse_error(exc)}") from None
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
    if kind == "yaml":
        origins = {
            key: f"{file}:{yaml_lines[path]}" if path in yaml_lines else str(file) for key, path in paths.items()
        }
    else:
        origins = _locate_all(file, text.splitlines(), settings, paths, kind)
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


def _yaml_lines(node: Any, path: tuple[PathPart, ...] = ()) -> dict[tuple[PathPart, ...], int]:
    """Line of every scalar in a composed YAML document, by path."""
    import yaml

    lines: dict[tuple[PathPart, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            lines.update(_yaml_lines(value_node, (*path, str(key_node.value))))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_yaml_lines(item, (*path, index)))
    elif isinstance(node, yaml.ScalarNode):
        lines[path] = node.start_mark.line + 1
    return lines


def _locate_all(
    file: Path, lines: list[str], settings: dict[str, Any], paths: dict[str, tuple[PathPart, ...]], kind: str
) -> dict[str, str]:
    """Origins for JSON and TOML (whose parsers keep no positions): each value is looked for from where the previous
    one was found, so repeated values (the same reference twice) get their own lines."""
    origins: dict[str, str] = {}
    cursor = 0
    for key, value in settings.items():
        if isinstance(value, str) and value:
            needles = [value, json.dumps(value)[1:-1]]
        else:
            last = next((part for part in reversed(paths[key]) if isinstance(part, str)), None)
            needles = [f'"{last}"', f"{last} ="] if last else []
        found = _find_line(lines, needles, cursor)
        if found is None:
            found = _find_line(lines, needles, 0)
        if found is None:
            origins[key] = str(file)
        else:
            origins[key] = f"{file}:{found + 1}"
            cursor = found
    return origins


def _find_line(lines: list[str], needles: list[str], start: int) -> int | None:
    for number in range(start, len(lines)):
        if any(needle and needle in lines[number] for needle in needles):
            return number
    return None
