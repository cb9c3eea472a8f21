"""Seeding and dumping fake App Configuration stores: the ``appconfig`` part of a kvconfig seed file.

A store is a list of key-values, or an object ``{"key_values": [...], "snapshots": [...]}`` when it has snapshots.
A snapshot entry holds what the service keeps of one: ``name``, ``filters``, ``composition_type``,
``retention_period``, ``status`` (``ready``, ``archived`` or ``failed``), ``created`` and ``expires`` (ISO 8601),
``tags``, ``description``, and ``items``, the key-values it froze (when left out, the seed's filters are applied to
the store's key-values as seeded, as creating the snapshot then would). :func:`dump_appconfig_seed` writes every
field, so a dumped store seeds an identical one (etags are new).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Protocol

from kvconfig.fake.appconfig.errors import AppConfigError
from kvconfig.fake.appconfig.snapshots import (
    MAX_NAME_LENGTH,
    MAX_RETENTION,
    MAX_SNAPSHOTS,
    MIN_RETENTION,
    _compose,
    _read_filters,
)
from kvconfig.fake.appconfig.state import KeyValue, Snapshot, SnapshotStatus, Store, iso_time, new_etag
from kvconfig.fake.core.clock import Clock

__all__ = ["KEYVAULT_REF_CONTENT_TYPE", "AppConfigSeedError", "dump_appconfig_seed", "load_appconfig_seed"]

MAX_SEED_ITEMS = 100_000
KEYVAULT_REF_CONTENT_TYPE = "application/vnd.microsoft.appconfig.keyvaultref+json;charset=utf-8"
_ENTRY_FIELDS = frozenset({"key", "value", "label", "content_type", "tags", "secret_uri", "locked"})
_STORE_FIELDS = frozenset({"key_values", "snapshots"})
_SNAPSHOT_FIELDS = frozenset(
    {"name", "filters", "composition_type", "retention_period", "status", "created", "expires", "tags"}
    | {"description", "items"}
)
_SEEDED_STATUSES: tuple[SnapshotStatus, ...] = ("ready", "archived", "failed")
_LATEST = 253402300799.0  # 9999-12-31T23:59:59Z


class AppConfigSeedError(ValueError):
    """A seed entry that cannot be loaded; the message names the store and the entry's index."""


class SeededStores(Protocol):
    """What seeding needs of the fake App Configuration service (``FakeAppConfiguration`` is one)."""

    clock: Clock

    @property
    def stores(self) -> list[Store]: ...

    def store(self, name: str) -> Store: ...


# -- key-values ------------------------------------------------------------------------------------------------------


