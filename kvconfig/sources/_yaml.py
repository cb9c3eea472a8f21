"""YAML documents read safely: anchors and aliases bounded, nesting bounded, and the line of every value.

PyYAML shares an aliased node instead of copying it, so a few hundred bytes of aliases to aliases (the "billion
laughs") describe billions of values; flattening them is what exhausts memory. The composed document is measured
first, as the tree it stands for, in time linear in the document: aliases that add more than :data:`MAX_VALUES`
values beyond the ones written, an alias that contains itself, or nesting deeper than :data:`MAX_DEPTH` is a
:class:`SourceError` before anything is built. Documents without aliases are never limited by size, only by depth.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kvconfig.sources._base import SourceError
from kvconfig.sources._depth import MAX_DEPTH
from kvconfig.sources._paths import PathPart

__all__ = ["MAX_VALUES", "load_yaml"]

#: How many values (scalars and collections) aliases may add to a YAML document, beyond the ones written in it.
MAX_VALUES = 100_000


def load_yaml(text: str, file: Path) -> tuple[Any, dict[tuple[PathPart, ...], int]]:
    """The document's data and the line of each scalar, by path. Parse errors propagate as PyYAML raises them."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _measure(node, file)
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    # Lines are read after construction: merge keys (<<) have then put the merged pairs into the mapping's node.
    return data, _lines(node)


def _measure(root: Any, file: Path) -> None:
    """Refuse a node graph whose tree is too large, too deep or cyclic, visiting each distinct node once."""
    import yaml

    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node, yaml)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            depths[key] = 1 + max((depths[id(child)] for child in children), default=0)
            if sizes[key] - len(sizes) > MAX_VALUES:  # what aliases add beyond the nodes actually written
                raise SourceError(
                    f"{file}:{node.start_mark.line + 1}: anchors and aliases expand this YAML document to more than "
                    f"{MAX_VALUES:,} values; kvconfig refuses it (an alias bomb?). Write the values out instead."
                )
            if depths[key] > MAX_DEPTH:
                raise SourceError(f"{file}: the YAML document is nested more than {MAX_DEPTH} levels deep.")
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise SourceError(f"{file}:{node.start_mark.line + 1}: a YAML alias refers to itself (a recursive alias).")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: Any, yaml: Any) -> list[Any]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _lines(root: Any) -> dict[tuple[PathPart, ...], int]:
    """Line of every scalar in a composed YAML document, by path (iteratively: depth is bounded, not the stack)."""
    import yaml

    lines: dict[tuple[PathPart, ...], int] = {}
    stack: list[tuple[Any, tuple[PathPart, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            stack.extend((value, (*path, str(key.value))) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, index)) for index, item in enumerate(node.value))
        elif isinstance(node, yaml.ScalarNode):
            lines.setdefault(path, node.start_mark.line + 1)
    return lines
