"""Files that hold secret values: written whole or not at all, readable by their owner only, never through a link.

Every file kvconfig writes with values in it (``kvconfig resolve -o``, ``kvconfig inject -o``, a dump of the fake
vault) goes through :func:`write_private`:

- the text goes to a new temporary file in the target's folder, created with mode 0600 (``tempfile.mkstemp``), is
  flushed and fsynced, then renamed over the target with ``os.replace``: a reader sees the old file or the new one,
  never half of one, and a crash leaves at most a stray ``.<name>.*.tmp`` file that was never the target;
- a target that is a symbolic link is refused: writing "through" it would put secrets wherever the link points.
  (``os.replace`` would replace the link itself rather than its target, so even a link created between the check
  and the rename never leads the text elsewhere.)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from kvconfig.errors import KvConfigError

__all__ = ["PrivateFileError", "write_atomically", "write_private"]


class PrivateFileError(KvConfigError, OSError):
    """A private file could not be written (the target is a link or a folder, or the folder is not writable)."""


def write_private(path: str | os.PathLike[str], text: str | bytes) -> None:
    """Replace ``path`` atomically with ``text`` (UTF-8 when a ``str``), mode 0600; refuse a symbolic link."""
    write_atomically(path, text, mode=0o600)


def write_atomically(path: str | os.PathLike[str], text: str | bytes, *, mode: int) -> None:
    """:func:`write_private`'s way of writing, for a file that may be readable by others (``mode``, e.g. 0644 for a
    CA certificate that other programs must trust). Files with values in them use :func:`write_private`."""
    target = Path(path)
    if target.is_symlink():
        raise PrivateFileError(
            f"Refusing to write {target}: it is a symbolic link, and kvconfig never writes secrets through one "
            "(remove the link or choose another path)."
        )
    if target.is_dir():
        raise PrivateFileError(f"Cannot write {target}: it is a folder.")
    data = text.encode("utf-8") if isinstance(text, str) else text
    folder = target.parent
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise PrivateFileError(f"Cannot write {target}: {exc.strerror or type(exc).__name__}.") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if mode != 0o600:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise PrivateFileError(f"Cannot write {target}: {exc.strerror or type(exc).__name__}.") from None
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a platform without folder descriptors skips it."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        descriptor = os.open(folder, flags)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
