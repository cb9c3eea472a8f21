"""The data folder's one database: SQLite in WAL mode (standard library), one row per vault and per App Configuration
store, a few rows of metadata.

Why SQLite rather than a file per vault written with temp file + fsync + ``os.replace``: a commit is atomic across
rows (a vault and the metadata it depends on change together or not at all), durable once ``commit()`` returns
(``synchronous=FULL``: the WAL is fsynced before the commit is acknowledged), and costs one fsync of an appended log
rather than a file write, a file fsync, a rename and a folder fsync. A ``kill -9`` at any instant leaves the last
committed state: SQLite's recovery replays or ignores the WAL's tail, so the file never fails to load.

The folder is made with mode 0700 (an existing one that others may enter is tightened, or refused if it is not the
user's); the database is created 0600 before SQLite opens it, and SQLite gives its ``-wal`` and ``-shm`` files the
database's mode. Links are refused: the data folder and its database are never reached through a symbolic link.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from kvconfig.fake.persist.snapshot import SnapshotError

__all__ = ["DATABASE_FILE", "FORMAT", "DataFolderError", "StateDatabase"]

DATABASE_FILE = "state.sqlite3"
FORMAT = b"kvconfig-fake-state/1"
_BUSY_TIMEOUT = 10.0


class DataFolderError(SnapshotError):
    """The data folder cannot be used (a link, another user's folder, a database of another program or format)."""


class StateDatabase:
    """The rows of one data folder. Thread-safe: every call holds one lock (the emulator serves on worker threads)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DATABASE_FILE
        _prepare_folder(self.folder)
        _create_private(self.path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("CREATE TABLE IF NOT EXISTS vaults (host TEXT PRIMARY KEY, state BLOB NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)")
            # Added after the format's first release: an older folder gets the table, an older kvconfig ignores it.
            self._db.execute("CREATE TABLE IF NOT EXISTS stores (host TEXT PRIMARY KEY, state BLOB NOT NULL)")
            found = self._db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise DataFolderError(f"{self.path} is not a kvconfig emulator database: {exc}.") from exc
        if found is None:
            self.write(meta={"format": FORMAT})
        elif bytes(found[0]) != FORMAT:
            raise DataFolderError(
                f"{self.path} holds state in the format {bytes(found[0])!r}; this kvconfig reads {FORMAT!r}. Use "
                "another --data-dir, or the kvconfig version that wrote it."
            )

    def read(self) -> tuple[dict[str, bytes], dict[str, bytes]]:
        """Every vault's state by host, and the metadata by name."""
        with self._lock:
            vaults = {host: bytes(state) for host, state in self._db.execute("SELECT host, state FROM vaults")}
            meta = {name: bytes(value) for name, value in self._db.execute("SELECT name, value FROM meta")}
        return vaults, meta

    def read_stores(self) -> dict[str, bytes]:
        """Every App Configuration store's state by host."""
        with self._lock:
            return {host: bytes(state) for host, state in self._db.execute("SELECT host, state FROM stores")}

    def write(
        self,
        *,
        vaults: Mapping[str, bytes] | None = None,
        removed: Iterable[str] = (),
        meta: Mapping[str, bytes] | None = None,
        stores: Mapping[str, bytes] | None = None,
        removed_stores: Iterable[str] = (),
    ) -> None:
        """Store vault rows, store rows and metadata in one transaction; durable when this returns."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for host, state in (vaults or {}).items():
                    self._db.execute("INSERT OR REPLACE INTO vaults (host, state) VALUES (?, ?)", (host, state))
                for host in removed:
                    self._db.execute("DELETE FROM vaults WHERE host = ?", (host,))
                for host, state in (stores or {}).items():
                    self._db.execute("INSERT OR REPLACE INTO stores (host, state) VALUES (?, ?)", (host, state))
                for host in removed_stores:
                    self._db.execute("DELETE FROM stores WHERE host = ?", (host,))
                for name, value in (meta or {}).items():
                    self._db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))
                self._db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"StateDatabase({str(self.path)!r})"


def _prepare_folder(folder: Path) -> None:
    if folder.is_symlink():
        raise DataFolderError(f"{folder} is a symbolic link; give the data folder's real path.")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError as exc:
        raise DataFolderError(f"Cannot use the data folder {folder}: {exc.strerror or exc}.") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise DataFolderError(f"{folder} is not a folder.")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise DataFolderError(f"The data folder {folder} belongs to another user; use a folder of your own.")
    if info.st_mode & 0o077:
        try:
            folder.chmod(0o700)
        except OSError as exc:
            raise DataFolderError(f"Cannot make the data folder {folder} private (0700): {exc.strerror}.") from exc


def _create_private(path: Path) -> None:
    """Create the database file 0600 if needed (before SQLite does, with the umask's mode); refuse a link."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags, 0o600)
    except OSError as exc:
        raise DataFolderError(f"Cannot open {path} (a symbolic link is refused): {exc.strerror or exc}.") from exc
    try:
        if stat.S_IMODE(os.fstat(descriptor).st_mode) != 0o600:
            os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)
