"""The fake's state, with no HTTP in it: vaults, their versioned objects, soft-deleted objects, vault properties.

Every mutation happens under the vault's lock (one re-entrant lock per vault), so concurrent writers neither lose
versions nor see half-made objects. Time comes from the injected clock and version ids from the injected generator,
so tests can make both deterministic. :data:`REVISION` changes with every change to objects, versions and their
attributes, so a reader can tell cheaply that nothing changed since it last looked.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sortedcontainers import SortedDict

from kvconfig.fake.core.identity import Group, Identity
from kvconfig.fake.core.permissions import AccessPolicy, NetworkRules, RoleAssignment, VaultAccess
from kvconfig.fake.core.properties import Sku, VaultKind, VaultProperties

__all__ = [
    "REVISION",
    "Attributes",
    "IdGenerator",
    "ObjectStore",
    "RandomIds",
    "Revision",
    "SecretVersion",
    "SequentialIds",
    "Sku",
    "Vault",
    "VaultKind",
    "VaultProperties",
    "Versioned",
]


class IdGenerator(Protocol):
    """Makes the 32-hex version ids of new object versions."""

    def new_version(self) -> str: ...


class RandomIds:
    """Random 32-hex ids, as the service makes them."""

    def new_version(self) -> str:
        return uuid.uuid4().hex


class SequentialIds:
    """Predictable ids for tests: ``00000000000000000000000000000001``, ``...02`` and so on."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def new_version(self) -> str:
        with self._lock:
            return f"{next(self._counter):032x}"


class Revision:
    """A change counter of the fake's object state: adding a version, changing a version's attributes or an object's
    versions, deleting, recovering and purging all give :attr:`value` a new value. A reader that remembers the value
    knows, while it is unchanged, that no object changed since (the Event Grid expiry scan skips its work this way).

    One counter for every vault, bumped by the state classes themselves: the operations change attributes in place
    (``version.attributes.exp = ...``), and neither attributes nor versions know their vault. Values come from one
    ``itertools.count``, so no two changes share a value and a change made while a reader scans always leaves a
    value the reader has not seen.
    """

    __slots__ = ("_counter", "value")

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self.value = 0

    def bump(self) -> None:
        self.value = next(self._counter)


REVISION = Revision()


