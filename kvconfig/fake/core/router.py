"""The REST layer: from (method, URL, headers, body) to (status, headers, body).

It finds the vault from the host, answers the 401 challenge, checks the token and the api-version, matches the route,
applies injected faults, runs the operation and renders its result or error as the service does. It knows nothing of
any HTTP library: the adapters in :mod:`kvconfig.fake.serve` are thin shells around it. It reaches the service only
through :class:`~kvconfig.fake.core.routing.ServiceHost`, and the control layer (access, throttling, audit, events)
only through the hooks the host lists.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass

from kvconfig.fake.core.api_versions import LATEST, at_least, is_known
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.identity import Identity
from kvconfig.fake.core.records import RequestRecord, client_address
from kvconfig.fake.core.routing import OperationContext, Route, ServiceHost
from kvconfig.fake.core.wire import ConnectionFault, FakeRequest, FakeResponse, json_response

__all__ = ["NOT_IMPLEMENTED_HEADER", "Outcome", "RequestRecord", "client_address", "dispatch"]

NOT_IMPLEMENTED_HEADER = "x-kvconfig-not-implemented"
_LOG = logging.getLogger("kvconfig.fake")
_COUNTS_LOCK = threading.Lock()


def _object_id(payload: object) -> str | None:
    if not isinstance(payload, dict):
        return None
    found = payload.get("id")
    key = payload.get("key")
    if found is None and isinstance(key, dict):
        found = key.get("kid")
    return found if isinstance(found, str) else None


@dataclass(frozen=True)
class Outcome:
    """The router's answer: a response or a connection fault, and how long the adapter should wait first."""

    response: FakeResponse | None
    fault: ConnectionFault | None = None
    delay: float = 0.0


# Sent on every answer, as the service sends them (recorded answers of the service show each of these).
_SERVICE_HEADERS = {
    "Pragma": "no-cache",
    "Expires": "-1",
    "Strict-Transport-Security": "max-age=31536000;includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "x-ms-keyvault-region": "kvconfig-fake",
    "x-ms-keyvault-network-info": "conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;",
}
# A client request id longer than this is not echoed (every input is bounded; the SDK sends a 36-character GUID).
_MAX_CLIENT_REQUEST_ID = 256
_IDS = random.Random()
# The api-versions whose 401 names MTLS_POP tokens; older ones get the older wording.
_MTLS_POP_WORDING_SINCE = "2025-07-01"


def _request_id() -> str:
    """A random GUID per request, as the service's ``x-ms-request-id`` (not a secret: a fast generator is enough)."""
    return str(uuid.UUID(int=_IDS.getrandbits(128), version=4))


def _response_headers(request: FakeRequest) -> dict[str, str]:
    headers = {"x-ms-request-id": _request_id(), **_SERVICE_HEADERS}
    client_id = request.header("x-ms-client-request-id")
    if client_id and len(client_id) <= _MAX_CLIENT_REQUEST_ID and client_id.isprintable():
        headers["x-ms-client-request-id"] = client_id
    return headers


def _challenge_header(resource: str, authority: str, tenant: str) -> str:
    return f'Bearer authorization="{authority}/{tenant}", resource="{resource}"'


def _error_response(error: ServiceError, extra: dict[str, str] | None = None) -> FakeResponse:
    headers = dict(error.headers)
    if extra:
        headers.update(extra)
    return json_response(error.status, error.body(), headers)


