"""A platform's own file read as written: its parsed structure, and the file:line of every part of it.

The JSON and YAML are read by :func:`kvconfig.sources.from_file` (its depth bound, its safe YAML loader, its line of
each value); this module adds the size bound, the line of a container (a mapping or list, where the platform's
errors point), and :class:`PlatformError`, the one-line error every platform reader raises. A ``.bicep`` file (for
the readers that take one) is read by :mod:`kvconfig.platforms._bicep` as the ARM template it compiles to.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kvconfig.platforms._bicep import BicepError, parse_bicep
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
        self._place(source.path, source.data, {path: source.origins[key] for key, path in source.paths.items()})

    @classmethod
    def parsed(cls, path: Path, data: Any, lines: Mapping[Path_, int]) -> Document:
        """A document another reader parsed (Bicep), with the line of each of its parts."""
        document = cls.__new__(cls)
        document._place(path, data, {part: f"{path}:{line}" for part, line in lines.items()})
        return document

    def _place(self, path: Path, data: Any, lines: dict[Path_, str]) -> None:
        self.path: Path = path
        self.data: Any = data
        self._lines: dict[Path_, str] = lines
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


def read_document(path: str | os.PathLike[str], what: str, *, bicep: bool = False) -> Document:
    """Read a platform's JSON or YAML file (``what`` names it in errors: ``"local.settings.json"``); with ``bicep``, a
    ``.bicep`` file too, as the ARM template ``az bicep build`` writes for it."""
    file = Path(path)
    kind = "bicep" if bicep and file.suffix.lower() == ".bicep" else file_kind(file)
    if kind not in ("json", "yaml", "bicep"):
        suffix = file.suffix or "a name without a suffix"
        kinds = "JSON, YAML or Bicep (.json, .yaml, .yml or .bicep)" if bicep else "JSON or YAML (.json, .yaml or .yml)"
        raise PlatformError(f"{file}: a {what} file is {kinds}, not {suffix}.")
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise PlatformError(f"Cannot read the {what} file {file}: {exc.strerror or type(exc).__name__}.") from None
    if size > MAX_FILE_BYTES:
        raise PlatformError(
            f"{file}: the {what} file is {size:,} bytes; kvconfig reads at most {MAX_FILE_BYTES:,} bytes of it."
        )
    document = _read_bicep(file) if kind == "bicep" else Document(from_file(file))
    if not isinstance(document.data, Mapping | list):
        raise PlatformError(f"{file}: a {what} file holds an object at the top.")
    return document


def _read_bicep(file: Path) -> Document:
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise PlatformError(f"Cannot read {file}: {exc.strerror or type(exc).__name__}.") from None
    except UnicodeDecodeError:
        raise PlatformError(f"{file}: a Bicep file is UTF-8 text.") from None
    try:
        parsed = parse_bicep(text)
    except BicepError as exc:
        raise PlatformError(f"{file}:{exc.line}: {exc.message}") from None
    return Document.parsed(file, parsed.data, parsed.lines)


def _line_number(origin: str) -> int:
    _, _, line = origin.rpartition(":")
    return int(line) if line.isdigit() else 0
