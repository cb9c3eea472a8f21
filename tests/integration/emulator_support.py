"""Helpers of the emulator's integration tests: name resolution of ``*.localhost`` for this process's clients, and
``kvconfig fake serve`` run as a child process (started, waited for through its ready file, stopped) with a static
credential for the tokens its token endpoint hands out; the control API as a peer beyond loopback sees it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken

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


@contextlib.contextmanager
def fake_serve(args: list[str], env: Mapping[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """``python -m kvconfig fake serve ARGS`` in a child process (stderr piped; ``PYTHONWARNINGS=error`` unless ``env``
    is given), killed on the way out if the test did not stop it (:func:`stop_serving`)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kvconfig", "fake", "serve", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env) if env is not None else {**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def wait_for_ready(path: Path, process: subprocess.Popen[str], limit: float = 60.0) -> dict[str, Any]:
    """The emulator's ready file once it is written (the child's stderr tail if it exits first)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-3000:]
        if path.exists():
            loaded: dict[str, Any] = json.loads(path.read_text())
            return loaded
        time.sleep(0.02)
    raise AssertionError(f"no ready file at {path}")


def stop_serving(process: subprocess.Popen[str], timeout: float = 15) -> str:
    """SIGTERM, as a terminal's Ctrl-C or a container's stop: the emulator exits 0; its stderr."""
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr
    return stderr


class StaticCredential:
    """A token credential handing out one token (from the emulator's token endpoint); the scopes asked for, in order."""

    def __init__(self, token: str) -> None:
        self.token = AccessToken(token, int(time.time()) + 3600)
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return self.token


def remote_control(server: EmulatorServer, peer: str) -> httpx.AsyncClient:
    """The emulator's control API through its own ASGI app, reached as if from ``peer`` (a live socket only ever
    sees loopback here)."""
    transport = httpx.ASGITransport(app=server.app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url=f"{server.base_url}/_kvconfig")