@dataclass
class Attributes:
    """The attributes every secret, key and certificate version carries (times in epoch seconds)."""

    created: int
    updated: int
    enabled: bool = True
    nbf: int | None = None
    exp: int | None = None

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        REVISION.bump()

    def active_at(self, now: float) -> bool:
        return (self.nbf is None or now >= self.nbf) and (self.exp is None or now < self.exp)

    def to_dict(self) -> dict[str, Any]:
        """Every attribute by name, as backup blobs store them."""
        return {
            "created": self.created,
            "updated": self.updated,
            "enabled": self.enabled,
            "nbf": self.nbf,
            "exp": self.exp,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Attributes:
        """The inverse of :meth:`to_dict` (every member required: a blob missing one is malformed)."""
        return cls(
            created=raw["created"], updated=raw["updated"], enabled=raw["enabled"], nbf=raw["nbf"], exp=raw["exp"]
        )


@dataclass
class SecretVersion:
    """One version of a secret. ``value`` never appears in the repr."""

    version: str
    value: str = field(repr=False)
    attributes: Attributes
    content_type: str | None = None
    tags: dict[str, str] | None = None
    managed: bool = False
    kid: str | None = None
    previous_version: str | None = None


T = TypeVar("T")


@dataclass
class Versioned(Generic[T]):
    """A named object with its versions, in creation order; soft-delete dates when it is deleted."""

    name: str
    versions: dict[str, T] = field(default_factory=dict)
    latest: str = ""
    deleted_date: int | None = None
    scheduled_purge_date: int | None = None

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        REVISION.bump()

    def add(self, version_id: str, version: T) -> None:
        self.versions[version_id] = version
        self.latest = version_id  # bumps REVISION, after the version is in place

    def current(self) -> T:
        return self.versions[self.latest]

    def get(self, version_id: str | None) -> T | None:
        """The given version (case-insensitive id), or the latest one for ``None``/``""``."""
        if not version_id:
            return self.versions.get(self.latest)
        return self.versions.get(version_id.lower())


class ObjectStore(Generic[T]):
    """Live and soft-deleted objects of one kind (secrets, keys or certificates) in one vault.

    Names are case-insensitive, as in the service, and keep the case they were created with. Both indexes are kept
    sorted by lower-case name (``SortedDict``), so a list page starts at its marker in O(log n) and costs O(page),
    whatever the vault's size; a look-up by name is a hash look-up. The earliest scheduled purge date is kept too,
    so the sweep that runs before every request costs nothing until something is due.

    A soft delete may take time, as in the service (``VaultProperties.deletion_delay``): until its finish time the
    object is in ``deleting`` (neither live nor deleted: its deleted form is not found yet, and the operations refuse
    its name with 409 ObjectIsBeingDeleted), and the sweep moves it to ``deleted`` once the time has come. Finish
    times are on the *progress clock* the sweep is given (the fake's clock plus the SDK waits it skipped, see
    ``core/routing.progress_time``), so the SDK's pollers see a deletion end without real sleeping. A recovery may
    take time the same way: until its finish time the object is in ``recovering`` (neither deleted nor live yet: its
    live form is not found, which is what the SDK's recover pollers poll for), and the sweep makes it live.
    """

    def __init__(self) -> None:
        self.live: SortedDict[str, Versioned[T]] = SortedDict()
        self.deleted: SortedDict[str, Versioned[T]] = SortedDict()
        self.deleting: dict[str, tuple[float, Versioned[T]]] = {}
        self.recovering: dict[str, tuple[float, Versioned[T]]] = {}
        self._next_purge: float = float("inf")
        # The earliest end of a deletion or recovery window.
        self._next_finish: float = float("inf")

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Snapshots written before deletions (or recoveries) took time have no in-window state.
        state.setdefault("deleting", {})
        state.setdefault("recovering", {})
        self.__dict__.update(state)
        self._next_finish = self._earliest_finish()

    def _earliest_finish(self) -> float:
        windows = (*self.deleting.values(), *self.recovering.values())
        return min((ends for ends, _ in windows), default=float("inf"))

    def get(self, name: str) -> Versioned[T] | None:
        return self.live.get(name.lower())

    def get_deleted(self, name: str) -> Versioned[T] | None:
        return self.deleted.get(name.lower())

    def being_deleted(self, name: str) -> Versioned[T] | None:
        """The object of this name whose soft delete has not finished yet."""
        found = self.deleting.get(name.lower())
        return found[1] if found is not None else None

    def being_recovered(self, name: str) -> Versioned[T] | None:
        """The object of this name whose recovery has not finished yet."""
        found = self.recovering.get(name.lower())
        return found[1] if found is not None else None

    def get_or_create(self, name: str) -> Versioned[T]:
        found = self.live.get(name.lower())
        if found is None:
            found = self.live[name.lower()] = Versioned(name)
            REVISION.bump()
        return found

    def delete(
        self, name: str, *, now: int, retention_days: int, soft: bool, finishes_at: float | None = None
    ) -> Versioned[T] | None:
        """Remove the live object; with ``soft``, keep it deleted (dated ``now``), at once or, given ``finishes_at``
        (on the progress clock), after a window in which it is being deleted."""
        obj = self.live.pop(name.lower(), None)
        if obj is not None and soft:
            obj.deleted_date = now
            obj.scheduled_purge_date = now + retention_days * 86400
            if finishes_at is None:
                self._land(name.lower(), obj)
            else:
                self.deleting[name.lower()] = (finishes_at, obj)
                self._next_finish = min(self._next_finish, finishes_at)
        REVISION.bump()
        return obj

    def _land(self, key: str, obj: Versioned[T]) -> None:
        self.deleted[key] = obj
        self._next_purge = min(self._next_purge, obj.scheduled_purge_date or 0)

    def finish_deletions(self, progress: float = float("inf")) -> list[Versioned[T]]:
        """Move the objects whose deletion window ended by ``progress`` (all of them by default) to ``deleted``."""
        if progress < self._next_finish:
            return []
        done = [key for key, (ends, _) in self.deleting.items() if ends <= progress]
        finished = []
        for key in done:
            _, obj = self.deleting.pop(key)
            self._land(key, obj)
            finished.append(obj)
        self._next_finish = self._earliest_finish()
        if finished:
            REVISION.bump()
        return finished

    def finish_recoveries(self, progress: float = float("inf")) -> list[Versioned[T]]:
        """Make the objects whose recovery window ended by ``progress`` (all of them by default) live again."""
        if progress < self._next_finish:
            return []
        done = [key for key, (ends, _) in self.recovering.items() if ends <= progress]
        finished = [self.recovering.pop(key)[1] for key in done]
        for key, obj in zip(done, finished, strict=True):
            # Only a Managed HSM restore writes a name while it is being recovered: the later write, the restore, wins.
            self.live.setdefault(key, obj)
        self._next_finish = self._earliest_finish()
        if finished:
            REVISION.bump()
        return finished

    def recover(self, name: str, *, finishes_at: float | None = None) -> Versioned[T] | None:
        """Make the deleted object live again: at once or, given ``finishes_at`` (on the progress clock), after a
        window in which it is being recovered."""
        obj = self.deleted.pop(name.lower(), None)
        if obj is not None:
            obj.deleted_date = obj.scheduled_purge_date = None
            if finishes_at is None:
                self.live[name.lower()] = obj
            else:
                self.recovering[name.lower()] = (finishes_at, obj)
                self._next_finish = min(self._next_finish, finishes_at)
        REVISION.bump()
        return obj

    def purge(self, name: str) -> Versioned[T] | None:
        obj = self.deleted.pop(name.lower(), None)
        REVISION.bump()
        return obj

    def sweep(self, now: float, *, progress: float | None = None) -> list[Versioned[T]]:
        """Finish the deletions and recoveries whose window ended by ``progress`` (default ``now``), then purge deleted
        objects whose retention period has passed; return the purged ones."""
        self.finish_deletions(now if progress is None else progress)
        self.finish_recoveries(now if progress is None else progress)
        if now < self._next_purge:
            return []  # the router sweeps before every request: nothing due is the common case, and O(1)
        expired = [key for key, obj in self.deleted.items() if (obj.scheduled_purge_date or 0) <= now]
        purged = [self.deleted.pop(key) for key in expired]
        self._next_purge = min((obj.scheduled_purge_date or 0 for obj in self.deleted.values()), default=float("inf"))
        if purged:
            REVISION.bump()
        return purged

    def __iter__(self) -> Iterator[Versioned[T]]:
        return iter(list(self.live.values()))

    def __len__(self) -> int:
        return len(self.live)


@dataclass
class Vault:
    """One vault (or Managed HSM pool) and everything in it."""

    properties: VaultProperties
    secrets: ObjectStore[SecretVersion] = field(default_factory=ObjectStore)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    # Other object kinds (keys, certificates) keep their stores here, keyed by kind, so each concern can live in
    # its own module without this class knowing their types.
    stores: dict[str, ObjectStore[object]] = field(default_factory=dict, repr=False)
    extensions: dict[str, object] = field(default_factory=dict, repr=False)
    # Access control state (kvconfig/fake/core/permissions.py); judged by the authorizer in control/access.py.
    access: VaultAccess = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.access = VaultAccess(self.properties)

    @property
    def name(self) -> str:
        return self.properties.name

    @property
    def url(self) -> str:
        return self.properties.url

    def store(self, kind: str) -> ObjectStore[object]:
        found = self.stores.get(kind)
        if found is None:
            # Made under the lock: some look-ups run outside it, and two threads making the first store of a kind at
            # once would each keep their own (the objects put in the one that lost would be lost with it).
            with self.lock:
                found = self.stores.get(kind)
                if found is None:
                    found = self.stores[kind] = ObjectStore()
        return found

    def extension(self, key: str, factory: Callable[[], object]) -> object:
        with self.lock:
            if key not in self.extensions:
                self.extensions[key] = factory()
            return self.extensions[key]

    # -- access control (``self.access`` holds the state; these are the documented entry points) ------------------

    def assign_role(self, identity: str | Identity | Group, role: str, *, scope: str = "/") -> RoleAssignment:
        """Assign a built-in role (name or id) to an identity (or a :class:`Group`, for its members) at vault scope
        or one object (``/secrets/<name>``)."""
        return self.access.assign_role(identity, role, scope=scope)

    def remove_role(
        self, identity: str | Identity | Group, role: str | None = None, *, scope: str | None = None
    ) -> int:
        """Remove matching role assignments at once; returns how many were removed."""
        return self.access.remove_role(identity, role, scope=scope)

    def set_access_policy(
        self,
        identity: str | Identity | Group,
        *,
        secrets: Iterable[str] = (),
        keys: Iterable[str] = (),
        certificates: Iterable[str] = (),
    ) -> AccessPolicy:
        """Grant (replace) an identity's access-policy permissions (vaults with ``rbac=False``)."""
        return self.access.set_access_policy(identity, secrets=secrets, keys=keys, certificates=certificates)

    def set_network_rules(
        self, *, default_action: str = "Deny", ip_rules: Iterable[str] = (), bypass: str = "AzureServices"
    ) -> NetworkRules:
        """Turn on the vault firewall: ``default_action`` for addresses outside ``ip_rules`` (CIDR or address)."""
        return self.access.set_network_rules(default_action=default_action, ip_rules=ip_rules, bypass=bypass)

    def sweep(self, now: float, *, progress: float | None = None) -> None:
        """Let time act: finish deletions and recoveries whose window ended by ``progress`` (the progress clock,
        default ``now``) and purge soft-deleted objects past their scheduled purge date."""
        with self.lock:
            self.secrets.sweep(now, progress=progress)
            for store in self.stores.values():
                store.sweep(now, progress=progress)

    def __repr__(self) -> str:
        return f"Vault({self.properties.url!r}, secrets={len(self.secrets)})"
