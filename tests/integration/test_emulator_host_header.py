"""A malformed ``Host`` header (a port that is not a number, out of range, two ports, a broken IPv6 literal) is the
client's mistake: the emulator answers 400 with a JSON error, never a 500, and keeps serving."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator

import pytest

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.serve.emulator import EmulatorServer

pytest.importorskip("uvicorn")

BAD_HOSTS = [
    "localhost:abc",
    "localhost:99999",
    "localhost:8443:1",
    "[zz",
    "myvault.localhost:-1",
]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with FakeKeyVault().serve() as running:
        yield running


def _raw_request(server: EmulatorServer, host: str, path: str, method: str = "GET") -> tuple[int, bytes]:
    """Send one request with exactly this ``Host`` header (no client library would let it through)."""
    context = ssl.create_default_context(cafile=str(server.ca_path))
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n"
            "Authorization: Bearer x\r\nConnection: close\r\n\r\n"
        )
        tls.sendall(head.encode("latin-1"))
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, body = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), body


@pytest.mark.parametrize("host", BAD_HOSTS)
@pytest.mark.parametrize("path", ["/secrets/db?api-version=7.5", "/_kvconfig/health", "/_kvconfig/dump?reveal=1"])
def test_malformed_host_header_is_a_400_not_a_500(server: EmulatorServer, host: str, path: str) -> None:
    status, body = _raw_request(server, host, path)
    assert status == 400
    error = json.loads(body)["error"]
    assert error["code"] == "BadRequest"
    assert "Host" in error["message"]


def test_the_emulator_keeps_serving_after_malformed_hosts(server: EmulatorServer) -> None:
    for host in BAD_HOSTS:
        _raw_request(server, host, "/")
    status, body = _raw_request(server, f"localhost:{server.port}", "/_kvconfig/health")
    assert status == 200
    assert json.loads(body)["status"] == "ok"
