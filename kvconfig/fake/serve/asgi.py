"""The ASGI adapter: the fake as an ASGI 3 application, for the loopback HTTPS emulator (``kvconfig fake serve``).

Framework-free and thin, like the other adapters: it reads the method, the URL the client asked for (always
``https``, with the ``Host`` header's port, since vault ids and ``nextLink`` carry it), the headers and the body, and
hands them to the router. Vault hosts are ``<name>.localhost:<port>`` (registered on first sight of the port) and
every host the fake already knows (``*.vault.azure.net`` when a hosts file or a proxy sends that ``Host``); the
emulator's own host (``localhost:<port>``) serves the token endpoints of ``token_endpoints.py`` and the read-only
portal of ``portal.py`` (``/_kvconfig/portal``).

Connection faults behave like a network's: ``drop`` and ``dns`` (a strict fake's unknown vault) close the connection
without a response; ``timeout`` sends nothing until the client gives up (or ``timeout_hold`` seconds pass, then the
connection is closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from kvconfig.fake.core.clouds import loopback_domains, match_domain
from kvconfig.fake.core.wire import FakeRequest, FakeResponse, json_response
from kvconfig.fake.persist import PersistenceError
from kvconfig.fake.serve.host import Dispatcher, ServedService, StoreService
from kvconfig.fake.serve.peers import TunnelPeers
from kvconfig.fake.serve.portal import Portal
from kvconfig.fake.serve.token_endpoints import serve_identity

if TYPE_CHECKING:
    from kvconfig.fake.core.wire import ConnectionFault
    from kvconfig.fake.serve.control_api import ControlApi

__all__ = ["FakeKeyVaultApp", "asgi_app"]

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 4 * 1024 * 1024
"""The largest request body the emulator reads: a few MB, like the service (a secret value's own limit, 25 KB, is
the operation's, with the service's 400); a larger one gets 413 without being buffered."""

_LOOPBACK_VAULT_HOST = re.compile(r"^[a-z0-9-]+\.(?:managedhsm\.)?localhost(?::(?P<port>\d{1,5}))?$")


def asgi_app(
    fake: ServedService, *, timeout_hold: float = 60.0, max_body_bytes: int = MAX_BODY_BYTES
) -> FakeKeyVaultApp:
    """The ASGI 3 application serving ``fake`` (run it with any ASGI server, over TLS: clients require https)."""
    return FakeKeyVaultApp(fake, timeout_hold=timeout_hold, max_body_bytes=max_body_bytes)


class FakeKeyVaultApp:
    """An ASGI 3 application over a :class:`~kvconfig.fake.FakeKeyVault`."""

    def __init__(
        self,
        fake: ServedService,
        *,
        timeout_hold: float = 60.0,
        max_body_bytes: int = MAX_BODY_BYTES,
        control: ControlApi | None = None,
        stores: StoreService | None = None,
        peers: TunnelPeers | None = None,
    ) -> None:
        self.fake = fake
        self.stores = stores  # App Configuration stores on their own hosts (<store>.azconfig.localhost:<port>)
        # The clients behind the emulator's tunnel (peers.py): a tunnelled client is never taken for a loopback one.
        self.peers = peers if peers is not None else TunnelPeers()
        self.timeout_hold = timeout_hold
        self.max_body_bytes = max_body_bytes
        self.control = control  # the /_kvconfig/... control API (control_api.py), when the emulator has one
        # The read-only portal (/_kvconfig/portal, loopback only): see portal.py.
        self.portal = Portal(fake, stores)

    def __repr__(self) -> str:
        return f"FakeKeyVaultApp({self.fake!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        body = await _read_body(scope, receive, self.max_body_bytes)
        if body is None:
            await _respond(send, _too_large(self.max_body_bytes))
            return
        client = scope.get("client")
        peer = self.peers.peer_of((str(client[0]), int(client[1]))) if client else None
        request = _to_fake_request(scope, body, peer)
        try:
            _ = request.parts  # a Host header no URL can hold (port "abc", 99999, "[zz") is the client's mistake
        except ValueError:
            await _respond(send, _bad_host())
            return
        self._ensure_loopback_domain(request)
        _, hostname, _, port = request.parts
        host = hostname if port in (None, 443) else f"{hostname}:{port}"
        if self.stores is not None and self.stores.serves_host(host):
            await self._dispatch(self.stores, request, receive, send)
            return
        if match_domain(host, self.fake.domains) is None:
            try:
                response = await asyncio.to_thread(self._serve_own_host, request, peer)
            except PersistenceError as exc:
                response = _not_saved(exc)
            await _respond(send, response)
            return
        await self._dispatch(self.fake, request, receive, send)

    async def _dispatch(self, service: Dispatcher, request: FakeRequest, receive: Receive, send: Send) -> None:
        """One request to a service's router: its answer, after the service's latency, or its connection fault."""
        # On a worker thread: an operation may take a while (certificate and RSA key generation) and must not stall
        # the event loop that serves every other connection. The router is thread-safe.
        try:
            outcome = await asyncio.to_thread(service.dispatch, request)
        except PersistenceError as exc:  # the write happened in memory but is not durable: never acknowledge it
            await _respond(send, _not_saved(exc))
            return
        wait = service.latency + outcome.delay
        if wait > 0:
            await asyncio.sleep(wait)
        if outcome.fault is not None:
            await self._fail_connection(outcome.fault, receive, send)
            return
        assert outcome.response is not None
        await _respond(send, outcome.response)

    def _serve_own_host(self, request: FakeRequest, peer: str | None) -> FakeResponse:
        """The emulator's own host: the portal, the control API, the token endpoints, or 404."""
        found = self.portal.serve(request)
        if found is None and self.control is not None:
            found = self.control.handle(request, peer)
        if found is None:
            found = serve_identity(self.fake, request)
        return found if found is not None else _not_found(request)

    def _ensure_loopback_domain(self, request: FakeRequest) -> None:
        _, hostname, _, port = request.parts
        if not hostname.endswith(".localhost") or not _LOOPBACK_VAULT_HOST.match(hostname):
            return
        self.fake.add_domains(*loopback_domains(port or 443))

    async def _fail_connection(self, fault: ConnectionFault, receive: Receive, send: Send) -> None:
        if fault.kind == "timeout":
            # Like a server that never answers: the client's read timeout decides; the hold only bounds the wait.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(_until_disconnected(receive), self.timeout_hold)
        await _abort(receive, send)


