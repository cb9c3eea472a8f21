"""State of the fake App Configuration service, without HTTP: stores, their key-values, revisions and access keys."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import cached_property
from typing import Literal, TypeVar, cast

__all__ = [
    "MAX_MEMOS",
    "MAX_REVISIONS",
    "AccessKey",
    "KeyValue",
    "Revision",
    "Snapshot",
    "SnapshotFilter",
    "Store",
    "compact_json",
    "iso_time",
    "sort_key",
]

# Revisions the fake keeps per store (the service keeps 7 or 30 days of them); older ones are forgotten.
MAX_REVISIONS = 10_000
# Listings a store remembers between two writes (one per distinct filter; filters come from callers: bounded).
MAX_MEMOS = 16
T = TypeVar("T")

Role = Literal["App Configuration Data Reader", "App Configuration Data Owner"]
ROLES: tuple[Role, ...] = ("App Configuration Data Reader", "App Configuration Data Owner")


def iso_time(epoch: float) -> str:
    """The service's timestamp format in bodies: ``2026-12-06T04:23:23+00:00``."""
    return datetime.fromtimestamp(int(epoch), timezone.utc).isoformat()


def compact_json(document: object) -> bytes:
    """``document`` as the fake's bodies carry JSON: compact, UTF-8."""
    return json.dumps(document, separators=(",", ":")).encode()


@dataclass(frozen=True)
class KeyValue:
    """One key-value as the service stores it (``label=None`` is the null label)."""

    key: str
    label: str | None
    value: str | None
    content_type: str | None
    tags: tuple[tuple[str, str], ...]
    etag: str
    last_modified: float
    locked: bool = False

    def to_wire(self, fields: frozenset[str] | None = None) -> dict[str, object]:
        body: dict[str, object] = {
            "etag": self.etag,
            "key": self.key,
            "label": self.label,
            "content_type": self.content_type,
            "value": self.value,
            "tags": dict(self.tags),
            "locked": self.locked,
            "last_modified": iso_time(self.last_modified),
        }
        if fields is None:
            return body
        return {name: item for name, item in body.items() if name in fields}

    def wire_json(self, fields: frozenset[str] | None = None) -> bytes:
        """``to_wire(fields)`` as compact JSON; the full form is rendered once (a key-value never changes: a write
        stores a new one)."""
        return self._full_json if fields is None else compact_json(self.to_wire(fields))

    @cached_property
    def _full_json(self) -> bytes:
        return compact_json(self.to_wire())

    def __repr__(self) -> str:
        # Values can be secrets (or references to them): never show them.
        return f"KeyValue(key={self.key!r}, label={self.label!r}, etag={self.etag!r})"


@dataclass(frozen=True)
class Revision:
    """A change: the key-value as it became, or a deletion (``deleted=True``, the last state kept for its key)."""

    item: KeyValue
    deleted: bool = False


@dataclass(frozen=True)
class SnapshotFilter:
    """One of a snapshot's filters: a key filter, a label filter (``None``: any label) and ``name=value`` tags."""

    key: str
    label: str | None = None
    tags: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, object]:
        body: dict[str, object] = {"key": self.key}
        if self.label is not None:
            body["label"] = self.label
        body["tags"] = list(self.tags)
        return body


SnapshotStatus = Literal["provisioning", "ready", "archived", "failed"]


@dataclass(frozen=True)
class Snapshot:
    """An immutable set of key-values taken at ``created``; archived ones expire ``retention_period`` seconds later."""

    name: str
    filters: tuple[SnapshotFilter, ...]
    composition_type: Literal["key", "key_label"]
    items: tuple[KeyValue, ...]
    created: float
    retention_period: int
    etag: str
    status: SnapshotStatus = "ready"
    expires: float | None = None
    tags: tuple[tuple[str, str], ...] = ()
    description: str | None = None

    @property
    def size(self) -> int:
        """Bytes of key, label, value and content type of every key-value (what the service reports, roughly)."""
        return sum(len(part.encode()) for item in self.items for part in (item.key, item.label or "", item.value or ""))

    def to_wire(self, fields: frozenset[str] | None = None) -> dict[str, object]:
        body: dict[str, object] = {
            "name": self.name,
            "status": self.status,
            "filters": [item.to_wire() for item in self.filters],
            "composition_type": self.composition_type,
            "created": iso_time(self.created),
            "expires": iso_time(self.expires) if self.expires is not None else None,
            "retention_period": self.retention_period,
            "size": self.size,
            "items_count": len(self.items),
            "tags": dict(self.tags),
            "description": self.description,
            "etag": self.etag,
        }
        if fields is None:
            return body
        return {name: item for name, item in body.items() if name in fields}

    def __repr__(self) -> str:
        return f"Snapshot({self.name!r}, {self.status}, {len(self.items)} key-values)"


@dataclass(frozen=True)
class AccessKey:
    """One of a store's access keys: ``Id`` and ``Secret`` of a connection string."""

    id: str
    secret: str = field(repr=False)
    read_only: bool = False

    @property
    def secret_bytes(self) -> bytes:
        return base64.b64decode(self.secret)


