"""The loopback HTTPS emulator: official SDK clients (sync, aiohttp), azure-identity credentials, raw HTTP and the
``kvconfig fake serve`` command, all over real TLS on 127.0.0.1 with the SDK's challenge-resource check left on.

``<vault>.localhost`` must resolve to loopback. systemd-resolved, nss-myhostname, macOS and Windows do that; where
this machine's resolver does not (plain ``files dns`` in a container), the ``loopback_names`` fixture makes
``socket.getaddrinfo`` answer 127.0.0.1 for ``*.localhost`` in this process, for the test's clients only.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.identity import ClientSecretCredential, ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets.aio import SecretClient as AsyncSecretClient
from click.testing import CliRunner

from kvconfig.cli import cli
from kvconfig.fake import FakeKeyVault, RequestRecord
from kvconfig.fake.serve.emulator import EmulatorServer, loopback_seed, unloopback_dump
from kvconfig.fake.serve.tls import LoopbackCertificateAuthority, is_loopback_address, is_loopback_name

pytest.importorskip("uvicorn")

_real_getaddrinfo = socket.getaddrinfo


def _localhost_resolves() -> bool:
    try:
        return all(info[4][0] in ("127.0.0.1", "::1") for info in _real_getaddrinfo("myvault.localhost", 443))
    except OSError:
        return False


@pytest.fixture(autouse=True)
def loopback_names(monkeypatch: pytest.MonkeyPatch) -> None:
    if _localhost_resolves():
        return

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.lower().endswith(".localhost"):
            host = "127.0.0.1"
        return _real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def fake() -> FakeKeyVault:
    return FakeKeyVault()


@pytest.fixture
def server(fake: FakeKeyVault) -> Iterator[EmulatorServer]:
    with fake.serve(port=0) as running:
        yield running


def _trusting(server: EmulatorServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.ca_path))


def _records(fake: FakeKeyVault) -> list[RequestRecord]:
    records: list[RequestRecord] = []
    fake.listeners.append(records.append)
    return records


def test_serve_binds_a_free_port_and_names_vaults_under_localhost(server: EmulatorServer) -> None:
    bound = server._server.servers[0].sockets[0].getsockname()[1]  # type: ignore[union-attr]
    assert server.port == bound != 0
    assert server.url_for("myvault") == f"https://myvault.localhost:{bound}"
    assert server.resource == f"https://localhost:{bound}"
    assert server.ca_path.is_file()


def test_sync_secret_client_with_challenge_verification_completes_set_get_list(
    fake: FakeKeyVault, server: EmulatorServer
) -> None:
    records = _records(fake)
    url = server.url_for("myvault")
    with SecretClient(url, fake.credential("app"), connection_verify=str(server.ca_path)) as client:
        assert client._client._config.authentication_policy._verify_challenge_resource is True
        created = client.set_secret("db-password", "s3cret")
        assert client.get_secret("db-password").value == "s3cret"
        assert [p.name for p in client.list_properties_of_secrets()] == ["db-password"]
    assert created.id.startswith(f"{url}/secrets/db-password/")
    assert records[0].status == 401  # the SDK's bodiless first request met the challenge and passed its check
    assert {r.identity.name for r in records[1:] if r.identity} == {"app"}
    assert fake.get_secret_value(url, "db-password") == "s3cret"


async def test_async_secret_client_over_aiohttp_with_ca_path(fake: FakeKeyVault, server: EmulatorServer) -> None:
    fake.set_secret(server.url_for("myvault"), "api-key", "k-1")
    async with (
        fake.async_credential() as credential,
        AsyncSecretClient(server.url_for("myvault"), credential, connection_verify=str(server.ca_path)) as client,
    ):
        await client.set_secret("other", "v")
        assert (await client.get_secret("api-key")).value == "k-1"
        assert sorted([p.name async for p in client.list_properties_of_secrets()]) == ["api-key", "other"]


def test_request_without_token_gets_401_with_challenge(server: EmulatorServer) -> None:
    response = httpx.get(f"{server.url_for('myvault')}/secrets/x?api-version=7.5", verify=_trusting(server))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        'Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", '
        f'resource="https://localhost:{server.port}"'
    )
    assert response.json()["error"]["code"] == "Unauthorized"


def test_tls_verification_fails_without_the_ca(server: EmulatorServer) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{server.url_for('myvault')}/secrets/x?api-version=7.5", verify=ssl.create_default_context())


def test_each_vault_name_gets_its_own_certificate_from_a_name_constrained_ca(server: EmulatorServer) -> None:
    context = _trusting(server)
    for name in ("myvault.localhost", "other-vault.localhost", "localhost"):
        with (
            socket.create_connection(("127.0.0.1", server.port)) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            certificate = tls.getpeercert()
        assert ("DNS", name) in certificate["subjectAltName"]
    with pytest.raises(ValueError, match="only vouches for localhost"):
        server.ca.issue_pem(["myvault.vault.azure.net"])


def test_vault_azure_net_host_header_is_served_as_that_vault(fake: FakeKeyVault, server: EmulatorServer) -> None:
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    fake.set_secret("myvault", "s", "public-cloud")
    response = httpx.get(
        f"https://127.0.0.1:{server.port}/secrets/s?api-version=7.5",
        headers={"Host": "myvault.vault.azure.net", "Authorization": f"Bearer {token}"},
        verify=_trusting(server),
    )
    assert response.status_code == 200
    assert response.json()["value"] == "public-cloud"
    assert response.json()["id"].startswith("https://myvault.vault.azure.net/secrets/s/")


def test_client_secret_credential_gets_named_tokens_from_the_emulator(
    fake: FakeKeyVault, server: EmulatorServer
) -> None:
    records = _records(fake)
    ca = str(server.ca_path)
    credential = ClientSecretCredential(
        fake.tenant_id,
        "ci-app",
        "any-secret",
        authority=server.authority,
        disable_instance_discovery=True,
        connection_verify=ca,
    )
    with credential, SecretClient(server.url_for("myvault"), credential, connection_verify=ca) as client:
        client.set_secret("s", "v")
    assert records[-1].identity is not None
    assert records[-1].identity.name == records[-1].identity.app_id == "ci-app"


def test_managed_identity_credential_uses_the_identity_endpoint_from_env(
    fake: FakeKeyVault, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    records = _records(fake)
    fake.set_secret(server.url_for("myvault"), "s", "v")
    with (
        ManagedIdentityCredential() as credential,
        SecretClient(server.url_for("myvault"), credential, connection_verify=str(server.ca_path)) as client,
    ):
        assert client.get_secret("s").value == "v"
    assert records[-1].identity is not None
    assert records[-1].identity.name == "managed-identity"


def test_dropped_connection_fault_closes_the_connection_without_a_response(
    fake: FakeKeyVault, server: EmulatorServer
) -> None:
    fake.set_secret(server.url_for("myvault"), "s", "v")
    fake.inject_fault(error="drop", operation="GetSecret", times=None)
    with (
        SecretClient(
            server.url_for("myvault"), fake.credential(), connection_verify=str(server.ca_path), retry_total=0
        ) as client,
        pytest.raises(ServiceResponseError, match="without response"),
    ):
        client.get_secret("s")


def test_timeout_fault_answers_nothing_until_the_client_gives_up(fake: FakeKeyVault, server: EmulatorServer) -> None:
    fake.inject_fault(error="timeout", operation="GetSecret")
    started = time.perf_counter()
    with (
        SecretClient(
            server.url_for("myvault"),
            fake.credential(),
            connection_verify=str(server.ca_path),
            retry_total=0,
            read_timeout=0.5,
        ) as client,
        pytest.raises(ServiceResponseError),
    ):
        client.get_secret("s")
    assert 0.5 <= time.perf_counter() - started < 5


def test_strict_fake_drops_connections_to_unknown_vaults(server: EmulatorServer) -> None:
    server.fake.strict = True
    with (
        SecretClient(
            server.url_for("nosuchvault"), server.fake.credential(), connection_verify=str(server.ca_path)
        ) as client,
        pytest.raises((ServiceRequestError, ServiceResponseError)),
    ):
        client.get_secret("s", retry_total=0)


def test_latency_delays_every_response(server: EmulatorServer) -> None:
    server.fake.latency = 0.2
    started = time.perf_counter()
    httpx.get(f"{server.url_for('myvault')}/secrets/x?api-version=7.5", verify=_trusting(server))
    assert time.perf_counter() - started >= 0.2


async def test_concurrent_requests_overlap_their_latency(fake: FakeKeyVault, server: EmulatorServer) -> None:
    url = server.url_for("myvault")
    fake.set_secret(url, "s", "v")
    async with (
        fake.async_credential() as credential,
        AsyncSecretClient(url, credential, connection_verify=str(server.ca_path)) as client,
    ):
        await client.get_secret("s")  # the challenge round trip, before timing
        fake.latency = 0.5
        started = time.perf_counter()
        values = await asyncio.gather(*(client.get_secret("s") for _ in range(8)))
    assert [secret.value for secret in values] == ["v"] * 8
    # Overlapping, the eight take one latency and a little; in turn, they would take 4 s. The room between (2.5 s,
    # many times the usual overhead) is for new TLS connections on a busy machine.
    assert time.perf_counter() - started < 3.0


def test_token_endpoint_rejects_other_grants_like_entra_id(server: EmulatorServer) -> None:
    response = httpx.post(
        f"{server.base_url}/common/oauth2/v2.0/token",
        data={"grant_type": "password", "client_id": "x"},
        verify=_trusting(server),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert response.json()["error_codes"] == [70003]


def test_loopback_seed_maps_bare_vault_names_and_dump_maps_them_back(fake: FakeKeyVault) -> None:
    seed = loopback_seed({"vaults": {"myvault": {"secrets": {"a": "1"}}, "x.vault.azure.net": {}}}, 8443)
    assert list(seed["vaults"]) == ["myvault.localhost:8443", "x.vault.azure.net"]
    assert list(unloopback_dump(seed, 8443)["vaults"]) == ["myvault", "x.vault.azure.net"]


def test_loopback_ca_is_reused_from_its_directory_and_vouches_only_for_loopback(tmp_path: Path) -> None:
    first = LoopbackCertificateAuthority.load_or_create(tmp_path)
    again = LoopbackCertificateAuthority.load_or_create(tmp_path)
    assert first.certificate == again.certificate
    assert (tmp_path / "ca-key.pem").stat().st_mode & 0o777 == 0o600
    assert all(map(is_loopback_name, ["a.b.localhost", "127.0.0.2", "::1"]))
    assert not any(map(is_loopback_name, ["localhost.evil.com", "10.0.0.1", "localhost."]))
    assert (tmp_path / "ca.pem").stat().st_mode & 0o777 == 0o644


def test_loopback_ca_refuses_to_write_through_a_symbolic_link(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.pem"
    elsewhere.write_text("untouched")
    folder = tmp_path / "ca"
    folder.mkdir()
    (folder / "ca-key.pem").symlink_to(elsewhere)
    with pytest.raises(OSError, match="symbolic link"):
        LoopbackCertificateAuthority.load_or_create(folder)
    assert elsewhere.read_text() == "untouched"


@pytest.mark.parametrize(
    ("peer", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::1%lo", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:10.0.0.1", False),
        ("::1:2", False),
        ("::1234", False),
        ("10.0.0.1", False),
        ("localhost", False),
        ("", False),
        (None, False),
    ],
)
def test_every_loopback_peer_check_gives_the_same_answer(peer: str | None, loopback: bool) -> None:
    assert is_loopback_address(peer) is loopback


def test_fake_serve_without_uvicorn_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = CliRunner().invoke(cli, ["fake", "serve", "--port", "0"])
    assert result.exit_code == 1
    assert "pip install 'kvconfig[serve]'" in result.output


def test_fake_seed_example_is_a_loadable_seed() -> None:
    result = CliRunner().invoke(cli, ["fake", "seed-example"])
    assert result.exit_code == 0
    fake = FakeKeyVault()
    fake.seed(json.loads(result.output))
    assert fake.get_secret_value("myvault", "db-password") == "s3cret"


def test_kvconfig_fake_serve_subprocess_serves_seeded_vaults_and_stops_on_sigterm(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"vaults": {"myvault": {"secrets": {"greeting": "hello"}}}}))
    dump = tmp_path / "dump.json"
    kvconfig = Path(sys.executable).with_name("kvconfig")
    command = [str(kvconfig), "fake", "serve", "--port", "0", "--cert-dir", str(tmp_path / "certs")]
    process = subprocess.Popen(
        [*command, "--seed", str(seed), "--dump-on-exit", str(dump)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()  # "kvconfig fake Key Vault on 127.0.0.1:<port> (Ctrl-C to stop)"
        assert "kvconfig fake Key Vault on 127.0.0.1:" in banner, banner
        port = int(banner.split("127.0.0.1:")[1].split()[0])
        context = ssl.create_default_context(cafile=str(tmp_path / "certs" / "ca.pem"))
        with httpx.Client(verify=context, timeout=5) as http:
            token = http.get(f"https://localhost:{port}/_kvconfig/token", params={"identity": "app"}).json()
            response = http.get(
                f"https://myvault.localhost:{port}/secrets/greeting?api-version=7.5",
                headers={"Authorization": f"Bearer {token['access_token']}"},
            )
        assert response.status_code == 200
        assert response.json()["value"] == "hello"
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=8)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, rest
    assert "stopped" in rest
    assert json.loads(dump.read_text())["vaults"]["myvault"]["secrets"]["greeting"]["versions"][0]["value"] == "hello"