def _to_fake_request(scope: Scope, body: bytes, peer: str | None) -> FakeRequest:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", 443)
        host = str(server[0]) if server[1] in (None, 443) else f"{server[0]}:{server[1]}"
    # The emulator is the edge: the address it saw (behind the tunnel, the tunnelled client's) replaces whatever a
    # client claims (network rules and the portal use it).
    if peer:
        headers["x-forwarded-for"] = peer
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope.get("path", "/")
    query = scope.get("query_string", b"").decode("latin-1")
    url = f"https://{host.lower()}{path}" + (f"?{query}" if query else "")
    return FakeRequest(scope["method"], url, headers, body)


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The request body, or ``None`` once it is known to be over ``limit`` (from ``Content-Length``, before reading
    any of it, or while reading a chunked one): never more than ``limit`` bytes are held."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            with contextlib.suppress(ValueError):
                if int(value) > limit:
                    return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _not_saved(exc: PersistenceError) -> FakeResponse:
    return json_response(
        503,
        {"error": {"code": "StateNotSaved", "message": f"{exc} The request was not acknowledged; retry it."}},
        {"Retry-After": "1"},
    )


def _bad_host() -> FakeResponse:
    message = "The Host header is not a host name with an optional port from 0 to 65535."
    return json_response(400, {"error": {"code": "BadRequest", "message": message}})


def _too_large(limit: int) -> FakeResponse:
    return json_response(
        413,
        {
            "error": {
                "code": "RequestBodyTooLarge",
                "message": f"The request body is larger than the limit of {limit} bytes.",
            }
        },
        {"Connection": "close"},
    )


async def _respond(send: Send, response: FakeResponse) -> None:
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode("ascii")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def _not_found(request: FakeRequest) -> FakeResponse:
    _, hostname, path, _ = request.parts
    return json_response(
        404,
        {
            "error": {
                "code": "NotFound",
                "message": f"{hostname} is not a vault host of this kvconfig fake and {path} is none of its token "
                "endpoints. Vaults are https://<name>.localhost:<port>.",
            }
        },
    )


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _until_disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _abort(receive: Receive, send: Send) -> None:
    """Close the connection without a response.

    ASGI has no message for that. Under uvicorn, ``receive`` is a method of the request cycle, which holds the
    connection's transport: aborting it is what a dropped connection looks like to the client, and uvicorn, seeing
    the client gone, sends nothing more. Elsewhere, fall back to a response cut short: a status line promising a body
    that never comes, which every ASGI server ends by closing the connection.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    abort = getattr(transport, "abort", None)
    if callable(abort):
        abort()
        # Let connection_lost run, so the server marks the request disconnected before this app returns.
        for _ in range(3):
            await asyncio.sleep(0)
        return
    await send({"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"1")]})
