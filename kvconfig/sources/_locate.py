"""The line of each setting in a JSON or TOML file, whose parsers keep no positions.

Each file is read once, token by token (JSON) or line by line (TOML), following the same structure the parser
built, so the time is linear in the file: a 100,000-setting or one-line (minified) file costs about as much as
parsing it. A value inside an inline table or a multi-line array gets the line of the key that holds it.
"""

from __future__ import annotations

import json
import re

from kvconfig.sources._paths import PathPart

__all__ = ["json_lines", "line_of", "toml_lines"]

Path_ = tuple[PathPart, ...]

# A string (a key when ':' follows), an opening or closing bracket, or a bare literal (number, true, false,
# null). Commas and colons are skipped: in valid JSON, a string followed by ':' is always a key.
_JSON_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_JSON_TOKEN = re.compile(rf'{_JSON_STRING}(\s*:)?|[{{}}\[\]]|[^\s{{}}\[\],:"]+')


def json_lines(text: str) -> dict[Path_, int]:
    """Line of every value of a JSON document (already known to be valid), by path."""
    lines: dict[Path_, int] = {}
    path: list[PathPart] = []  # the path of the container being read, then the current key or index
    in_array: list[bool] = []  # per open container
    line, last = 1, 0
    count = text.count
    for match in _JSON_TOKEN.finditer(text):
        if match.group(1) is not None:  # a key: it names the next value
            key = match.group().rstrip()[:-1].rstrip()
            path[-1] = json.loads(key) if "\\" in key else key[1:-1]
            continue
        start = match.start()
        char = text[start]
        if char == "}" or char == "]":
            in_array.pop()
            path.pop()
            continue
        if in_array and in_array[-1]:
            index = path[-1]
            path[-1] = index + 1 if isinstance(index, int) else 0
        line += count("\n", last, start)
        last = start
        lines[tuple(path)] = line
        if char == "{" or char == "[":
            in_array.append(char == "[")
            path.append(-1 if char == "[" else "")
    return lines


# One part of a TOML key: "basic", 'literal' or bare.
_TOML_KEY_PART = re.compile(r'[ \t]*(?:"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_-]+))[ \t]*')


def toml_lines(text: str) -> dict[Path_, int]:
    """Line of every key, table and array-of-tables element of a TOML document (already known to be valid)."""
    lines: dict[Path_, int] = {}
    table: Path_ = ()
    element: dict[tuple[str, ...], int] = {}  # array of tables (by its keys) -> index of its current element
    counts: dict[Path_, int] = {}  # array of tables (by its full path) -> elements so far
    closing: str | None = None  # the delimiter of the multi-line string being skipped
    for number, raw in enumerate(text.splitlines(), 1):
        if closing is not None:
            if raw.count(closing) % 2 == 1:
                closing = None
            continue
        stripped = raw.lstrip()
        if stripped.startswith("["):
            double = stripped.startswith("[[")
            keys, _end = _toml_key(stripped, 2 if double else 1)
            if keys is None:
                continue
            parent = _resolve(keys[:-1], element)
            if double:
                full = (*parent, keys[-1])
                counts[full] = index = counts.get(full, -1) + 1
                element[keys] = index
                table = (*full, index)
            else:
                table = _resolve(keys, element)
            lines.setdefault(table, number)
            continue
        keys, end = _toml_key(stripped, 0)
        if keys is None or not stripped[end:].startswith("="):
            continue
        lines[table + keys] = number
        value = stripped[end + 1 :]
        for delimiter in ('"""', "'''"):
            if value.count(delimiter) % 2 == 1:
                closing = delimiter
                break
    return lines


def line_of(path: Path_, lines: dict[Path_, int]) -> int | None:
    """The line of ``path``, or of the nearest enclosing key that has one (a value inside an inline table or array)."""
    for length in range(len(path), 0, -1):
        found = lines.get(path[:length])
        if found is not None:
            return found
    return None


def _resolve(keys: tuple[str, ...], element: dict[tuple[str, ...], int]) -> Path_:
    """A table's keys as a path: each array of tables on the way contributes its current element."""
    path: list[PathPart] = []
    for length in range(1, len(keys) + 1):
        path.append(keys[length - 1])
        index = element.get(keys[:length])
        if index is not None:
            path.append(index)
    return tuple(path)


def _toml_key(text: str, position: int) -> tuple[tuple[str, ...] | None, int]:
    """A dotted key starting at ``position`` and where it ends, or ``None`` when there is none."""
    parts: list[str] = []
    while True:
        match = _TOML_KEY_PART.match(text, position)
        if match is None:
            return None, position
        basic, literal, bare = match.groups()
        if basic is not None:
            parts.append(json.loads(f'"{basic}"') if "\\" in basic else basic)
        else:
            parts.append(literal if literal is not None else bare)
        position = match.end()
        if position < len(text) and text[position] == ".":
            position += 1
            continue
        return tuple(parts), position
