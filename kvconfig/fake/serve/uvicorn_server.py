"""uvicorn's server, tuned for the emulator: shutting down promptly while clients hold idle keep-alive connections.

Imported only once uvicorn is known to be installed (``_emulator`` imports it lazily).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn

__all__ = ["EmulatorUvicornServer"]

# How long an idle connection gets to answer the TLS close_notify before it is cut.
_IDLE_CLOSE_GRACE = 0.2


class EmulatorUvicornServer(uvicorn.Server):
    """A uvicorn server whose shutdown does not wait on idle keep-alive clients.

    uvicorn closes an idle connection with a TLS close_notify, and asyncio keeps it open until the peer answers;
    a client idling in its connection pool (requests, aiohttp) never does, so every stop waited out the whole
    graceful timeout (3 s). Idle connections still open after a short grace are aborted; connections with a
    request in flight keep the graceful timeout to finish.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        reaper = asyncio.create_task(self._abort_idle_connections())
        try:
            await super().shutdown(sockets)
        finally:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper

    async def _abort_idle_connections(self) -> None:
        await asyncio.sleep(_IDLE_CLOSE_GRACE)
        for connection in list(self.server_state.connections):
            cycle = getattr(connection, "cycle", None)
            if cycle is not None and not getattr(cycle, "response_complete", True):
                continue
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
