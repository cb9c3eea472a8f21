"""Wire helpers shared by the secret, key and certificate operations: names, attributes, tags, paging, ids."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sortedcontainers import SortedDict

from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.routing import OperationContext
from kvconfig.fake.core.state import Attributes, VaultProperties, Versioned

__all__ = [
    "attributes_from_wire",
    "attributes_to_wire",
    "check_name",
    "page",
    "page_index",
    "tags_from_wire",
    "update_attributes",
    "with_deletion",
]

_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
MAX_TAGS = 15
MAX_TAG_NAME = 512
MAX_TAG_VALUE = 256

T = TypeVar("T")


def check_name(name: str) -> str:
    """Object names: 1-127 letters, digits and hyphens."""
    if not _NAME.match(name):
        raise ServiceError.invalid_name(name)
    return name


def _epoch(value: object, field_name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ServiceError.bad_parameter(f"The attribute '{field_name}' must be a number of seconds since the epoch.")
    return int(value)


def attributes_from_wire(raw: object, now: int) -> Attributes:
    """Attributes of a new version from the request's ``attributes`` object (read-only fields ignored)."""
    attrs = Attributes(created=now, updated=now)
    if raw is None:
        return attrs
    update_attributes(attrs, raw, now)
    attrs.updated = now
    return attrs


def update_attributes(attrs: Attributes, raw: object, now: int) -> None:
    """Apply the settable attributes (``enabled``, ``nbf``, ``exp``) of a request to existing attributes."""
    if not isinstance(raw, dict):
        raise ServiceError.bad_parameter("The property 'attributes' must be an object.")
    if "enabled" in raw and raw["enabled"] is not None:
        if not isinstance(raw["enabled"], bool):
            raise ServiceError.bad_parameter("The attribute 'enabled' must be true or false.")
        attrs.enabled = raw["enabled"]
    if "nbf" in raw:
        attrs.nbf = _epoch(raw["nbf"], "nbf")
    if "exp" in raw:
        attrs.exp = _epoch(raw["exp"], "exp")
    if attrs.nbf is not None and attrs.exp is not None and attrs.nbf > attrs.exp:
        raise ServiceError.bad_parameter("The attribute 'nbf' must not be later than 'exp'.")
    attrs.updated = now


def attributes_to_wire(attrs: Attributes, vault: VaultProperties, ctx: OperationContext) -> dict[str, Any]:
    wire: dict[str, Any] = {"enabled": attrs.enabled}
    if attrs.nbf is not None:
        wire["nbf"] = attrs.nbf
    if attrs.exp is not None:
        wire["exp"] = attrs.exp
    wire["created"] = attrs.created
    wire["updated"] = attrs.updated
    if ctx.api_at_least("7.1") and vault.soft_delete:
        # recoverableDays arrived with api-version 7.1.
        wire["recoverableDays"] = vault.recoverable_days
    wire["recoveryLevel"] = vault.recovery_level
    return wire


def tags_from_wire(raw: object) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ServiceError.bad_parameter("The property 'tags' must be an object of string values.")
    if len(raw) > MAX_TAGS:
        raise ServiceError.bad_parameter(f"The number of tags ({len(raw)}) exceeds the limit of {MAX_TAGS}.")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise ServiceError.bad_parameter(f"The value of tag '{key}' must be a string.")
        if len(key) > MAX_TAG_NAME or len(value) > MAX_TAG_VALUE:
            raise ServiceError.bad_parameter(
                f"Tag names are limited to {MAX_TAG_NAME} characters and values to {MAX_TAG_VALUE} characters."
            )
    return dict(raw)


def with_deletion(ctx: OperationContext, collection: str, obj: Versioned[Any], wire: dict[str, Any]) -> dict[str, Any]:
    """A bundle or item of a soft-deleted object: ``recoveryId`` first, then ``wire``, ``deletedDate`` and
    ``scheduledPurgeDate``. ``wire`` as it is when the object is not deleted."""
    if obj.deleted_date is None:
        return wire
    return {
        "recoveryId": f"{ctx.vault.url}/{collection}/{obj.name}",
        **wire,
        "deletedDate": obj.deleted_date,
        "scheduledPurgeDate": obj.scheduled_purge_date,
    }


def page_index(
    ctx: OperationContext,
    index: SortedDict[str, T],
    render: Callable[[T], dict[str, Any]],
    include: Callable[[T], bool] | None = None,
) -> dict[str, Any]:
    """One page of a list read straight from a sorted index (an ``ObjectStore``'s ``live`` or ``deleted``).

    The same pages as :func:`page` keyed by the index's keys, without sorting the vault: the page starts after the
    ``$skiptoken`` marker by bisection and reads ``maxresults`` items (plus those ``include`` skips), so a page costs
    O(log n + page) and listing a whole vault is linear.
    """
    size = _maxresults(ctx)
    token = ctx.query.get("$skiptoken")
    keys = index.irange(minimum=_decode_marker(token), inclusive=(False, False)) if token else iter(index)
    chosen: list[tuple[str, T]] = []
    more = False
    for key in keys:
        found = index[key]
        if include is not None and not include(found):
            continue
        if len(chosen) == size:
            more = True
            break
        chosen.append((key, found))
    return {
        "value": [render(found) for _, found in chosen],
        "nextLink": _next_link(ctx, size, chosen[-1][0]) if more else None,
    }


def _next_link(ctx: OperationContext, size: int, marker: str) -> str:
    # Real next links are absolute, carry the port and echo maxresults; the SDK swaps in its own api-version.
    path = ctx.request.parts[2]
    base = ctx.vault.url if ":" in ctx.vault.properties.host else f"{ctx.vault.url}:443"
    link = f"{base}{path}?api-version={ctx.api_version}&$skiptoken={_encode_marker(marker)}"
    if "maxresults" in ctx.query:
        link += f"&maxresults={size}"
    return link


def _maxresults(ctx: OperationContext) -> int:
    raw = ctx.query.get("maxresults")
    if raw is None or raw == "":
        return 25
    try:
        value = int(raw)
    except ValueError:
        raise ServiceError.bad_maxresults(raw) from None
    if not 1 <= value <= 25:
        raise ServiceError.bad_maxresults(raw)
    return value


def _encode_marker(marker: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"NextMarker": marker}).encode()).decode().rstrip("=")


def _decode_marker(token: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return str(data["NextMarker"])
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ServiceError.bad_parameter("The $skiptoken is not valid.") from exc


def page(
    ctx: OperationContext, items: Sequence[T], sort_key: Callable[[T], str], render: Callable[[T], dict[str, Any]]
) -> dict[str, Any]:
    """One page of a list: up to ``maxresults`` items after the ``$skiptoken`` marker, and the next link.

    The marker is the sort key of the last item returned, so objects created or deleted between pages neither
    repeat nor vanish from the pages still to come.
    """
    size = _maxresults(ctx)
    ordered = sorted(items, key=sort_key)
    token = ctx.query.get("$skiptoken")
    if token:
        marker = _decode_marker(token)
        ordered = [item for item in ordered if sort_key(item) > marker]
    chosen = ordered[:size]
    next_link = _next_link(ctx, size, sort_key(chosen[-1])) if len(ordered) > size else None
    return {"value": [render(item) for item in chosen], "nextLink": next_link}
