"""Key-value operations of the fake App Configuration store, one function per REST operation, named after it.

Each takes an :class:`Call` (the store, the request, the caller, the time) and returns a ``Reply``, or raises an
:class:`~kvconfig.fake.appconfig.errors.AppConfigError`. Callers hold the store's lock.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import formatdate, parsedate_to_datetime
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from kvconfig.fake.appconfig.auth import Caller
from kvconfig.fake.appconfig.errors import AppConfigError
from kvconfig.fake.appconfig.filters import FilterError, NameFilter, parse_filter
from kvconfig.fake.appconfig.state import KeyValue, Store, compact_json, sort_key
from kvconfig.fake.core.wire import FakeRequest

__all__ = [
    "KV_FIELDS",
    "MAX_KEY_VALUE_SIZE",
    "PAGE_SIZE",
    "Call",
    "Reply",
    "check_key_values",
    "delete_key_value",
    "delete_lock",
    "get_key_value",
    "get_key_values",
    "get_keys",
    "get_labels",
    "get_revisions",
    "put_key_value",
    "put_lock",
]

PAGE_SIZE = 100
MAX_KEY_VALUE_SIZE = 10 * 1024  # the service's limit on one key-value: key, label, value, content type and tags
MAX_AFTER_LENGTH = 4096
KV_FIELDS = frozenset({"key", "label", "content_type", "value", "last_modified", "tags", "locked", "etag"})
KV_TYPE = "application/vnd.microsoft.appconfig.kv+json; charset=utf-8"
KVSET_TYPE = "application/vnd.microsoft.appconfig.kvset+json; charset=utf-8"
KEYSET_TYPE = "application/vnd.microsoft.appconfig.keyset+json; charset=utf-8"
LABELSET_TYPE = "application/vnd.microsoft.appconfig.labelset+json; charset=utf-8"
T = TypeVar("T")
_ACCEPTED_BODY_TYPES = ("application/vnd.microsoft.appconfig.kv+json", "application/json")


@dataclass
class Call:
    """One request as the operations see it."""

    store: Store
    request: FakeRequest
    query: dict[str, str]  # lower-cased names, as the SDK's query policy sends them
    caller: Caller
    now: float
    params: dict[str, str] = field(default_factory=dict)

    @property
    def head(self) -> bool:
        return self.request.method.upper() == "HEAD"

    def header(self, name: str) -> str | None:
        return self.request.header(name)

    def query_all(self, name: str) -> list[str]:
        """Every value of a repeated query parameter (``tags=a%3D1&tags=b%3D2``)."""
        query = urlsplit(self.request.url).query
        return [value for key, value in parse_qsl(query, keep_blank_values=True) if key.lower() == name]


@dataclass
class Reply:
    status: int
    payload: object | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # the payload already rendered as JSON (listings build their pages from bytes)


# -- helpers ---------------------------------------------------------------------------------------------------------


def _quoted(etag: str) -> str:
    return f'"{etag}"'


def _etag_matches(header: str, etag: str | None) -> bool:
    """Whether an If-Match / If-None-Match header names ``etag`` (``*`` names any existing item)."""
    if etag is None:
        return False
    for candidate in header.split(","):
        text = candidate.strip()
        if text == "*":
            return True
        if text.startswith("W/"):
            text = text[2:]
        if text.strip('"') == etag:
            return True
    return False


def _http_date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)


def _item_headers(item: KeyValue) -> dict[str, str]:
    return {"ETag": _quoted(item.etag), "Last-Modified": _http_date(item.last_modified)}


def _select(call: Call) -> frozenset[str] | None:
    raw = call.query.get("$select")
    if raw is None:
        return None
    chosen = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = chosen - KV_FIELDS
    if unknown or not chosen:
        raise AppConfigError.invalid_argument("$select", f"Unknown field(s) {', '.join(sorted(unknown))}.")
    return chosen


def _filter(call: Call, name: str, *, null_allowed: bool) -> NameFilter:
    try:
        return parse_filter(call.query.get(name), what=name, null_allowed=null_allowed)
    except FilterError as exc:
        raise AppConfigError.invalid_argument(name, str(exc)) from None


def _accept_datetime(call: Call) -> float | None:
    raw = call.header("Accept-Datetime")
    if raw is None:
        return None
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        try:
            when = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise AppConfigError.invalid_argument("Accept-Datetime", "Not a valid date and time.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _label_param(call: Call) -> str | None:
    label = call.query.get("label")
    return None if label in (None, "", "\0", "\\0") else label


def _key_param(call: Call) -> str:
    key = call.params["key"]
    if not key or key in (".", "..") or "%" in key:
        raise AppConfigError.invalid_argument("key", "A key cannot be empty, '.', '..' or contain '%'.")
    return key


def _encode_after(position: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode("ascii").rstrip("=")


def _decode_after(call: Call) -> object | None:
    raw = call.query.get("after")
    if raw is None:
        return None
    if len(raw) > MAX_AFTER_LENGTH:
        raise AppConfigError.invalid_argument("After", "The continuation token is too long.")
    try:
        position: object = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error, RecursionError):  # 4,096 characters decode to 3 KiB of '['
        raise AppConfigError.invalid_argument("After", "The continuation token is not valid.") from None
    return position


def _next_link(call: Call, path: str, after: str) -> str:
    params = {name: value for name, value in call.query.items() if name not in ("after", "api-version")}
    params["after"] = after
    params["api-version"] = call.query.get("api-version", "")
    return f"{path}?{urlencode(params)}"


def _tags_filter(call: Call) -> list[tuple[str, str]]:
    wanted: list[tuple[str, str]] = []
    for value in call.query_all("tags"):
        tag, sep, tag_value = value.partition("=")
        if not sep or not tag:
            raise AppConfigError.invalid_argument("tags", "A tags filter is 'name=value'.")
        wanted.append((tag, tag_value))
    return wanted


def _paged(
    call: Call,
    path: str,
    rows: Sequence[T],
    position_of: Callable[[T], object],
    render: Callable[[T], bytes],
    content_type: str,
    start_of: Callable[[object], int] | None = None,
) -> Reply:
    """One page of ``rows``, with ETag, Link and conditional answers; ``position_of`` gives each row's continuation
    key and ``render`` its compact JSON (only the rows of the page are rendered). ``start_of`` finds the row after
    a continuation key (default: a scan of ``rows``; an unknown key gives an empty page either way)."""
    after = _decode_after(call)
    start = 0
    if after is not None:
        if start_of is not None:
            start = start_of(after)
        else:
            start = next((index + 1 for index, row in enumerate(rows) if position_of(row) == after), len(rows))
    items = b",".join(render(row) for row in rows[start : start + PAGE_SIZE])
    more = start + PAGE_SIZE < len(rows)
    headers: dict[str, str] = {}
    body = b'{"items":[' + items + b"]"
    if more:
        link = _next_link(call, path, _encode_after(position_of(rows[start + PAGE_SIZE - 1])))
        headers["Link"] = f'<{link}>; rel="next"'
        body += b',"@nextLink":' + compact_json(link)
    body += b"}"
    digest = hashlib.sha256(items).digest()
    etag = base64.urlsafe_b64encode(digest[:24]).decode("ascii")
    headers["ETag"] = _quoted(etag)
    if_none_match = call.header("If-None-Match")
    if if_none_match is not None and _etag_matches(if_none_match, etag):
        raise AppConfigError.not_modified(headers)
    if_match = call.header("If-Match")
    if if_match is not None and not _etag_matches(if_match, etag):
        raise AppConfigError.precondition_failed()
    return Reply(200, None, content_type, headers, body=None if call.head else body)


def _slot(item: KeyValue) -> object:
    return [item.key, item.label]


def _select_items(call: Call, source: Iterable[KeyValue]) -> list[KeyValue]:
    keys = _filter(call, "key", null_allowed=False)
    labels = _filter(call, "label", null_allowed=True)
    tags = _tags_filter(call)
    return [
        item
        for item in source
        if keys.matches(item.key)
        and labels.matches(item.label)
        and all((name, value) in item.tags for name, value in tags)
    ]


def _current(call: Call) -> list[KeyValue]:
    when = _accept_datetime(call)
    store = call.store
    return store.sorted_items(store.as_of(when) if when is not None else None)


# -- key-values ------------------------------------------------------------------------------------------------------


def _row_order(item: KeyValue) -> tuple[str, int, str]:
    return sort_key((item.key, item.label))


def _start_after(rows: list[KeyValue], after: object) -> int:
    """The index after the key-value a continuation token names in ``rows`` (sorted by :func:`sort_key`), found by
    bisection; ``len(rows)`` (an empty page) when it names none, as a scan would answer."""
    if isinstance(after, list) and len(after) == 2 and isinstance(after[0], str):
        key, label = after
        if label is None or isinstance(label, str):
            index = bisect.bisect_left(rows, sort_key((key, label)), key=_row_order)
            if index < len(rows) and rows[index].key == key and rows[index].label == label:
                return index + 1
    return len(rows)


def get_key_values(call: Call) -> Reply:
    """Get Key-Values: GET|HEAD /kv?key=&label=&$select=&After= (also ``snapshot=``, see snapshots).

    The current key-values a filter selects are kept until the store's next write, so a listing's pages do not
    sort and filter the store again each (the past, with Accept-Datetime, is computed per request)."""
    fields = _select(call)
    when = _accept_datetime(call)
    if when is not None:
        items = _select_items(call, call.store.sorted_items(call.store.as_of(when)))
        return _paged(call, "/kv", items, _slot, lambda item: item.wire_json(fields), KVSET_TYPE)
    memo_key = ("kv", call.query.get("key"), call.query.get("label"), tuple(call.query_all("tags")))
    rows = call.store.memo(memo_key, lambda: _select_items(call, call.store.sorted_items()))
    render: Callable[[KeyValue], bytes] = lambda item: item.wire_json(fields)  # noqa: E731
    return _paged(call, "/kv", rows, _slot, render, KVSET_TYPE, lambda after: _start_after(rows, after))


check_key_values = get_key_values


def _find(call: Call) -> KeyValue | None:
    key = _key_param(call)
    label = _label_param(call)
    when = _accept_datetime(call)
    if when is not None:
        return call.store.as_of(when).get((key, label))
    return call.store.items.get((key, label))


def get_key_value(call: Call) -> Reply:
    """Get Key-Value: GET|HEAD /kv/{key}?label=&$select= (304 when If-None-Match names its etag)."""
    fields = _select(call)
    item = _find(call)
    if item is None:
        raise AppConfigError.not_found()
    headers = _item_headers(item)
    if_none_match = call.header("If-None-Match")
    if if_none_match is not None and _etag_matches(if_none_match, item.etag):
        raise AppConfigError.not_modified(headers)
    if_match = call.header("If-Match")
    if if_match is not None and not _etag_matches(if_match, item.etag):
        raise AppConfigError.precondition_failed()
    return Reply(200, None if call.head else item.to_wire(fields), KV_TYPE, headers)


def _check_write_preconditions(call: Call, existing: KeyValue | None) -> None:
    if_match = call.header("If-Match")
    if if_match is not None and not _etag_matches(if_match, existing.etag if existing else None):
        raise AppConfigError.precondition_failed()
    if_none_match = call.header("If-None-Match")
    if if_none_match is not None and _etag_matches(if_none_match, existing.etag if existing else None):
        raise AppConfigError.precondition_failed()


def _parse_body(call: Call) -> dict[str, object]:
    content_type = (call.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type not in _ACCEPTED_BODY_TYPES:
        raise AppConfigError.unsupported_media_type(call.header("Content-Type"))
    if len(call.request.body) > MAX_KEY_VALUE_SIZE * 2:
        raise AppConfigError.too_large(f"A key-value is limited to {MAX_KEY_VALUE_SIZE} bytes.")
    try:
        body = json.loads(call.request.body or b"{}")
    except (ValueError, RecursionError):
        raise AppConfigError.invalid_argument("body", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise AppConfigError.invalid_argument("body", "The request body must be a JSON object.")
    return body


def _optional_str(body: dict[str, object], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise AppConfigError.invalid_argument(name, f"'{name}' must be a string or null.")
    return value


def put_key_value(call: Call) -> Reply:
    """Set Key-Value: PUT /kv/{key}?label= (If-Match / If-None-Match: * for update-only / create-only)."""
    key = _key_param(call)
    label = _label_param(call)
    body = _parse_body(call)
    value = _optional_str(body, "value")
    content_type = _optional_str(body, "content_type")
    raw_tags = body.get("tags") or {}
    if not isinstance(raw_tags, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw_tags.items()
    ):
        raise AppConfigError.invalid_argument("tags", "'tags' must map names to string values.")
    tags: dict[str, str] = dict(raw_tags)
    size = sum(len(part.encode()) for part in (key, label or "", value or "", content_type or ""))
    size += sum(len(k.encode()) + len(v.encode()) for k, v in tags.items())
    if size > MAX_KEY_VALUE_SIZE:
        raise AppConfigError.too_large(f"The key-value is {size} bytes; the limit is {MAX_KEY_VALUE_SIZE}.")
    existing = call.store.items.get((key, label))
    _check_write_preconditions(call, existing)
    if existing is not None and existing.locked:
        raise AppConfigError.read_only(key)
    item = call.store.put(key, label, value=value, content_type=content_type, tags=tags, now=call.now)
    return Reply(200, item.to_wire(), KV_TYPE, _item_headers(item))


def delete_key_value(call: Call) -> Reply:
    """Delete Key-Value: DELETE /kv/{key}?label= (204 when there is nothing to delete)."""
    key = _key_param(call)
    existing = call.store.items.get((key, _label_param(call)))
    _check_write_preconditions(call, existing)
    if existing is None:
        return Reply(204)
    if existing.locked:
        raise AppConfigError.read_only(key)
    call.store.delete(existing, now=call.now)
    return Reply(200, existing.to_wire(), KV_TYPE, _item_headers(existing))


def _set_lock(call: Call, locked: bool) -> Reply:
    existing = call.store.items.get((_key_param(call), _label_param(call)))
    if existing is None:
        raise AppConfigError.not_found()
    _check_write_preconditions(call, existing)
    item = call.store.set_locked(existing, locked, now=call.now)
    return Reply(200, item.to_wire(), KV_TYPE, _item_headers(item))


def put_lock(call: Call) -> Reply:
    """Lock Key-Value: PUT /locks/{key}?label= (the key-value becomes read-only)."""
    return _set_lock(call, True)


def delete_lock(call: Call) -> Reply:
    """Unlock Key-Value: DELETE /locks/{key}?label=."""
    return _set_lock(call, False)


# -- keys, labels, revisions -----------------------------------------------------------------------------------------


def get_keys(call: Call) -> Reply:
    """List Keys: GET|HEAD /keys?name=&After=."""
    names = _filter(call, "name", null_allowed=False)
    keys = sorted({item.key for item in _current(call) if names.matches(item.key)})
    return _paged(call, "/keys", keys, lambda key: key, lambda key: compact_json({"name": key}), KEYSET_TYPE)


def get_labels(call: Call) -> Reply:
    """List Labels: GET|HEAD /labels?name=&After=&$select=name (the null label is ``{"name": null}``)."""
    names = _filter(call, "name", null_allowed=True)
    found = {item.label for item in _current(call) if names.matches(item.label)}
    labels = sorted(found, key=lambda label: (label is not None, label or ""))
    render: Callable[[str | None], bytes] = lambda label: compact_json({"name": label})  # noqa: E731
    return _paged(call, "/labels", labels, lambda label: [label], render, LABELSET_TYPE)


def get_revisions(call: Call) -> Reply:
    """List Revisions: GET|HEAD /revisions?key=&label=&$select= (newest first; Accept-Datetime cuts off later ones)."""
    fields = _select(call)
    when = _accept_datetime(call)
    history = list(call.store.history)
    numbered = [
        (index, revision.item)
        for index, revision in enumerate(history)
        if not revision.deleted and (when is None or revision.item.last_modified <= when)
    ]
    chosen = {id(item) for item in _select_items(call, (item for _, item in numbered))}
    rows = [(index, item) for index, item in reversed(numbered) if id(item) in chosen]
    return _paged(call, "/revisions", rows, lambda row: row[0], lambda row: row[1].wire_json(fields), KVSET_TYPE)


Operation = Callable[[Call], Reply]
