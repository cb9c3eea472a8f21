"""State that survives: a fake whose every acknowledged write is in its data folder, and which starts again from it.

:func:`open_data_dir` restores what the folder holds into a fresh fake (vaults with their versions, soft-deleted
objects, keys' private material, certificates and their policies, issuers and pending operations, roles, access
policies, throttling; the certificate authority, the token signing key, the clock's offset and the SDK waits the
fake skipped, so soft deletes still in their deletion window and pending certificate operations finish on the same
progress clock as before the restart), then listens to the
router: after each request that wrote (a 2xx to anything but GET/HEAD), or after which the object state changed
(expiry purges and rotations happen on reads too), the vault's snapshot is committed. App Configuration stores
served beside the vaults (``stores=``, a :class:`PersistedStores`) are restored too, and each store is committed
after each write it acknowledged, the same way.

The order is what makes "acknowledged" mean "durable": the router calls its listeners after the operation and before
it returns the response to the adapter, so the response is not sent until the commit returned. A commit that fails
raises :class:`PersistenceError` out of the router; the emulator answers 503 and the client sees no success.
Snapshots are taken and committed under one lock, in order, so an older snapshot never overwrites a newer one.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from kvconfig.fake.certificates.issuance import (
    adopt_certificate_authority,
    ensure_certificate_hook,
    existing_certificate_authority,
)
from kvconfig.fake.control.tokens import TokenAuthority
from kvconfig.fake.core.clock import Clock, ManualClock, OffsetClock
from kvconfig.fake.core.records import RequestRecord
from kvconfig.fake.core.routing import TickHook
from kvconfig.fake.core.state import REVISION, Vault
from kvconfig.fake.keys.rotation import ensure_rotation_hook
from kvconfig.fake.persist.database import StateDatabase
from kvconfig.fake.persist.snapshot import dumps, dumps_vault, loads, loads_vault

__all__ = ["DurableState", "PersistedService", "PersistedStores", "PersistenceError", "open_data_dir"]

# The emulator's own hosts (vaults, managed HSMs, App Configuration stores), kept without their port.
_LOOPBACK_PORT = re.compile(r"^(?P<name>[a-z0-9-]+(?:\.managedhsm|\.azconfig)?\.localhost)(?::(?P<port>\d{1,5}))?$")
_READS = frozenset({"GET", "HEAD"})


class PersistenceError(RuntimeError):
    """A write could not be made durable (disk full, folder removed): the request must not be acknowledged."""


class PersistedService(Protocol):
    """What persistence needs of the fake (``FakeKeyVault`` is one)."""

    @property
    def vaults(self) -> list[Vault]: ...

    @property
    def clock(self) -> Clock: ...

    @clock.setter
    def clock(self, clock: Clock) -> None: ...

    @property
    def tokens(self) -> TokenAuthority: ...

    @property
    def listeners(self) -> list[Callable[[RequestRecord], None]]: ...

    @property
    def tick_hooks(self) -> list[TickHook]: ...

    @property
    def create_vault(self) -> Callable[..., Vault]: ...

    # The SDK waits the fake skipped: part of the progress clock deletion windows and issuance are measured on.
    skipped_waits: float

    def locate_existing_vault(self, host: str) -> Vault | None: ...


class PersistedStores(Protocol):
    """What persistence needs of the App Configuration stores served beside the vaults (``FakeAppConfiguration``)."""

    @property
    def write_listeners(self) -> list[Callable[[str], None]]: ...

    def export_state(self, host: str | None = None) -> dict[str, bytes]: ...

    def restore_state(self, rows: Mapping[str, bytes]) -> int: ...


class DurableState:
    """The link between one fake and its data folder (made by :func:`open_data_dir`)."""

    def __init__(
        self,
        fake: PersistedService,
        database: StateDatabase,
        *,
        port: int | None = None,
        stores: PersistedStores | None = None,
    ) -> None:
        self.fake = fake
        self.database = database
        self.port = port
        self.stores = stores
        self._stores_written: dict[str, bytes] = {}  # store key -> digest of the state last committed
        self.restored_stores = 0
        self._lock = threading.Lock()
        self._written: dict[str, bytes] = {}  # host key -> digest of the snapshot last committed
        self._revision = -1
        self._authority_saved = False
        self.restored_vaults = 0

    @property
    def folder(self) -> Path:
        return self.database.folder

    # -- restoring -------------------------------------------------------------------------------------------------

    def restore(self) -> None:
        """Load the folder's state into the fake (which should be empty)."""
        vaults, meta = self.database.read()
        clock = json.loads(meta["clock"]) if "clock" in meta else None
        if isinstance(clock, dict):
            if clock.get("kind") == "manual":
                self.fake.clock = ManualClock(float(clock["now"]))
            elif clock.get("kind") == "offset":
                self.fake.clock = OffsetClock(float(clock["offset"]))
        skipped = _seconds(meta.get("skipped_waits"))
        if skipped is not None:
            self.fake.skipped_waits = max(self.fake.skipped_waits, skipped)
        if "token_key" in meta:
            kid = meta.get("token_kid")
            self.fake.tokens.restore_key(meta["token_key"], kid.decode("ascii", "replace") if kid else None)
        else:
            # A data folder keeps the issuer's key: it gets a key of its own, not the process's shared one.
            self.fake.tokens.use_own_key()
        if "certificate_authority" in meta:
            adopt_certificate_authority(self.fake, loads(meta["certificate_authority"]))  # type: ignore[arg-type]
            self._authority_saved = True
        for key, blob in vaults.items():
            restored = loads_vault(blob)
            restored.properties.host = self._host_from_key(key)
            self._adopt(restored)
            self._written[key] = hashlib.sha256(blob).digest()
            self.restored_vaults += 1
        if self.stores is not None:
            rows = self.database.read_stores()
            self.restored_stores = self.stores.restore_state({self._host_from_key(k): v for k, v in rows.items()})
            self._stores_written = {key: hashlib.sha256(blob).digest() for key, blob in rows.items()}
        self._revision = REVISION.value
        self.save_service()

    def _adopt(self, restored: Vault) -> None:
        existing = self.fake.locate_existing_vault(restored.properties.host)
        vault = existing if existing is not None else self.fake.create_vault(restored.properties.host, activated=True)
        with vault.lock:
            listeners = vault.access.policy_listeners
            vault.properties = restored.properties
            vault.secrets = restored.secrets
            vault.stores = restored.stores
            vault.extensions = restored.extensions
            vault.access = restored.access
            vault.access.policy_listeners = listeners
        # The time hooks are registered by the operations that need them; a restored vault had its operations in
        # another process.
        if vault.extensions.get("keys.rotation_policies"):
            ensure_rotation_hook(self.fake)  # type: ignore[arg-type]
        certificates = vault.store("certificates")
        if len(certificates) or certificates.deleted or certificates.deleting or certificates.recovering:
            ensure_certificate_hook(self.fake)  # type: ignore[arg-type]

    # -- saving ----------------------------------------------------------------------------------------------------

    def on_request(self, record: RequestRecord) -> None:
        """The router's listener: commit what the request changed before its response goes out."""
        wrote = record.method not in _READS and 200 <= record.status < 300
        changed = REVISION.value != self._revision
        if not (wrote or changed):
            return
        if wrote:
            host = _host_of(record.url)
            vault = self.fake.locate_existing_vault(host) if host else None
            self.save(vault if vault is not None else None)
        else:
            self.save()

    def save(self, vault: Vault | None = None) -> None:
        """Commit one vault (``None``: every vault, dropping rows of vaults no longer served) and the service's
        state; nothing is written for a vault whose snapshot did not change."""
        try:
            with self._lock:
                revision = REVISION.value
                vaults = [vault] if vault is not None else self.fake.vaults
                rows: dict[str, bytes] = {}
                digests: dict[str, bytes] = {}
                for item in vaults:
                    key = self._key_of(item.properties.host)
                    blob = dumps_vault(item)
                    digest = hashlib.sha256(blob).digest()
                    if self._written.get(key) != digest:
                        rows[key], digests[key] = blob, digest
                removed = set(self._written) - {self._key_of(item.properties.host) for item in vaults}
                if vault is not None:
                    removed = set()
                meta = self._service_meta()
                if rows or removed:
                    meta["skipped_waits"] = repr(float(self.fake.skipped_waits)).encode("ascii")
                if rows or removed or meta:
                    self.database.write(vaults=rows, removed=removed, meta=meta)
                self._written.update(digests)
                for key in removed:
                    self._written.pop(key, None)
                self._revision = revision
        except Exception as exc:  # any failure to save means the write is not durable: never acknowledge it
            raise PersistenceError(f"The emulator could not save its state in {self.folder}: {exc}") from exc
        if vault is None:
            self.save_stores()

    def on_store_write(self, host: str) -> None:
        """The stores' listener: commit the store a request wrote before its response goes out."""
        self.save_stores(host)

    def save_stores(self, host: str | None = None) -> None:
        """Commit the store at ``host`` (``None``: every store, dropping rows of stores no longer served)."""
        if self.stores is None:
            return
        try:
            with self._lock:
                exported = self.stores.export_state(host)
                rows: dict[str, bytes] = {}
                digests: dict[str, bytes] = {}
                for store_host, blob in exported.items():
                    key = self._key_of(store_host)
                    digest = hashlib.sha256(blob).digest()
                    if self._stores_written.get(key) != digest:
                        rows[key], digests[key] = blob, digest
                removed = set()
                if host is None:
                    removed = set(self._stores_written) - {self._key_of(item) for item in exported}
                if rows or removed:
                    self.database.write(stores=rows, removed_stores=removed)
                self._stores_written.update(digests)
                for key in removed:
                    self._stores_written.pop(key, None)
        except Exception as exc:  # never acknowledge a write that is not durable
            raise PersistenceError(f"The emulator could not save its state in {self.folder}: {exc}") from exc

    def save_service(self) -> None:
        """Commit the clock, the token key and the certificate authority (after the control API moved time)."""
        try:
            with self._lock:
                self.database.write(meta={**self._clock_meta(), **self._token_meta()})
        except Exception as exc:
            raise PersistenceError(f"The emulator could not save its state in {self.folder}: {exc}") from exc

    def _token_meta(self) -> dict[str, bytes]:
        """The issuer's signing key (PKCS#8 PEM) and key id, so tokens issued before a restart still verify."""
        return {"token_key": self.fake.tokens.export_key(), "token_kid": self.fake.tokens.kid.encode("ascii")}

    def _service_meta(self) -> dict[str, bytes]:
        meta: dict[str, bytes] = {}
        if not self._authority_saved:
            authority = existing_certificate_authority(self.fake)  # type: ignore[arg-type]
            if authority is not None:
                meta["certificate_authority"] = dumps(authority)
                self._authority_saved = True
        return meta

    def _clock_meta(self) -> dict[str, bytes]:
        clock = self.fake.clock
        found: dict[str, Any]
        if isinstance(clock, ManualClock):
            found = {"kind": "manual", "now": clock.now()}
        elif isinstance(clock, OffsetClock):
            found = {"kind": "offset", "offset": clock.offset}
        else:
            found = {"kind": "system"}
        return {"clock": json.dumps(found).encode()}

    # -- vault hosts: the emulator's own are stored without their port, so a restart on another port keeps them --

    def _key_of(self, host: str) -> str:
        match = _LOOPBACK_PORT.match(host)
        return f"{match['name']}:*" if match else host

    def _host_from_key(self, key: str) -> str:
        if not key.endswith(":*"):
            return key
        name = key[:-2]
        return name if self.port in (None, 443) else f"{name}:{self.port}"

    def close(self) -> None:
        with self._lock:
            self.database.close()

    def __repr__(self) -> str:
        return f"DurableState({str(self.folder)!r})"


