"""Nested values addressed by path: the leaves of nested dicts and lists, their flat names, and writing one back.

A path is a tuple of mapping keys (as ``str``) and list indexes; its flat name joins them the way settings are named
(``database.password``, ``servers[0].url``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["PathPart", "assign", "leaves", "path_key"]

PathPart = str | int


def leaves(data: Any, path: tuple[PathPart, ...] = ()) -> Iterator[tuple[tuple[PathPart, ...], Any]]:
    """Every leaf of nested dicts and lists (and tuples), with its path."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from leaves(value, (*path, str(key)))
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            yield from leaves(value, (*path, index))
    else:
        yield path, data


def path_key(path: tuple[PathPart, ...]) -> str:
    """``("database", "password")`` -> ``database.password``; ``("servers", 0)`` -> ``servers[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def assign(data: Any, path: tuple[PathPart, ...], value: Any) -> Any:
    """A copy of ``data`` with ``value`` at ``path`` (containers on the path are copied, the rest shared)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, Mapping):
        copy = dict(data)
        original = next((key for key in copy if str(key) == head), head)
        copy[original] = assign(copy[original], rest, value)
        return copy
    items = list(data)
    assert isinstance(head, int)
    items[head] = assign(items[head], rest, value)
    return tuple(items) if isinstance(data, tuple) else items
