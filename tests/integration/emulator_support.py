"""Helpers of the emulator's integration tests: name resolution of ``*.localhost`` for this process's clients, and
the control API as a peer beyond loopback sees it."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from kvconfig.fake.serve.emulator import EmulatorServer

_real_getaddrinfo = socket.getaddrinfo


def localhost_subdomains_resolve() -> bool:
    try:
        return all(info[4][0] in ("127.0.0.1", "::1") for info in _real_getaddrinfo("myvault.localhost", 443))
    except OSError:
        return False


def resolve_localhost_subdomains(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``*.localhost`` resolve to 127.0.0.1 in this process where the machine's resolver does not."""
    if localhost_subdomains_resolve():
        return

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.lower().endswith(".localhost"):
            host = "127.0.0.1"
        return _real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def refuse_localhost_subdomains(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every ``*.localhost`` lookup fail in this process (a container whose resolver does not know them);
    returns the names that were looked up."""
    asked: list[str] = []

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.lower().rstrip(".").endswith(".localhost"):
            asked.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return _real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def remote_control(server: EmulatorServer, peer: str) -> httpx.AsyncClient:
    """The emulator's control API through its own ASGI app, reached as if from ``peer`` (a live socket only ever
    sees loopback here)."""
    transport = httpx.ASGITransport(app=server.app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url=f"{server.base_url}/_kvconfig")
