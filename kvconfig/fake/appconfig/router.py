"""The fake App Configuration store's REST router: ``(method, path) -> operation``, api-version, authentication,
access control, and every failure turned into the service's answer (never an unhandled exception)."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

from kvconfig.fake.appconfig import operations as ops
from kvconfig.fake.appconfig import snapshots
from kvconfig.fake.appconfig.auth import Caller, authenticate
from kvconfig.fake.appconfig.errors import AppConfigError
from kvconfig.fake.appconfig.state import Store
from kvconfig.fake.control.tokens import TokenAuthority
from kvconfig.fake.core.clock import Clock
from kvconfig.fake.core.router import NOT_IMPLEMENTED_HEADER, Outcome
from kvconfig.fake.core.wire import ConnectionFault, FakeRequest, FakeResponse

__all__ = ["API_VERSIONS", "MAX_BODY_BYTES", "ROUTES", "Route", "dispatch"]

_LOG = logging.getLogger(__name__)

# The data-plane versions the installed SDKs send (the newest first); others get the service's 400.
API_VERSIONS = ("2026-04-01", "2025-02-01", "2024-09-01", "2023-11-01", "2023-10-01", "1.0")
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    handler: Callable[[ops.Call], ops.Reply] | None
    write: bool = False


def _route(method: str, template: str, operation: str, handler: Callable[[ops.Call], ops.Reply] | None) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, re.compile(f"^{regex}/?$"), operation, handler, write=method in ("PUT", "DELETE", "PATCH"))


ROUTES: tuple[Route, ...] = (
    _route("GET", "/kv", "GetKeyValues", snapshots.get_key_values),
    _route("HEAD", "/kv", "CheckKeyValues", snapshots.get_key_values),
    _route("GET", "/kv/{key}", "GetKeyValue", ops.get_key_value),
    _route("HEAD", "/kv/{key}", "CheckKeyValue", ops.get_key_value),
    _route("PUT", "/kv/{key}", "PutKeyValue", ops.put_key_value),
    _route("DELETE", "/kv/{key}", "DeleteKeyValue", ops.delete_key_value),
    _route("PUT", "/locks/{key}", "PutLock", ops.put_lock),
    _route("DELETE", "/locks/{key}", "DeleteLock", ops.delete_lock),
    _route("GET", "/keys", "GetKeys", ops.get_keys),
    _route("HEAD", "/keys", "CheckKeys", ops.get_keys),
    _route("GET", "/labels", "GetLabels", ops.get_labels),
    _route("HEAD", "/labels", "CheckLabels", ops.get_labels),
    _route("GET", "/revisions", "GetRevisions", ops.get_revisions),
    _route("HEAD", "/revisions", "CheckRevisions", ops.get_revisions),
    _route("GET", "/snapshots", "GetSnapshots", snapshots.get_snapshots),
    _route("HEAD", "/snapshots", "CheckSnapshots", snapshots.get_snapshots),
    _route("GET", "/snapshots/{name}", "GetSnapshot", snapshots.get_snapshot),
    _route("HEAD", "/snapshots/{name}", "CheckSnapshot", snapshots.get_snapshot),
    _route("PUT", "/snapshots/{name}", "CreateSnapshot", snapshots.create_snapshot),
    _route("PATCH", "/snapshots/{name}", "UpdateSnapshot", snapshots.archive_or_recover_snapshot),
    _route("GET", "/operations", "GetOperationDetails", snapshots.get_operation_details),
    # No PATCH /kv/{key}: the service has none (REST spec 1.0 to 2026-04-01; the SDK updates with PUT), so it is
    # answered as every method a path lacks: 405 with Allow.
)

# Routes other modules add (snapshots), so this table does not grow past one concept.
_EXTRA: list[Route] = []


def register(route: Route) -> None:
    """Add a route served by another module of this package."""
    _EXTRA.append(route)


def _match(method: str, path: str) -> tuple[Route, dict[str, str]] | bool | None:
    """(route, params); ``True`` when the path exists for other methods; ``None`` when no route has it."""
    path_known = False
    for route in (*ROUTES, *_EXTRA):
        found = route.pattern.match(path)
        if found is None:
            continue
        if route.method == method:
            return route, {name: unquote(value) for name, value in found.groupdict().items()}
        path_known = True
    return True if path_known else None


def _allowed(path: str) -> str:
    """The methods a path has, for a 405's ``Allow`` header."""
    return ", ".join(sorted({route.method for route in (*ROUTES, *_EXTRA) if route.pattern.match(path)}))