def _read_entry(where: str, entry: object) -> tuple[str, str | None, str | None, str | None, dict[str, str], bool]:
    """(key, label, value, content type, tags, locked) of one key-value entry."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("key"), str):
        raise AppConfigSeedError(f"{where}: each entry is an object with a string 'key'.")
    unknown = set(entry) - _ENTRY_FIELDS
    if unknown:
        raise AppConfigSeedError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
    label = entry.get("label")
    if label is not None and not isinstance(label, str):
        raise AppConfigSeedError(f"{where}: 'label' is a string (leave it out for no label).")
    tags = entry.get("tags") or {}
    if not isinstance(tags, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise AppConfigSeedError(f"{where}: 'tags' maps names to string values.")
    locked = entry.get("locked", False)
    if not isinstance(locked, bool):
        raise AppConfigSeedError(f"{where}: 'locked' is true or false.")
    if "secret_uri" in entry:
        value: str | None = json.dumps({"uri": str(entry["secret_uri"])})
        content_type = entry.get("content_type", KEYVAULT_REF_CONTENT_TYPE)
    else:
        raw = entry.get("value")
        value = raw if raw is None or isinstance(raw, str) else json.dumps(raw)
        default_type = "application/json" if not (raw is None or isinstance(raw, str)) else None
        content_type = entry.get("content_type", default_type)
    if content_type is not None and not isinstance(content_type, str):
        raise AppConfigSeedError(f"{where}: 'content_type' is a string.")
    return entry["key"], label, value, content_type, dict(tags), locked


def _entries(where: str, entries: object) -> list[object]:
    if not isinstance(entries, list) or len(entries) > MAX_SEED_ITEMS:
        raise AppConfigSeedError(f"{where}: expected a list of at most {MAX_SEED_ITEMS} entries.")
    return entries


def _load_key_values(
    store: Store, read: list[tuple[str, str | None, str | None, str | None, dict[str, str], bool]], now: float
) -> None:
    with store.lock:
        for key, label, value, content_type, tags, locked in read:
            item = store.put(key, label, value=value, content_type=content_type, tags=tags, now=now)
            if item.locked != locked:
                store.set_locked(item, locked, now=now)


# -- snapshots -------------------------------------------------------------------------------------------------------


def _epoch(where: str, field: str, text: object) -> float:
    if not isinstance(text, str):
        raise AppConfigSeedError(f"{where}: '{field}' is an ISO 8601 time (2026-12-06T04:23:23+00:00).")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AppConfigSeedError(f"{where}: '{field}' is an ISO 8601 time (2026-12-06T04:23:23+00:00).") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    epoch = moment.timestamp()
    if not 0 <= epoch <= _LATEST:  # a time the service's format (and a dump) can write back
        raise AppConfigSeedError(f"{where}: '{field}' is a time from 1970 to 9999 (UTC).")
    return epoch


def _snapshot_items(where: str, entry: Mapping[str, Any], composition: str, now: float) -> tuple[KeyValue, ...]:
    items: dict[object, KeyValue] = {}
    for index, raw in enumerate(_entries(f"{where}.items", entry["items"])):
        key, label, value, content_type, tags, locked = _read_entry(f"{where}.items[{index}]", raw)
        slot = key if composition == "key" else (key, label)
        if slot in items:
            raise AppConfigSeedError(
                f"{where}.items[{index}]: a snapshot of composition '{composition}' holds {key!r}"
                + ("" if composition == "key" else f" with label {label!r}")
                + " once."
            )
        tag_pairs = tuple(sorted(tags.items()))
        items[slot] = KeyValue(key, label, value, content_type, tag_pairs, new_etag(), now, locked)
    return tuple(sorted(items.values(), key=lambda item: (item.key, item.label is not None, item.label or "")))


def _read_snapshot(store: Store, where: str, entry: object, now: float) -> Snapshot:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
        raise AppConfigSeedError(f"{where}: each snapshot is an object with a string 'name'.")
    unknown = set(entry) - _SNAPSHOT_FIELDS
    if unknown:
        raise AppConfigSeedError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
    name = entry["name"]
    if not name or len(name) > MAX_NAME_LENGTH or name in (".", "..") or any(c in name for c in "*,\\"):
        raise AppConfigSeedError(
            f"{where}: a snapshot name is 1-{MAX_NAME_LENGTH} characters without '*', ',' or '\\'."
        )
    try:
        filters = _read_filters({"filters": entry.get("filters")})
    except AppConfigError as exc:
        raise AppConfigSeedError(f"{where}.filters: {exc.detail}") from None
    composition = entry.get("composition_type", "key")
    if composition not in ("key", "key_label"):
        raise AppConfigSeedError(f"{where}: 'composition_type' is 'key' or 'key_label'.")
    retention = entry.get("retention_period", 30 * 24 * 3600)
    if not isinstance(retention, int) or isinstance(retention, bool) or not MIN_RETENTION <= retention <= MAX_RETENTION:
        raise AppConfigSeedError(f"{where}: 'retention_period' is {MIN_RETENTION} to {MAX_RETENTION} seconds.")
    status = entry.get("status", "ready")
    if status not in _SEEDED_STATUSES:
        raise AppConfigSeedError(f"{where}: 'status' is one of {', '.join(_SEEDED_STATUSES)}.")
    created = _epoch(where, "created", entry["created"]) if "created" in entry else now
    expires = None
    if status == "archived":
        expires = _epoch(where, "expires", entry["expires"]) if entry.get("expires") else now + retention
    elif entry.get("expires") is not None:
        raise AppConfigSeedError(f"{where}: only an archived snapshot expires.")
    tags = entry.get("tags") or {}
    if not isinstance(tags, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise AppConfigSeedError(f"{where}: 'tags' maps names to string values.")
    description = entry.get("description")
    if description is not None and not isinstance(description, str):
        raise AppConfigSeedError(f"{where}: 'description' is a string.")
    if "items" in entry:
        items = _snapshot_items(where, entry, composition, created)
    else:
        with store.lock:
            items = _compose(store, filters, composition)
    return Snapshot(
        name=name,
        filters=filters,
        composition_type="key" if composition == "key" else "key_label",
        items=items,
        created=created,
        retention_period=retention,
        etag=new_etag(),
        status=status,
        expires=expires,
        tags=tuple(sorted(tags.items())),
        description=description,
    )


def _load_snapshots(store: Store, where: str, entries: object, now: float) -> None:
    for index, entry in enumerate(_entries(where, entries)):
        snapshot = _read_snapshot(store, f"{where}[{index}]", entry, now)
        with store.lock:
            if snapshot.name not in store.snapshots and len(store.snapshots) >= MAX_SNAPSHOTS:
                raise AppConfigSeedError(f"{where}[{index}]: a store holds at most {MAX_SNAPSHOTS} snapshots.")
            store.snapshots[snapshot.name] = snapshot


def load_appconfig_seed(fake: SeededStores, data: Mapping[str, Any]) -> None:
    if not isinstance(data, Mapping):
        raise AppConfigSeedError("The appconfig seed must map store names to lists of key-values.")
    for store_name, part in data.items():
        where = f"appconfig.{store_name}"
        snapshots: object = []
        if isinstance(part, Mapping):
            unknown = set(part) - _STORE_FIELDS
            if unknown:
                raise AppConfigSeedError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
            entries, snapshots = part.get("key_values", []), part.get("snapshots", [])
        else:
            entries = part
        listed = where if not isinstance(part, Mapping) else f"{where}.key_values"
        read = [_read_entry(f"{listed}[{index}]", entry) for index, entry in enumerate(_entries(listed, entries))]
        try:
            store = fake.store(str(store_name))
        except ValueError as exc:
            raise AppConfigSeedError(f"{where}: {exc}") from None
        now = fake.clock.now()
        _load_key_values(store, read, now)
        _load_snapshots(store, f"{where}.snapshots", snapshots, now)


# -- dump ------------------------------------------------------------------------------------------------------------


def _entry(item: KeyValue) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": item.key, "value": item.value}
    if item.label is not None:
        entry["label"] = item.label
    if item.content_type is not None:
        entry["content_type"] = item.content_type
    if item.tags:
        entry["tags"] = dict(item.tags)
    if item.locked:
        entry["locked"] = True
    return entry


def _snapshot_entry(snapshot: Snapshot) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": snapshot.name,
        "filters": [item.to_wire() for item in snapshot.filters],
        "composition_type": snapshot.composition_type,
        "retention_period": snapshot.retention_period,
        "status": snapshot.status,
        "created": iso_time(snapshot.created),
    }
    if snapshot.expires is not None:
        entry["expires"] = iso_time(snapshot.expires)
    if snapshot.tags:
        entry["tags"] = dict(snapshot.tags)
    if snapshot.description is not None:
        entry["description"] = snapshot.description
    entry["items"] = [_entry(item) for item in snapshot.items]
    return entry


def dump_appconfig_seed(fake: SeededStores) -> dict[str, Any]:
    """Every store as its seed: a list of key-values, or ``{"key_values", "snapshots"}`` when it has snapshots
    (archived ones past their retention are left out, as the service has forgotten them)."""
    dumped: dict[str, Any] = {}
    now = fake.clock.now()
    for store in fake.stores:
        with store.lock:
            entries = [_entry(item) for item in store.sorted_items()]
            snapshots = [
                _snapshot_entry(snapshot)
                for _name, snapshot in sorted(store.snapshots.items())
                if snapshot.expires is None or snapshot.expires > now
            ]
        dumped[store.name] = {"key_values": entries, "snapshots": snapshots} if snapshots else entries
    return dumped
