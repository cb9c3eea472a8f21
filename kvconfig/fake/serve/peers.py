"""Who is really on the other end of a connection the emulator's tunnel made on a client's behalf.

The tunnel (``tunnel.py``) joins a client to the emulator through a connection of its own, from a loopback address;
without this table the emulator would take every tunnelled client for a loopback peer, and a client beyond loopback
could reach the control API and the portal (loopback only) or pass the vaults' network rules as ``127.0.0.1``. The
tunnel records each connection it makes (its local address and port, as the emulator sees them) with the address of
the client it carries, before that client can send a byte; the ASGI app asks here for the peer of every request.
"""

from __future__ import annotations

import threading

__all__ = ["TunnelPeers"]


class TunnelPeers:
    """The clients behind the tunnel's open connections to the emulator: ``(address, port)`` -> client address."""

    def __init__(self) -> None:
        self._peers: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        with self._lock:
            return f"TunnelPeers({len(self._peers)} open)"

    def add(self, local: tuple[str, int], client: str) -> None:
        """The tunnel's connection from ``local`` carries ``client``."""
        with self._lock:
            self._peers[_key(local)] = client

    def discard(self, local: tuple[str, int]) -> None:
        """The tunnel's connection from ``local`` is closed."""
        with self._lock:
            self._peers.pop(_key(local), None)

    def peer_of(self, seen: tuple[str, int] | None) -> str | None:
        """The address of the client behind the connection the emulator saw from ``seen`` (``(host, port)``)."""
        if seen is None:
            return None
        with self._lock:
            return self._peers.get(_key(seen), str(seen[0]))


def _key(address: tuple[str, int]) -> tuple[str, int]:
    host = str(address[0]).split("%")[0].lower()
    host = host.removeprefix("::ffff:") if host.startswith("::ffff:") and "." in host else host
    return host, int(address[1])
