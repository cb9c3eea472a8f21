"""A store's whole state as bytes and back, for the emulator's data folder (``persist/``).

A seed (``seed.py``) is what a person writes; this is what a restart must not lose: the key-values with their etags,
times and locks, the revisions behind ``/revisions`` and ``Accept-Datetime``, the sync-token sequence, the access
keys (connection strings handed out before a restart still sign), the data roles and the snapshots. It is JSON
(every field a plain value), so reading a data folder builds values and nothing else; a row that is not this format
raises :class:`StoreStateError` naming what is wrong, never its values.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from kvconfig.fake.appconfig.state import (
    MAX_REVISIONS,
    ROLES,
    AccessKey,
    KeyValue,
    Revision,
    Snapshot,
    SnapshotFilter,
    Store,
)

__all__ = ["STATE_FORMAT", "StoreStateError", "dumps_store", "restore_store"]

STATE_FORMAT = "kvconfig-appconfig-store/1"
_STATUSES = ("provisioning", "ready", "archived", "failed")


class StoreStateError(ValueError):
    """A saved store that cannot be read back (another format, a damaged row)."""


def _key_value(item: KeyValue) -> list[Any]:
    return [item.key, item.label, item.value, item.content_type, [list(t) for t in item.tags], item.etag,
            item.last_modified, item.locked]  # fmt: skip


def _snapshot(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "name": snapshot.name,
        "filters": [[f.key, f.label, list(f.tags)] for f in snapshot.filters],
        "composition_type": snapshot.composition_type,
        "items": [_key_value(item) for item in snapshot.items],
        "created": snapshot.created,
        "retention_period": snapshot.retention_period,
        "etag": snapshot.etag,
        "status": snapshot.status,
        "expires": snapshot.expires,
        "tags": [list(t) for t in snapshot.tags],
        "description": snapshot.description,
    }


def dumps_store(store: Store) -> bytes:
    """Everything of ``store`` that must survive a restart (values included: the folder is mode 0700, 0600 files)."""
    with store.lock:
        document = {
            "format": STATE_FORMAT,
            "name": store.name,
            "items": [_key_value(item) for item in store.sorted_items()],
            "history": [[_key_value(revision.item), revision.deleted] for revision in store.history],
            "access_keys": [[key.id, key.secret, key.read_only] for key in store.access_keys],
            "sync_token_id": store.sync_token_id,
            "sequence": store.sequence,
            "roles": dict(store.roles),
            "snapshots": [_snapshot(snapshot) for _name, snapshot in sorted(store.snapshots.items())],
            "enforce_access": store.enforce_access,
            "local_auth": store.local_auth,
        }
    return json.dumps(document, separators=(",", ":")).encode()


def _text(value: object, what: str, *, optional: bool = False) -> Any:
    if isinstance(value, str) or (optional and value is None):
        return value
    raise StoreStateError(f"{what} is not text.")


def _number(value: object, what: str, *, optional: bool = False) -> Any:
    if (isinstance(value, (int, float)) and not isinstance(value, bool)) or (optional and value is None):
        return value
    raise StoreStateError(f"{what} is not a number.")


def _pairs(value: object, what: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise StoreStateError(f"{what} is not a list.")
    pairs = []
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)):
            raise StoreStateError(f"{what} holds something other than name and value.")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _read_key_value(row: object, what: str) -> KeyValue:
    if not isinstance(row, list) or len(row) != 8:
        raise StoreStateError(f"{what} is not a saved key-value.")
    key, label, value, content_type, tags, etag, last_modified, locked = row
    if not isinstance(locked, bool):
        raise StoreStateError(f"{what}: 'locked' is not true or false.")
    return KeyValue(
        key=_text(key, what),
        label=_text(label, what, optional=True),
        value=_text(value, what, optional=True),
        content_type=_text(content_type, what, optional=True),
        tags=_pairs(tags, what),
        etag=_text(etag, what),
        last_modified=float(_number(last_modified, what)),
        locked=locked,
    )


def _read_snapshot(row: object, what: str) -> Snapshot:
    if not isinstance(row, dict):
        raise StoreStateError(f"{what} is not a saved snapshot.")
    filters = []
    for entry in row.get("filters") or []:
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], list)):
            raise StoreStateError(f"{what} has a filter that is not key, label and tags.")
        tags = tuple(_text(tag, what) for tag in entry[2])
        filters.append(SnapshotFilter(_text(entry[0], what), _text(entry[1], what, optional=True), tags))
    composition = row.get("composition_type")
    status = row.get("status")
    if composition not in ("key", "key_label") or status not in _STATUSES:
        raise StoreStateError(f"{what} has an unknown composition or status.")
    items = row.get("items")
    if not isinstance(items, list):
        raise StoreStateError(f"{what} has no key-values list.")
    return Snapshot(
        name=_text(row.get("name"), what),
        filters=tuple(filters),
        composition_type=composition,
        items=tuple(_read_key_value(item, f"{what} key-value") for item in items),
        created=float(_number(row.get("created"), what)),
        retention_period=int(_number(row.get("retention_period"), what)),
        etag=_text(row.get("etag"), what),
        status=status,
        expires=_number(row.get("expires"), what, optional=True),
        tags=_pairs(row.get("tags") or [], what),
        description=_text(row.get("description"), what, optional=True),
    )


def restore_store(store: Store, blob: bytes) -> None:
    """Put the state :func:`dumps_store` wrote into ``store`` (a fresh one, made for this host)."""
    try:
        document = json.loads(blob)
    except (ValueError, RecursionError):
        raise StoreStateError(f"The saved state of {store.host} is not JSON.") from None
    if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
        raise StoreStateError(f"The saved state of {store.host} is not in the format {STATE_FORMAT}.")
    where = f"The saved state of {store.host}:"
    items = [_read_key_value(row, f"{where} a key-value") for row in document.get("items") or []]
    history = []
    for row in document.get("history") or []:
        if not (isinstance(row, list) and len(row) == 2 and isinstance(row[1], bool)):
            raise StoreStateError(f"{where} a revision is not a key-value and a deleted flag.")
        history.append(Revision(_read_key_value(row[0], f"{where} a revision"), deleted=row[1]))
    keys = []
    for row in document.get("access_keys") or []:
        if not (isinstance(row, list) and len(row) == 3 and isinstance(row[2], bool)):
            raise StoreStateError(f"{where} an access key is not id, secret and read-only.")
        keys.append(AccessKey(_text(row[0], where), _text(row[1], where), row[2]))
    if {key.read_only for key in keys} != {True, False}:
        raise StoreStateError(f"{where} it needs a read-write and a read-only access key.")
    roles = document.get("roles") or {}
    if not isinstance(roles, dict) or not all(isinstance(k, str) and v in ROLES for k, v in roles.items()):
        raise StoreStateError(f"{where} its data roles are not identities and App Configuration roles.")
    snapshots = [_read_snapshot(row, f"{where} a snapshot") for row in document.get("snapshots") or []]
    enforce, local_auth = document.get("enforce_access", False), document.get("local_auth", True)
    if not isinstance(enforce, bool) or not isinstance(local_auth, bool):
        raise StoreStateError(f"{where} its access switches are not true or false.")
    with store.lock:
        store.items = {(item.key, item.label): item for item in items}
        store.history = deque(history, maxlen=MAX_REVISIONS)
        store.access_keys = keys
        store.sync_token_id = _text(document.get("sync_token_id"), where)
        store.sequence = int(_number(document.get("sequence"), where))
        store.roles = dict(roles)
        store.snapshots = {snapshot.name: snapshot for snapshot in snapshots}
        store.enforce_access = enforce
        store.local_auth = local_auth
