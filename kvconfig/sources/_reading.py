"""Reading a settings file whole, within a bound: a file past it, or a device or pipe that never ends, is a
:class:`SourceError` naming the file, never a ``MemoryError``.

Real settings files are kilobytes; the bound is far above any of them and far below what would hurt the process.
"""

from __future__ import annotations

import os
from pathlib import Path

from kvconfig.sources._base import SourceError, os_reason

__all__ = ["MAX_FILE_CHARS", "read_text_file"]

MAX_FILE_CHARS = 16 * 1024 * 1024
"""The most characters kvconfig reads from one settings file, template or price table."""


def read_text_file(path: str | os.PathLike[str], what: str, *, limit: int = MAX_FILE_CHARS) -> str:
    """The UTF-8 text of ``path`` (newlines read as Python's text mode reads them); ``what`` names the file in errors
    (``"the env file"``). Never more than ``limit`` characters (and one) are read."""
    file = Path(path)
    try:
        with file.open(encoding="utf-8") as handle:
            text = handle.read(limit + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"Cannot read {what} {file}: {os_reason(exc)}.") from None
    if len(text) > limit:
        raise SourceError(
            f"Cannot read {what} {file}: it is larger than {limit:,} characters, the most kvconfig reads."
        )
    return text