def open_data_dir(
    fake: PersistedService, folder: str | Path, *, port: int | None = None, stores: PersistedStores | None = None
) -> DurableState:
    """Restore ``fake`` (and ``stores``, App Configuration served beside it) from ``folder`` (made 0700 if new) and
    keep the folder up to date from now on.

    ``port`` is the emulator's: its vaults (``<name>.localhost:<port>``) and stores (``<name>.azconfig.localhost:
    <port>``) are stored without it and come back on the port of this run. Raises
    :class:`~kvconfig.fake.persist.database.DataFolderError` (a ``ValueError``) when the folder cannot be used and
    :class:`~kvconfig.fake.persist.snapshot.SnapshotError` (or the stores' own ``ValueError``) when its state cannot
    be read.
    """
    state = DurableState(fake, StateDatabase(folder), port=port, stores=stores)
    try:
        state.restore()
    except BaseException:
        state.close()
        raise
    fake.listeners.append(state.on_request)
    if stores is not None:
        stores.write_listeners.append(state.on_store_write)
    return state


def _seconds(raw: bytes | None) -> float | None:
    """A saved count of seconds, or None when absent or not a finite, non-negative number (a damaged file)."""
    if raw is None or len(raw) > 64:
        return None
    try:
        value = float(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _host_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    port = parts.port
    return parts.hostname.lower() if port in (None, 443) else f"{parts.hostname.lower()}:{port}"
