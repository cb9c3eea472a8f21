"""Writing a mount's files as the CSI driver (and Kubernetes' AtomicWriter) does: a reader never sees half a file.

::

    DIR/..2025_01_31_10_00_00.abc123/db-password   the files of one generation, complete before anyone can see them
    DIR/..data -> ..2025_01_31_10_00_00.abc123     swapped in one rename (a symbolic link replaced atomically)
    DIR/db-password -> ..data/db-password          what the application opens

A new generation is written only when some file's content or mode changed; the previous generation is removed after
the swap. The folder's own entries are checked first: a user-visible name that is a regular file or a link pointing
elsewhere is refused, so kvconfig never writes through a link it did not make.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from kvconfig.errors import KvConfigError

__all__ = ["DATA_LINK", "MountWriteError", "write_generation"]

DATA_LINK = "..data"


class MountWriteError(KvConfigError, OSError):
    """The mount folder cannot be written safely (a name is a regular file or a foreign link, no permission, ...)."""


def _current(directory: Path) -> dict[str, tuple[bytes, int]]:
    data = directory / DATA_LINK
    if not data.is_symlink():
        return {}
    current = {}
    for entry in (directory / os.readlink(data)).iterdir():
        current[entry.name] = (entry.read_bytes(), entry.stat().st_mode & 0o777)
    return current


def _check(directory: Path, names: set[str]) -> None:
    if directory.is_symlink():
        raise MountWriteError(f"Refusing to mount into {directory}: it is a symbolic link.")
    for name in names:
        visible = directory / name
        if visible.is_symlink():
            if os.readlink(visible) != f"{DATA_LINK}/{name}":
                raise MountWriteError(f"Refusing to replace {visible}: a symbolic link kvconfig did not make.")
        elif visible.exists():
            raise MountWriteError(f"Refusing to replace {visible}: it is not one of the mount's links.")


def write_generation(directory: str | os.PathLike[str], files: Mapping[str, tuple[bytes, int]]) -> bool:
    """Make ``directory`` hold exactly ``files`` (name -> (content, mode)); False when it already did."""
    target = Path(directory)
    _check(target, set(files))
    try:
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _current(target) == dict(files):
            return False
        shared = any(mode & 0o044 for _content, mode in files.values())
        generation = Path(tempfile.mkdtemp(prefix=time.strftime("..%Y_%m_%d_%H_%M_%S."), dir=target))
        os.chmod(generation, 0o755 if shared else 0o700)
        for name, (content, mode) in files.items():
            _write_file(generation / name, content, mode)
        previous = os.readlink(target / DATA_LINK) if (target / DATA_LINK).is_symlink() else None
        staging = target / f"{DATA_LINK}_tmp"
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        os.symlink(generation.name, staging)
        os.replace(staging, target / DATA_LINK)  # the swap: readers see the old generation or the new one
        for name in files:
            visible = target / name
            if not visible.is_symlink():
                os.symlink(f"{DATA_LINK}/{name}", visible)
        if previous is not None:
            for old in (target / previous).iterdir():
                if old.name not in files and (target / old.name).is_symlink():
                    (target / old.name).unlink()
            shutil.rmtree(target / previous, ignore_errors=True)
    except OSError as exc:
        raise MountWriteError(f"Cannot write the mount at {target}: {exc.strerror or type(exc).__name__}.") from None
    return True


def _write_file(path: Path, content: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(path, flags, 0o600)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fchmod(descriptor, mode)  # the mode asked for, whatever the umask
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