def dispatch(service: ServiceHost, request: FakeRequest) -> Outcome:
    started = time.perf_counter()
    method = request.method.upper()
    _scheme, hostname, path, port = request.parts
    host = hostname if port in (None, 443) else f"{hostname}:{port}"
    located = service.locate_vault(host)
    if located is None:
        return Outcome(
            None,
            ConnectionFault(
                "dns",
                f"Failed to resolve '{hostname}' ([Errno -2] Name or service not "
                "known) (no such vault in the kvconfig fake).",
            ),
        )
    vault, domain = located
    base_headers = _response_headers(request)
    identity: Identity | None = None
    route: Route | None = None
    object_id: str | None = None
    delay = 0.0
    try:
        authorization = request.header("Authorization") or ""
        scheme_name, _, token = authorization.partition(" ")
        if scheme_name.lower() != "bearer" or not token.strip():
            asked = request.query.get("api-version", "")
            raise ServiceError.missing_token(newest=not is_known(asked) or at_least(asked, _MTLS_POP_WORDING_SINCE))
        identity = service.tokens.verify(token.strip(), domain.resource)
        api_version = request.query.get("api-version", "")
        if not api_version:
            raise ServiceError.missing_api_version()
        if not is_known(api_version):
            raise ServiceError.unknown_api_version(api_version, LATEST)
        matched = service.routes.match(method, path)
        if matched is None:
            if service.routes.allowed_methods(path):
                raise ServiceError(405, "MethodNotAllowed", f"The method {method} is not allowed on {path}.")
            raise ServiceError.route_not_found(method, path)
        route, params = matched
        if vault.properties.kind not in route.kinds:
            raise ServiceError.bad_parameter(
                f"The operation {route.operation} is not supported by this kind of vault ({vault.properties.kind})."
            )
        if not at_least(api_version, route.since):
            raise ServiceError.bad_parameter(
                f"The operation {route.operation} is not available in api-version {api_version}; it needs "
                f"{route.since} or newer."
            )
        if route.handler is None:
            response = json_response(
                501, ServiceError.not_implemented(method, path).body(), {NOT_IMPLEMENTED_HEADER: route.operation}
            )
            return Outcome(_finish(service, request, route, vault.name, identity, response, started, base_headers))
        fault = service.faults.pick(request, route.operation, vault.name, identity.name if identity else None)
        if fault is not None:
            delay = fault.delay
            try:
                fault.fire()
            except ConnectionFault as connection_fault:
                _notify(service, request, route, vault.name, identity, 0, connection_fault.kind, started, base_headers)
                return Outcome(None, connection_fault, delay)
        now = service.clock.now()
        vault.sweep(now, progress=now + service.skipped_waits)
        for hook in service.tick_hooks:
            hook(service, vault, now)
        context = OperationContext(
            service=service,
            vault=vault,
            request=request,
            route=route,
            params=params,
            api_version=api_version,
            now=int(now),
            identity=identity,
        )
        for authorize in service.authorizers:
            authorize(context)
        payload = route.handler(context)
        object_id = _object_id(payload)
        headers = {**base_headers, **context.response_headers} if context.response_headers else base_headers
        response = json_response(route.success, payload if route.success != 204 else None, headers)
    except ServiceError as error:
        extra = base_headers
        if error.status == 401:
            challenge = _challenge_header(domain.resource, domain.authority, vault.properties.tenant_id)
            extra = {**base_headers, "WWW-Authenticate": challenge}
            if vault.properties.kind == "managedhsm":
                # Managed HSM answers its 401s with the challenge header and no body (recorded answers show it).
                response = FakeResponse(401, {**error.headers, **extra, "Content-Length": "0"}, b"")
                final = _finish(service, request, route, vault.name, identity, response, started, base_headers)
                return Outcome(final, None, delay)
        response = _error_response(error, extra)
    except Exception as unexpected:  # the service never lets a request die: it answers 500
        # Counted so a test of the fake fails on it (``fake.unhandled_errors.count``); logged without the message,
        # which may quote the request body.
        found = service.unhandled_errors.record(route.operation if route else None, method, unexpected)
        _LOG.error("kvconfig fake: unhandled exception answered as 500: %s", found)
        response = _error_response(ServiceError.internal_error(), base_headers)
    final = _finish(service, request, route, vault.name, identity, response, started, base_headers, object_id)
    return Outcome(final, None, delay)


def _finish(
    service: ServiceHost,
    request: FakeRequest,
    route: Route | None,
    vault: str,
    identity: Identity | None,
    response: FakeResponse,
    started: float,
    headers: dict[str, str],
    object_id: str | None = None,
) -> FakeResponse:
    # Responses built with the base headers already carry them; others (errors, 501) get them merged in.
    if headers.items() <= response.headers.items():
        final = response
    else:
        final = FakeResponse(response.status, {**headers, **response.headers}, response.body)
    error_code = None
    if final.status >= 400:
        body = final.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error_code = str(body["error"].get("code"))
    _notify(service, request, route, vault, identity, final.status, error_code, started, headers, object_id)
    return final


def _notify(
    service: ServiceHost,
    request: FakeRequest,
    route: Route | None,
    vault: str,
    identity: Identity | None,
    status: int,
    error_code: str | None,
    started: float,
    headers: dict[str, str] | None = None,
    object_id: str | None = None,
) -> None:
    if route is not None:
        # Counter's += is a read and a write: without the lock, concurrent requests lose counts.
        with _COUNTS_LOCK:
            service.operation_counts[route.operation] += 1
    if not service.listeners:
        return
    record = RequestRecord(
        time=service.clock.now(),
        method=request.method.upper(),
        url=request.url,
        operation=route.operation if route else None,
        vault=vault,
        identity=identity,
        status=status,
        error_code=error_code,
        duration=time.perf_counter() - started,
        client_ip=client_address(request, identity),
        request_id=(headers or {}).get("x-ms-request-id"),
        user_agent=request.header("User-Agent"),
        object_id=object_id,
    )
    for listener in service.listeners:
        listener(record)