def _authorize(store: Store, route: Route, caller: Caller) -> None:
    if caller.key is not None:
        if route.write and caller.read_only:
            raise AppConfigError.forbidden("A read-only access key cannot modify key-values.")
        return
    if not (store.enforce_access or store.roles):
        return
    if caller.identity is None:
        raise AppConfigError.forbidden("The caller has no App Configuration data role on this store.")
    role = store.roles.get(caller.identity.object_id)
    if role == "App Configuration Data Owner":
        return
    # Readers may call every operation that changes nothing (access keys bypass roles, as on the service).
    if role == "App Configuration Data Reader" and not route.write:
        return
    raise AppConfigError.forbidden(
        f"The caller {caller.identity.name!r} is not allowed to perform {route.operation} on this store."
    )


class StoreHost(Protocol):
    """What the router needs of the fake App Configuration service (``FakeAppConfiguration`` is one)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def tokens(self) -> TokenAuthority: ...

    def locate_store(self, host: str) -> Store | None: ...

    def record(self, operation: str) -> None: ...


def dispatch(service: StoreHost, request: FakeRequest) -> Outcome:
    """Serve one request: a response, or a DNS failure for a host that is no store of this fake."""
    method = request.method.upper()
    _scheme, hostname, raw_path, port = request.parts
    host = hostname if port in (None, 443) else f"{hostname}:{port}"
    store = service.locate_store(host)
    if store is None:
        message = f"Failed to resolve '{hostname}' (no such App Configuration store in the kvconfig fake)."
        return Outcome(None, ConnectionFault("dns", message))
    headers = {"x-ms-request-id": str(uuid.uuid4()), "x-ms-correlation-request-id": str(uuid.uuid4())}
    operation = "Unknown"
    try:
        response = _serve(service, store, request, method, raw_path, headers)
    except AppConfigError as error:
        response = error.to_response()
    except Exception:  # a defect of the fake: answer like the service, never crash the caller's transport
        _LOG.exception("The fake App Configuration store failed on %s %s", method, raw_path)
        response = AppConfigError(500, "internal-error", "Internal Server Error").to_response()
    with store.lock:
        sync_token = store.sync_token
    merged = {**headers, "Sync-Token": sync_token, **response.headers}
    final = FakeResponse(response.status, merged, b"" if method == "HEAD" else response.body)
    service.record(operation if final.status >= 500 else _operation_of(method, raw_path))
    return Outcome(final)


def _operation_of(method: str, path: str) -> str:
    matched = _match(method, path)
    return matched[0].operation if isinstance(matched, tuple) else "Unknown"


def _serve(
    service: StoreHost,
    store: Store,
    request: FakeRequest,
    method: str,
    raw_path: str,
    headers: dict[str, str],
) -> FakeResponse:
    if len(request.body) > MAX_BODY_BYTES:
        raise AppConfigError.too_large(f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")
    caller = authenticate(store, request, service.tokens)
    query = {name.lower(): value for name, value in request.query.items()}
    api_version = query.get("api-version")
    if not api_version:
        raise AppConfigError.missing_api_version()
    if api_version not in API_VERSIONS:
        raise AppConfigError(
            400,
            "invalid-argument",
            "Unsupported API version",
            name="api-version",
            detail=f"The HTTP resource that matches the request URI does not support the API version '{api_version}'.",
        )
    matched = _match(method, raw_path)
    if matched is None:
        raise AppConfigError.not_found()
    if matched is True:
        raise AppConfigError(405, None, "Method Not Allowed", headers={"Allow": _allowed(raw_path)})
    assert isinstance(matched, tuple)
    route, params = matched
    if route.handler is None:
        not_implemented = AppConfigError.not_implemented(method, raw_path).to_response()
        marked = {**not_implemented.headers, NOT_IMPLEMENTED_HEADER: route.operation}
        return FakeResponse(501, marked, not_implemented.body)
    _authorize(store, route, caller)
    with store.lock:
        call = ops.Call(store, request, query, caller, service.clock.now(), params)
        reply = route.handler(call)
    out = dict(headers)
    out.update(reply.headers)
    if reply.body is None and reply.payload is None:
        return FakeResponse(reply.status, out, b"")
    out["Content-Type"] = reply.content_type or "application/json; charset=utf-8"
    body = reply.body if reply.body is not None else json.dumps(reply.payload, separators=(",", ":")).encode()
    return FakeResponse(reply.status, out, body)
