"""Files the CLI writes that may hold values or addresses: atomically, mode 0600, never through a symbolic link."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_private_file"]


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path``: a temporary file in the same folder (created 0600), flushed to disk, then
    ``os.replace``-d over ``path``, so readers see the old file or the whole new one, never a part.

    Refuses a ``path`` that is a symbolic link (``OSError``) rather than write where the link points; ``os.replace``
    would only swap the link itself, which is not what its owner meant either.
    """
    if path.is_symlink():
        raise OSError(f"{path} is a symbolic link; kvconfig does not write through links")
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
