"""Snapshots of the fake App Configuration store, one function per REST operation, named after it: create (a
long-running operation answered through ``/operations``), get, list, archive and recover (``PATCH``), and the
key-values of a snapshot (``GET /kv?snapshot=``).

A snapshot is taken whole when it is created, so the operation has already succeeded when the client first polls
it; the create answer still says ``provisioning`` and points at ``/operations``, as the service's does. An archived
snapshot can be read and recovered until ``retention_period`` seconds have passed; then it is gone.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Literal
from urllib.parse import quote

from kvconfig.fake.appconfig import operations as ops
from kvconfig.fake.appconfig.errors import AppConfigError
from kvconfig.fake.appconfig.filters import FilterError, parse_filter
from kvconfig.fake.appconfig.state import (
    KeyValue,
    Snapshot,
    SnapshotFilter,
    SnapshotStatus,
    Store,
    compact_json,
    new_etag,
)

__all__ = [
    "DEFAULT_RETENTION",
    "MAX_FILTERS",
    "MAX_SNAPSHOTS",
    "SNAPSHOT_FIELDS",
    "archive_or_recover_snapshot",
    "create_snapshot",
    "get_key_values",
    "get_operation_details",
    "get_snapshot",
    "get_snapshots",
]

SNAPSHOT_TYPE = "application/vnd.microsoft.appconfig.snapshot+json; charset=utf-8"
SNAPSHOTSET_TYPE = "application/vnd.microsoft.appconfig.snapshotset+json; charset=utf-8"
SNAPSHOT_FIELDS = frozenset(
    {
        "name",
        "status",
        "filters",
        "composition_type",
        "created",
        "expires",
        "retention_period",
        "size",
        "items_count",
        "tags",
        "etag",
        "description",
    }
)
DEFAULT_RETENTION = 30 * 24 * 3600  # seconds an archived snapshot is kept when the request names no period
MIN_RETENTION = 3600
MAX_RETENTION = 90 * 24 * 3600  # the standard tier's limit
MAX_FILTERS = 3
MAX_NAME_LENGTH = 256
MAX_SNAPSHOTS = 1000  # per store, a bound of this fake (the service counts snapshot storage instead)
_STATUSES = ("provisioning", "ready", "archived", "failed")


def _sweep(store: Store, now: float) -> None:
    """Forget archived snapshots whose retention has passed (callers hold the store's lock)."""
    expired = [name for name, snap in store.snapshots.items() if snap.expires is not None and snap.expires <= now]
    for name in expired:
        del store.snapshots[name]


def _snapshot_headers(snapshot: Snapshot) -> dict[str, str]:
    return {"ETag": f'"{snapshot.etag}"'}


def _find_snapshot(call: ops.Call, name: str) -> Snapshot:
    _sweep(call.store, call.now)
    found = call.store.snapshots.get(name)
    if found is None:
        raise AppConfigError.not_found()
    return found


def _snapshot_select(call: ops.Call) -> frozenset[str] | None:
    raw = call.query.get("$select")
    if raw is None:
        return None
    chosen = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = chosen - SNAPSHOT_FIELDS
    if unknown or not chosen:
        raise AppConfigError.invalid_argument("$select", f"Unknown field(s) {', '.join(sorted(unknown))}.")
    return chosen


def _name_param(call: ops.Call) -> str:
    name = call.params["name"]
    if not name or len(name) > MAX_NAME_LENGTH or name in (".", "..") or any(c in name for c in "*,\\"):
        raise AppConfigError.invalid_argument(
            "name", f"A snapshot name is 1-{MAX_NAME_LENGTH} characters without '*', ',' or '\\'."
        )
    return name


# -- create ----------------------------------------------------------------------------------------------------------


def _read_filters(body: dict[str, object]) -> tuple[SnapshotFilter, ...]:
    raw = body.get("filters")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_FILTERS:
        raise AppConfigError.invalid_argument("filters", f"A snapshot has 1 to {MAX_FILTERS} filters.")
    filters: list[SnapshotFilter] = []
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or not entry["key"]:
            raise AppConfigError.invalid_argument("filters", "Each filter is an object with a non-empty 'key'.")
        label = entry.get("label")
        tags = entry.get("tags") or []
        if label is not None and not isinstance(label, str):
            raise AppConfigError.invalid_argument("filters", "A filter's 'label' is a string.")
        if not isinstance(tags, list) or not all(isinstance(tag, str) and "=" in tag for tag in tags):
            raise AppConfigError.invalid_argument("filters", "A filter's 'tags' are 'name=value' strings.")
        try:
            parse_filter(entry["key"], what="key", null_allowed=False)
            parse_filter(label, what="label", null_allowed=True)
        except FilterError as exc:
            raise AppConfigError.invalid_argument("filters", str(exc)) from None
        filters.append(SnapshotFilter(entry["key"], label, tuple(tags)))
    return tuple(filters)


def _compose(store: Store, filters: tuple[SnapshotFilter, ...], composition: str) -> tuple[KeyValue, ...]:
    """The key-values the filters select now: for ``key``, a later filter's match replaces an earlier one's key."""
    chosen: dict[object, KeyValue] = {}
    for snapshot_filter in filters:
        keys = parse_filter(snapshot_filter.key, what="key", null_allowed=False)
        # A filter without a label takes the null label (not every label, as GET /kv without label= does).
        label = "\0" if snapshot_filter.label is None else snapshot_filter.label
        labels = parse_filter(label, what="label", null_allowed=True)
        tags = [tuple(tag.split("=", 1)) for tag in snapshot_filter.tags]
        for item in store.sorted_items():
            if keys.matches(item.key) and labels.matches(item.label) and all(tag in item.tags for tag in tags):
                chosen[item.key if composition == "key" else (item.key, item.label)] = item
    return tuple(sorted(chosen.values(), key=lambda item: (item.key, item.label is not None, item.label or "")))


def create_snapshot(call: ops.Call) -> ops.Reply:
    """Create Snapshot: PUT /snapshots/{name} (201, ``Operation-Location`` to poll; a taken name is 409)."""
    name = _name_param(call)
    body = ops._parse_body(call)
    filters = _read_filters(body)
    composition = body.get("composition_type") or "key"
    if composition not in ("key", "key_label"):
        raise AppConfigError.invalid_argument("composition_type", "The composition type is 'key' or 'key_label'.")
    retention = body.get("retention_period", DEFAULT_RETENTION)
    if retention is None:
        retention = DEFAULT_RETENTION
    if not isinstance(retention, int) or isinstance(retention, bool) or not MIN_RETENTION <= retention <= MAX_RETENTION:
        raise AppConfigError.invalid_argument(
            "retention_period", f"The retention period is {MIN_RETENTION} to {MAX_RETENTION} seconds."
        )
    raw_tags = body.get("tags") or {}
    if not isinstance(raw_tags, dict) or not all(isinstance(v, str) for v in raw_tags.values()):
        raise AppConfigError.invalid_argument("tags", "'tags' must map names to string values.")
    description = ops._optional_str(body, "description")
    _sweep(call.store, call.now)
    if name in call.store.snapshots:
        raise AppConfigError(
            409, "already-exists", "The resource already exists.", name=name, detail=f"Snapshot '{name}' exists."
        )
    if len(call.store.snapshots) >= MAX_SNAPSHOTS:
        raise AppConfigError(409, "quota-exceeded", "Snapshot quota exceeded", detail="Too many snapshots.")
    composition_type: Literal["key", "key_label"] = "key" if composition == "key" else "key_label"
    snapshot = Snapshot(
        name=name,
        filters=filters,
        composition_type=composition_type,
        items=_compose(call.store, filters, composition_type),
        created=call.now,
        retention_period=retention,
        etag=new_etag(),
        tags=tuple(sorted((str(k), v) for k, v in raw_tags.items())),
        description=description,
    )
    call.store.snapshots[name] = snapshot
    payload = snapshot.to_wire()
    payload["status"] = "provisioning"  # what the service answers; the fake has finished already
    api_version = call.query.get("api-version", "")
    headers = {
        **_snapshot_headers(snapshot),
        "Operation-Location": f"{call.store.endpoint}/operations?snapshot={quote(name, safe='')}"
        f"&api-version={quote(api_version, safe='')}",
    }
    return ops.Reply(201, payload, SNAPSHOT_TYPE, headers)


def get_operation_details(call: ops.Call) -> ops.Reply:
    """Get Operation Details: GET /operations?snapshot={name} (the create operation's state)."""
    name = call.query.get("snapshot")
    if not name:
        raise AppConfigError.invalid_argument("snapshot", "The snapshot to report on is required.")
    snapshot = _find_snapshot(call, name)
    state = "Failed" if snapshot.status == "failed" else "Succeeded"
    return ops.Reply(200, {"id": name, "status": state}, "application/json; charset=utf-8")


# -- read ------------------------------------------------------------------------------------------------------------


def _conditional(call: ops.Call, etag: str, headers: dict[str, str]) -> None:
    if_none_match = call.header("If-None-Match")
    if if_none_match is not None and ops._etag_matches(if_none_match, etag):
        raise AppConfigError.not_modified(headers)
    if_match = call.header("If-Match")
    if if_match is not None and not ops._etag_matches(if_match, etag):
        raise AppConfigError.precondition_failed()


def get_snapshot(call: ops.Call) -> ops.Reply:
    """Get Snapshot: GET|HEAD /snapshots/{name}?$select= (304 when If-None-Match names its etag)."""
    fields = _snapshot_select(call)
    snapshot = _find_snapshot(call, _name_param(call))
    headers = _snapshot_headers(snapshot)
    _conditional(call, snapshot.etag, headers)
    return ops.Reply(200, None if call.head else snapshot.to_wire(fields), SNAPSHOT_TYPE, headers)


def get_snapshots(call: ops.Call) -> ops.Reply:
    """List Snapshots: GET|HEAD /snapshots?name=&status=&$select=&After= (by name; ``name`` takes ``abc*``)."""
    fields = _snapshot_select(call)
    try:
        names = parse_filter(call.query.get("name"), what="name", null_allowed=False)
    except FilterError as exc:
        raise AppConfigError.invalid_argument("name", str(exc)) from None
    wanted = [part.strip() for part in (call.query.get("status") or "").split(",") if part.strip()]
    if any(status not in _STATUSES for status in wanted):
        raise AppConfigError.invalid_argument("status", f"A status is one of {', '.join(_STATUSES)}.")
    _sweep(call.store, call.now)
    rows = [
        snapshot
        for name, snapshot in sorted(call.store.snapshots.items())
        if names.matches(name) and (not wanted or snapshot.status in wanted)
    ]
    return ops._paged(
        call,
        "/snapshots",
        rows,
        lambda snap: snap.name,
        lambda snap: compact_json(snap.to_wire(fields)),
        SNAPSHOTSET_TYPE,
    )


def get_key_values(call: ops.Call) -> ops.Reply:
    """Get Key-Values: GET|HEAD /kv, and /kv?snapshot={name} for the key-values of a snapshot."""
    name = call.query.get("snapshot")
    if name is None:
        return ops.get_key_values(call)
    if any(call.query.get(other) is not None for other in ("key", "label", "tags")) or call.header("Accept-Datetime"):
        raise AppConfigError.invalid_argument(
            "snapshot", "'snapshot' cannot be combined with key, label or tags filters or Accept-Datetime."
        )
    fields = ops._select(call)
    snapshot = _find_snapshot(call, name)
    return ops._paged(call, "/kv", snapshot.items, ops._slot, lambda item: item.wire_json(fields), ops.KVSET_TYPE)


# -- archive and recover ---------------------------------------------------------------------------------------------


def archive_or_recover_snapshot(call: ops.Call) -> ops.Reply:
    """Update Snapshot: PATCH /snapshots/{name} with ``{"status": "archived"}`` (archive: expires after the
    retention period) or ``{"status": "ready"}`` (recover an archived snapshot); If-Match checks its etag."""
    name = _name_param(call)
    try:
        body = json.loads(call.request.body or b"{}")
    except (ValueError, RecursionError):
        raise AppConfigError.invalid_argument("body", "The request body is not valid JSON.") from None
    status = body.get("status") if isinstance(body, dict) else None
    if status not in ("archived", "ready"):
        raise AppConfigError.invalid_argument("status", "A snapshot's status can be set to 'archived' or 'ready'.")
    snapshot = _find_snapshot(call, name)
    if_match = call.header("If-Match")
    if if_match is not None and not ops._etag_matches(if_match, snapshot.etag):
        raise AppConfigError.precondition_failed()
    if snapshot.status in ("provisioning", "failed"):
        raise AppConfigError(
            409, "invalid-state", "Invalid snapshot state", name=name, detail=f"The snapshot is {snapshot.status}."
        )
    if snapshot.status != status:
        new_status: SnapshotStatus = "archived" if status == "archived" else "ready"
        expires = call.now + snapshot.retention_period if new_status == "archived" else None
        snapshot = replace(snapshot, status=new_status, expires=expires, etag=new_etag())
        call.store.snapshots[name] = snapshot
    return ops.Reply(200, snapshot.to_wire(), SNAPSHOT_TYPE, _snapshot_headers(snapshot))
