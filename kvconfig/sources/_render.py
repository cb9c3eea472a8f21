"""Writing a source back out: ``.env`` lines re-quoted in place, TOML from a structure, values put back by path.

Used by :meth:`ConfigSource.render_text` (``kvconfig inject``). Nothing here reads files.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Mapping
from typing import Any

from dotenv.parser import parse_stream

from kvconfig.sources._paths import PathPart

__all__ = ["as_text", "assign_path", "deep_copy", "dotenv_quote", "dump_toml", "render_dotenv"]


def dotenv_quote(value: str) -> str:
    """Quote a value for a ``.env`` file so that python-dotenv reads back exactly ``value`` (newlines included)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def deep_copy(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {key: deep_copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [deep_copy(value) for value in data]
    return data


def assign_path(data: Any, path: tuple[PathPart, ...], value: Any) -> None:
    target = data
    for part in path[:-1]:
        target = target[part] if isinstance(part, int) else _member(target, part)
    if path:
        last = path[-1]
        target[last if isinstance(last, int) else _member_key(target, last)] = value


def _member(mapping: Any, part: str) -> Any:
    return mapping[_member_key(mapping, part)]


def _member_key(mapping: Any, part: str) -> Any:
    # YAML keys may be ints or booleans; paths hold their str() form.
    if part in mapping:
        return part
    return next((key for key in mapping if str(key) == part), part)


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def render_dotenv(document: str, settings: Mapping[str, Any], resolved: Mapping[str, Any]) -> str:
    out: list[str] = []
    for binding in parse_stream(io.StringIO(document)):
        original = binding.original.string
        key = binding.key
        if key is None or key not in resolved or as_text(resolved[key]) == as_text(settings.get(key)):
            out.append(original)
            continue
        body = original.lstrip()
        leading = original[: len(original) - len(body)]
        export = "export " if body.startswith("export ") else ""
        newline = original[len(original.rstrip("\r\n")) :]
        out.append(f"{leading}{export}{key}={dotenv_quote(as_text(resolved[key]))}{newline}")
    return "".join(out)


def dump_toml(data: Mapping[str, Any], prefix: str = "") -> str:
    """Write TOML for the shapes config files use (tables, arrays, strings, numbers, booleans, dates)."""
    scalars, tables = [], []
    for key, value in data.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        else:
            scalars.append(f"{_toml_key(key)} = {_toml_value(value)}")
    out = "\n".join(scalars) + ("\n" if scalars else "")
    for key, value in tables:
        name = f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)
        out += f"\n[{name}]\n" + dump_toml(value, name)
    return out


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(as_text(value))