def _new_access_key(read_only: bool) -> AccessKey:
    return AccessKey(
        id=f"{'ro' if read_only else 'rw'}-{secrets.token_hex(4)}-s0:{secrets.token_urlsafe(9)}",
        secret=base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        read_only=read_only,
    )


def new_etag() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(24)).decode("ascii").rstrip("=")


class Store:
    """One App Configuration store: ``https://<name>.azconfig.io``.

    Every write happens under the store's lock, bumps the sync-token sequence number and appends a revision.
    """

    def __init__(self, name: str, host: str) -> None:
        self.name = name
        self.host = host
        self.lock = threading.RLock()
        self.items: dict[tuple[str, str | None], KeyValue] = {}
        self.history: deque[Revision] = deque(maxlen=MAX_REVISIONS)
        self.access_keys: list[AccessKey] = [_new_access_key(False), _new_access_key(True)]
        self.sync_token_id = f"{hashlib.sha256(host.encode()).hexdigest()[:8]}"
        self.sequence = 0
        self.roles: dict[str, Role] = {}  # object id -> role
        self.snapshots: dict[str, Snapshot] = {}
        self.enforce_access = False
        self.local_auth = True
        self._memos: dict[Hashable, object] = {}
        self._memos_sequence = -1
        self._memos_items: dict[tuple[str, str | None], KeyValue] | None = None

    @property
    def endpoint(self) -> str:
        return f"https://{self.host}"

    def connection_string(self, *, read_only: bool = False) -> str:
        key = next(k for k in self.access_keys if k.read_only == read_only)
        return f"Endpoint={self.endpoint};Id={key.id};Secret={key.secret}"

    def access_key(self, key_id: str) -> AccessKey | None:
        return next((key for key in self.access_keys if key.id == key_id), None)

    @property
    def sync_token(self) -> str:
        value = base64.b64encode(f"{self.host}:{self.sequence}".encode()).decode("ascii")
        return f"{self.sync_token_id}={value};sn={self.sequence}"

    # -- writes (callers hold the lock) ------------------------------------------------------------------------

    def put(
        self,
        key: str,
        label: str | None,
        *,
        value: str | None,
        content_type: str | None,
        tags: dict[str, str] | None,
        now: float,
    ) -> KeyValue:
        previous = self.items.get((key, label))
        item = KeyValue(
            key=key,
            label=label,
            value=value,
            content_type=content_type,
            tags=tuple(sorted((tags or {}).items())),
            etag=new_etag(),
            last_modified=now,
            locked=previous.locked if previous is not None else False,
        )
        return self._record(item)

    def set_locked(self, item: KeyValue, locked: bool, *, now: float) -> KeyValue:
        return self._record(replace(item, locked=locked, etag=new_etag(), last_modified=now))

    def delete(self, item: KeyValue, *, now: float) -> KeyValue:
        del self.items[(item.key, item.label)]
        self.sequence += 1
        self.history.append(Revision(replace(item, last_modified=now), deleted=True))
        return item

    def _record(self, item: KeyValue) -> KeyValue:
        self.items[(item.key, item.label)] = item
        self.sequence += 1
        self.history.append(Revision(item))
        return item

    # -- reads -----------------------------------------------------------------------------------------------------

    def as_of(self, when: float) -> dict[tuple[str, str | None], KeyValue]:
        """The key-values as they were at ``when`` (from the revisions this fake still keeps)."""
        state: dict[tuple[str, str | None], KeyValue] = {}
        for revision in self.history:
            if revision.item.last_modified > when:
                break
            slot = (revision.item.key, revision.item.label)
            if revision.deleted:
                state.pop(slot, None)
            else:
                state[slot] = revision.item
        return state

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """``build()``, remembered until the next write to this store (``sequence`` moves on every write) or until
        its key-values are replaced as a whole: a listing's pages are served from one sorted, filtered selection
        instead of one per page. Callers hold the lock."""
        if self._memos_sequence != self.sequence or self._memos_items is not self.items:
            # A write moved the sequence on; a restore (store_state) replaced the whole table.
            self._memos.clear()
            self._memos_sequence = self.sequence
            self._memos_items = self.items
        if key not in self._memos:
            if len(self._memos) >= MAX_MEMOS:
                self._memos.clear()
            self._memos[key] = build()
        return cast(T, self._memos[key])

    def sorted_items(self, source: dict[tuple[str, str | None], KeyValue] | None = None) -> list[KeyValue]:
        chosen = self.items if source is None else source
        return [chosen[slot] for slot in sorted(chosen, key=sort_key)]

    def __repr__(self) -> str:
        return f"Store({self.host!r}, {len(self.items)} key-values)"


def sort_key(slot: tuple[str, str | None]) -> tuple[str, int, str]:
    """Key, then label with the null label first: the order the service lists in."""
    key, label = slot
    return (key, 0 if label is None else 1, label or "")
