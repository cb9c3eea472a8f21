"""Reaching the emulator's vaults with no name resolution of ``*.localhost``: the official SDK clients, told
``HTTPS_PROXY`` (or ``proxies=``), go through the emulator's ``CONNECT`` tunnel with their challenge-resource check
on, while every lookup of a ``*.localhost`` name in this process fails (as in a container whose resolver knows only
``localhost``)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets.aio import SecretClient as AsyncSecretClient

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.serve.emulator import EmulatorServer

from .emulator_support import refuse_localhost_subdomains

pytest.importorskip("uvicorn")


@pytest.fixture
def fake() -> FakeKeyVault:
    return FakeKeyVault()


@pytest.fixture
def server(fake: FakeKeyVault) -> Iterator[EmulatorServer]:
    with fake.serve(tunnel_port=0) as running:
        yield running


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return refuse_localhost_subdomains(monkeypatch)


def test_without_the_tunnel_the_vault_names_do_not_resolve_here(
    fake: FakeKeyVault, server: EmulatorServer, lookups: list[str]
) -> None:
    client = SecretClient(server.url_for("myvault"), fake.credential(), connection_verify=str(server.ca_path))
    with client, pytest.raises(ServiceRequestError):
        client.get_secret("anything", retry_total=0)
    assert lookups  # the precondition of the tests below: this process cannot resolve *.localhost


def test_sync_client_through_the_tunnel_talks_to_two_vaults_with_the_challenge_check_on(
    fake: FakeKeyVault, server: EmulatorServer, lookups: list[str]
) -> None:
    assert server.proxy_url is not None
    proxies = {"https": server.proxy_url}
    for vault, value in (("billing", "b-1"), ("orders", "o-1")):
        url = server.url_for(vault)
        with SecretClient(url, fake.credential(), connection_verify=str(server.ca_path), proxies=proxies) as client:
            assert client._client._config.authentication_policy._verify_challenge_resource is True
            client.set_secret("db-password", value)
            assert client.get_secret("db-password").value == value
    assert fake.get_secret_value(server.url_for("billing"), "db-password") == "b-1"
    assert fake.get_secret_value(server.url_for("orders"), "db-password") == "o-1"
    assert lookups == []  # nothing asked the resolver for a *.localhost name


async def test_async_client_honours_https_proxy_from_the_environment(
    fake: FakeKeyVault, server: EmulatorServer, lookups: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert server.proxy_url is not None
    monkeypatch.setenv("HTTPS_PROXY", server.proxy_url)
    fake.set_secret(server.url_for("myvault"), "api-key", "k-1")
    async with (
        fake.async_credential() as credential,
        AsyncSecretClient(server.url_for("myvault"), credential, connection_verify=str(server.ca_path)) as client,
    ):
        assert (await client.get_secret("api-key")).value == "k-1"
    assert lookups == []


def _connect(server: EmulatorServer, request: bytes) -> bytes:
    assert server.tunnel_port is not None
    with socket.create_connection(("127.0.0.1", server.tunnel_port), timeout=5) as raw:
        raw.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := raw.recv(4096)):
            answer += chunk
        return answer


@pytest.mark.parametrize(
    "target",
    ["example.com:443", "169.254.169.254:80", "myvault.localhost:22", "10.0.0.1:{port}", "login.localhost.evil:{port}"],
)
def test_the_tunnel_refuses_every_target_but_the_emulators_own_port_on_loopback(
    server: EmulatorServer, target: str
) -> None:
    target = target.format(port=server.port)
    answer = _connect(server, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 403 "), answer


def test_the_tunnel_answers_a_plain_request_with_what_it_is_for(server: EmulatorServer) -> None:
    answer = _connect(server, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 405 ")


def test_the_tunnel_bounds_the_request_head(server: EmulatorServer) -> None:
    answer = _connect(server, b"CONNECT myvault.localhost:1 HTTP/1.1\r\nX: " + b"a" * 20_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_the_tunnel_carries_tls_for_the_vault_name_it_was_asked_for(server: EmulatorServer) -> None:
    assert server.tunnel_port is not None
    with socket.create_connection(("127.0.0.1", server.tunnel_port), timeout=5) as raw:
        raw.sendall(f"CONNECT billing.localhost:{server.port} HTTP/1.1\r\n\r\n".encode())
        assert raw.recv(4096).startswith(b"HTTP/1.1 200 ")
        context = ssl.create_default_context(cafile=str(server.ca_path))
        with context.wrap_socket(raw, server_hostname="billing.localhost") as tls:
            tls.sendall(f"GET /healthstatus HTTP/1.1\r\nHost: billing.localhost:{server.port}\r\n\r\n".encode())
            assert tls.recv(4096).startswith(b"HTTP/1.1 ")
