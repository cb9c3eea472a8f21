"""State that survives a restart: the emulator's data folder (``kvconfig fake serve --data-dir``).

``snapshot.py`` turns vaults into bytes and back (restricted loading), ``database.py`` keeps them in SQLite (WAL,
one row per vault, and per App Configuration store, whose bytes the stores make themselves), ``durable.py``
restores a fake from its folder and commits every acknowledged write. Internal, like the rest of the fake's
sub-packages: the public way in is ``FakeKeyVault.serve(data_dir=...)``.
"""

from __future__ import annotations

from kvconfig.fake.persist.database import DataFolderError, StateDatabase
from kvconfig.fake.persist.durable import (
    DurableState,
    PersistedService,
    PersistedStores,
    PersistenceError,
    open_data_dir,
)
from kvconfig.fake.persist.snapshot import SnapshotError

__all__ = [
    "DataFolderError",
    "DurableState",
    "PersistedService",
    "PersistedStores",
    "PersistenceError",
    "SnapshotError",
    "StateDatabase",
    "open_data_dir",
]
