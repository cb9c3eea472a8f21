"""How deep a structured document may nest; checked without recursion, so depth cannot exhaust the stack."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kvconfig.sources._base import SourceError

__all__ = ["MAX_DEPTH", "check_depth"]

#: Deepest nesting of mappings and lists a config file may have (real ones stay under ten).
MAX_DEPTH = 100


def check_depth(data: Any, file: Path, kind: str) -> None:
    """Raise :class:`SourceError` when ``data`` nests deeper than :data:`MAX_DEPTH`."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth > MAX_DEPTH:
            raise SourceError(f"{file}: the {kind.upper()} document is nested more than {MAX_DEPTH} levels deep.")
        stack.extend((child, depth + 1) for child in children)
