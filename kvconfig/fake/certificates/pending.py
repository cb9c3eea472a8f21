"""A certificate's pending operation: Get, Update (cancel) and Delete Certificate Operation, and Merge Certificate.

A create starts the operation (``operations.py``); issuance finishes it on the fake's clock (``issuance.py``), or a
merge does here when the issuer is ``Unknown`` or the request waits for a signed certificate.
"""

from __future__ import annotations

from typing import Any

from kvconfig.fake.certificates.errors import CertificateMaterialError
from kvconfig.fake.certificates.issuance import complete_operation
from kvconfig.fake.certificates.state import (
    CertificateObject,
    bundle,
    certificate_store,
    get_object,
    operation_to_wire,
)
from kvconfig.fake.certificates.x509 import certificate_to_merge, public_key_matches
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.objects import attributes_from_wire, tags_from_wire
from kvconfig.fake.core.routing import OperationContext

__all__ = [
    "delete_certificate_operation",
    "forget_if_empty",
    "get_certificate_operation",
    "in_progress",
    "merge_certificate",
    "update_certificate_operation",
]


def forget_if_empty(ctx: OperationContext, obj: CertificateObject) -> None:
    if not obj.has_versions and obj.pending is None:
        certificate_store(ctx.vault).live.pop(obj.name.lower(), None)


def _pending(ctx: OperationContext) -> CertificateObject:
    name = ctx.param("name")
    obj = get_object(ctx.vault, name)
    if obj is None or obj.pending is None:
        raise ServiceError.pending_certificate_not_found(name)
    return obj


def in_progress(ctx: OperationContext, wire: dict[str, Any]) -> dict[str, Any]:
    # The service asks pollers to come back in ten seconds while a request is in progress (recorded on the 202 of a
    # create and on GETs of the pending operation); the SDK's poller keeps its own interval.
    if wire.get("status") == "inProgress":
        ctx.response_headers["Retry-After"] = "10"
    return wire


def get_certificate_operation(ctx: OperationContext) -> dict[str, Any]:
    """Get Certificate Operation: GET /certificates/{certificate-name}/pending"""
    with ctx.vault.lock:
        obj = _pending(ctx)
        assert obj.pending is not None
        return in_progress(ctx, operation_to_wire(ctx, obj, obj.pending))


def update_certificate_operation(ctx: OperationContext) -> dict[str, Any]:
    """Update Certificate Operation: PATCH /certificates/{certificate-name}/pending"""
    body = ctx.body()
    requested = body.get("cancellation_requested")
    if requested is None:
        raise ServiceError.missing_field("cancellation_requested")
    if not isinstance(requested, bool):
        raise ServiceError.bad_parameter("The property 'cancellation_requested' must be true or false.")
    with ctx.vault.lock:
        obj = _pending(ctx)
        op = obj.pending
        assert op is not None
        if op.in_progress and requested:
            # As in the service's example: the request is flagged; an issuer that has not answered stops waiting
            # when it sees the flag, and a request waiting for a merge stays until it is merged or deleted.
            op.cancellation_requested = True
        return operation_to_wire(ctx, obj, op)


def delete_certificate_operation(ctx: OperationContext) -> dict[str, Any]:
    """Delete Certificate Operation: DELETE /certificates/{certificate-name}/pending"""
    with ctx.vault.lock:
        obj = _pending(ctx)
        op = obj.pending
        assert op is not None
        wire = operation_to_wire(ctx, obj, op)
        obj.pending = None
        forget_if_empty(ctx, obj)
        return wire


def merge_certificate(ctx: OperationContext) -> dict[str, Any]:
    """Merge Certificate: POST /certificates/{certificate-name}/pending/merge"""
    body = ctx.body()
    x5c = body.get("x5c")
    if x5c is None:
        raise ServiceError.missing_field("x5c")
    if not isinstance(x5c, list) or not all(isinstance(entry, str) for entry in x5c):
        raise ServiceError.bad_parameter("The property 'x5c' must be a list of base64-encoded certificates.")
    try:
        certs = certificate_to_merge(x5c)
    except CertificateMaterialError as exc:
        raise ServiceError.bad_parameter(exc.message) from exc
    tags = tags_from_wire(body["tags"]) if body.get("tags") is not None else None
    with ctx.vault.lock:
        obj = _pending(ctx)
        op = obj.pending
        assert op is not None
        if not op.in_progress or op.issued is not None:
            raise ServiceError.nothing_to_merge(obj.name)
        if not public_key_matches(certs[0], op.private_key):
            raise ServiceError.merge_key_mismatch()
        if body.get("attributes") is not None:
            op.attributes = attributes_from_wire(body["attributes"], ctx.now)
        if tags is not None:
            op.tags = tags
        version = complete_operation(ctx.service, ctx.vault, obj, tuple(certs), ctx.now)
        return bundle(ctx, obj, version, policy=True)
