"""The tunnel does not launder a remote client into a loopback one: a client beyond loopback that reaches the
emulator through its ``CONNECT`` tunnel is still that client to the control API and the portal (which answer loopback
peers only, or control-token holders), and to the vaults' network rules (``X-Forwarded-For``)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import pytest

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.core.clock import SystemClock
from kvconfig.fake.serve.emulator import EmulatorServer

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

CONTROL_TOKEN = "a-long-control-token-for-remote-peers"


def _non_loopback_address() -> str:
    """An address of this machine beyond loopback (no packet is sent: a UDP socket only picks a route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))
        except OSError:
            pytest.skip("this machine has no route beyond loopback")
        address = str(probe.getsockname()[0])
    if address.startswith("127.") or address == "0.0.0.0":
        pytest.skip("this machine has no address beyond loopback")
    return address


@pytest.fixture
def remote_address() -> str:
    return _non_loopback_address()


@pytest.fixture
def fake() -> FakeKeyVault:
    fake = FakeKeyVault()
    fake.seed({"vaults": {"https://myvault.vault.azure.net": {"secrets": {"db-password": "hunter2-value"}}}})
    return fake


@pytest.fixture
def server(fake: FakeKeyVault) -> Iterator[EmulatorServer]:
    with fake.serve(host="0.0.0.0", tunnel_port=0, control_token=CONTROL_TOKEN) as running:
        yield running


def _through_tunnel(server: EmulatorServer, remote_address: str) -> httpx.Client:
    """A client that reaches the tunnel from ``remote_address``, as a machine on the network would."""
    context = ssl.create_default_context(cafile=str(server.ca_path))
    proxy = f"http://{remote_address}:{server.tunnel_port}"
    return httpx.Client(verify=context, proxy=proxy, timeout=10)


def _own_url(server: EmulatorServer, path: str) -> str:
    return f"https://localhost:{server.port}{path}"


def test_remote_client_through_the_tunnel_cannot_dump_values_without_the_control_token(
    server: EmulatorServer, remote_address: str
) -> None:
    with _through_tunnel(server, remote_address) as client:
        refused = client.get(_own_url(server, "/_kvconfig/dump?reveal=1"))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "Forbidden"
        assert "hunter2-value" not in refused.text
        allowed = client.get(
            _own_url(server, "/_kvconfig/dump?reveal=1"), headers={"Authorization": f"Bearer {CONTROL_TOKEN}"}
        )
        assert allowed.status_code == 200
        assert "hunter2-value" in allowed.text


def test_remote_client_through_the_tunnel_cannot_change_the_emulator(
    server: EmulatorServer, remote_address: str, fake: FakeKeyVault
) -> None:
    with _through_tunnel(server, remote_address) as client:
        refused = client.post(_own_url(server, "/_kvconfig/clock"), json={"advance": 86400})
    assert refused.status_code == 403
    assert isinstance(fake.clock, SystemClock)  # untouched: a refused request changes nothing


def test_remote_client_through_the_tunnel_gets_no_portal(server: EmulatorServer, remote_address: str) -> None:
    with _through_tunnel(server, remote_address) as client:
        page = client.get(_own_url(server, "/_kvconfig/portal"))
    assert page.status_code == 403
    assert 'name="kvconfig-portal-token"' not in page.text


def test_loopback_client_through_the_tunnel_is_still_a_loopback_peer(server: EmulatorServer) -> None:
    with _through_tunnel(server, "127.0.0.1") as client:
        dump = client.get(_own_url(server, "/_kvconfig/dump?reveal=1"))
        page = client.get(_own_url(server, "/_kvconfig/portal"))
    assert dump.status_code == 200
    assert "hunter2-value" in dump.text
    assert page.status_code == 200


def test_remote_client_through_the_tunnel_is_the_caller_the_audit_log_records(
    server: EmulatorServer, remote_address: str, fake: FakeKeyVault
) -> None:
    fake.set_secret(server.url_for("myvault"), "api-key", "k-1")
    with _through_tunnel(server, remote_address) as client:
        token = fake.credential().get_token(f"https://localhost:{server.port}/.default").token
        answer = client.get(
            server.url_for("myvault") + "/secrets/api-key?api-version=7.5",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200
    callers = {record.caller_ip_address for record in fake.audit.records(operation="SecretGet")}
    assert remote_address in callers
    assert not any(ip.startswith("127.") for ip in callers)
