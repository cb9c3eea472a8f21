"""The emulator's tunnel: an HTTP ``CONNECT`` proxy on loopback that reaches the emulator's vaults by name, so
clients need no name resolution for ``<vault>.localhost``.

A client told ``HTTPS_PROXY=http://127.0.0.1:<tunnel port>`` (every official Azure SDK honours it: Python's requests
and aiohttp, JavaScript's core-rest-pipeline, .NET's HttpClient, Java's azure-core, Go's net/http) resolves only the
proxy's address. It asks for ``CONNECT myvault.localhost:<port>``; the tunnel, without resolving anything, joins it
to the emulator's own socket, and the client's TLS session and requests go through unchanged: the same vault URL,
the same certificate name, the same ``Host`` header, so the SDKs' challenge-resource check passes as it would with
``*.localhost`` resolving.

It is not an open proxy: only loopback names and addresses on the emulator's own port get a tunnel (403 otherwise),
and every client input is bounded (request head size, time to send it, open tunnels). Nor does it launder a client:
each connection it makes to the emulator is recorded in ``peers`` (``peers.py``) with the client it carries, so a
client beyond loopback stays one to the control API, the portal and the vaults' network rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

from kvconfig.fake.serve.peers import TunnelPeers
from kvconfig.fake.serve.tls import is_loopback_name

__all__ = ["LoopbackTunnel"]

_MAX_HEAD = 8 * 1024
_HEAD_TIMEOUT = 10.0
_MAX_TUNNELS = 256
_CHUNK = 64 * 1024


class LoopbackTunnel:
    """A ``CONNECT`` proxy on ``sock`` that tunnels to ``target`` (the emulator's ``(host, port)``) only, telling
    the emulator through ``peers`` which client each of its connections carries."""

    def __init__(
        self, sock: socket.socket, target: Callable[[], tuple[str, int]], *, peers: TunnelPeers | None = None
    ) -> None:
        self._socket = sock
        self._target = target
        self.peers = peers if peers is not None else TunnelPeers()
        self._server: asyncio.AbstractServer | None = None
        self._open = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, sock=self._socket, limit=_MAX_HEAD)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._open += 1
        try:
            if self._open > _MAX_TUNNELS:
                await _answer(writer, 503, "Too many open tunnels.")
                return
            await self._tunnel(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._open -= 1
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEAD_TIMEOUT)
        except asyncio.TimeoutError:
            await _answer(writer, 408, "The CONNECT request took too long.")
            return
        except asyncio.LimitOverrunError:
            await _answer(writer, 431, "The request head is too large.")
            return
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        authority = rest.partition(" ")[0]
        if method.upper() != "CONNECT":
            await _answer(
                writer,
                405,
                "This is the kvconfig emulator's tunnel for HTTPS clients: set HTTPS_PROXY to it and keep the vault "
                "URLs (https://<vault>.localhost:<port>).",
            )
            return
        host, port = _split_authority(authority)
        target_host, target_port = self._target()
        if host is None or port != target_port or not is_loopback_name(host):
            await _answer(
                writer,
                403,
                f"The kvconfig emulator's tunnel only reaches its own vaults, <vault>.localhost:{target_port}.",
            )
            return
        client = writer.get_extra_info("peername")
        if not client:
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(target_host, target_port)
        local = upstream_writer.get_extra_info("sockname")
        # Recorded before the client hears "200": the emulator can never see a byte of it as a loopback peer's.
        self.peers.add((str(local[0]), int(local[1])), str(client[0]))
        try:
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            upstream_writer.close()
            with contextlib.suppress(Exception):
                await upstream_writer.wait_closed()
            self.peers.discard((str(local[0]), int(local[1])))


def _split_authority(authority: str) -> tuple[str | None, int | None]:
    host, sep, port_text = authority.rpartition(":")
    if not sep or not port_text.isdigit() or len(port_text) > 5:
        return None, None
    host = host.removeprefix("[").removesuffix("]").lower().rstrip(".")
    return (host or None), int(port_text)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            if writer.can_write_eof():
                writer.write_eof()


async def _answer(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    reasons = {403: "Forbidden", 405: "Method Not Allowed", 408: "Request Timeout", 431: "Too Large", 503: "Busy"}
    body = (message + "\n").encode()
    writer.write(
        f"HTTP/1.1 {status} {reasons.get(status, 'Error')}\r\ncontent-type: text/plain\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(OSError):
        await writer.drain()
