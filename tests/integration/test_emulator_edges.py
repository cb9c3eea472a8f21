"""The emulator's edges: token lifetimes that are not numbers, request bodies over the limit, a non-loopback
``--host``, files it writes (ready file, dump) and how its commands report errors."""

from __future__ import annotations

import asyncio
import json
import ssl
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.keyvault.secrets import SecretClient
from click.testing import CliRunner

from kvconfig._private_files import write_private
from kvconfig.cli import cli
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.serve.asgi import FakeKeyVaultApp
from kvconfig.fake.serve.emulator import EmulatorServer

from .emulator_support import fake_serve, stop_serving, wait_for_ready

pytest.importorskip("uvicorn")
pytestmark = pytest.mark.usefixtures("loopback_names")


@pytest.fixture
def fake() -> FakeKeyVault:
    return FakeKeyVault()


def _http(server: EmulatorServer) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=str(server.ca_path)), timeout=10)


# -- the token endpoint ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lifetime", ["nan", "inf", "-inf", "1e309", "0", "-5", "abc", "1e12"])
def test_token_endpoint_answers_a_lifetime_that_is_not_a_sane_number_with_400(
    server: EmulatorServer, lifetime: str
) -> None:
    with _http(server) as http:
        response = http.get(f"{server.base_url}/_kvconfig/token", params={"identity": "app", "lifetime": lifetime})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


def test_token_endpoint_still_issues_a_token_for_a_finite_lifetime(server: EmulatorServer) -> None:
    with _http(server) as http:
        response = http.get(f"{server.base_url}/_kvconfig/token", params={"identity": "app", "lifetime": "60"})
    assert response.status_code == 200
    assert response.json()["expires_on"] - time.time() == pytest.approx(60, abs=5)


# -- request bodies ----------------------------------------------------------------------------------------------------


def test_a_body_declared_over_the_limit_gets_413_before_it_is_read(fake: FakeKeyVault) -> None:
    with EmulatorServer(fake, max_body_bytes=64 * 1024).start() as server, _http(server) as http:
        response = http.put(
            f"{server.url_for('myvault')}/secrets/big?api-version=7.5",
            content=b"x" * (256 * 1024),
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "RequestBodyTooLarge"


def test_a_chunked_body_is_not_buffered_past_the_limit(fake: FakeKeyVault) -> None:
    # Driven through the ASGI app: count how much of an endless body the app pulls before it answers.
    app = FakeKeyVaultApp(fake, max_body_bytes=1024 * 1024)
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "PUT",
        "path": "/secrets/big",
        "query_string": b"api-version=7.5",
        "headers": [(b"host", b"myvault.localhost:8443"), (b"transfer-encoding", b"chunked")],
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert pulled <= 1024 * 1024 // 65536 + 1  # stopped at the limit, not at the end of the (endless) body


def test_a_secret_value_over_25_kb_through_the_sdk_gets_the_services_400(
    fake: FakeKeyVault, server: EmulatorServer
) -> None:
    from azure.core.exceptions import HttpResponseError

    url = server.url_for("myvault")
    with (
        SecretClient(url, fake.credential(), connection_verify=str(server.ca_path)) as client,
        pytest.raises(HttpResponseError) as raised,
    ):
        client.set_secret("big", "x" * (25 * 1024 + 1))
    assert raised.value.status_code == 400


# -- the command line --------------------------------------------------------------------------------------------------


def _stderr(result: Any) -> str:
    return str(result.stderr if hasattr(result, "stderr") else result.output)


def test_fake_serve_refuses_a_non_loopback_host_without_allow_remote() -> None:
    result = CliRunner().invoke(cli, ["fake", "serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 1
    stderr = _stderr(result)
    assert stderr.startswith("kvconfig: --host 0.0.0.0 is not a loopback address"), stderr
    assert "--allow-remote" in stderr
    assert "Error:" not in stderr


@pytest.mark.parametrize("option", ["--ready-file", "--dump-on-exit"])
def test_fake_serve_refuses_to_write_through_a_symlink(tmp_path: Path, option: str) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text("keep me")
    link = tmp_path / "out.json"
    link.symlink_to(target)
    result = CliRunner().invoke(cli, ["fake", "serve", "--port", "0", option, str(link)])
    assert result.exit_code == 1
    assert _stderr(result).startswith(f"kvconfig: {link} is a symbolic link")
    assert target.read_text() == "keep me"


def test_fake_token_errors_start_like_the_rest_of_the_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["fake", "token", "--cert-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert _stderr(result).startswith("kvconfig: No emulator CA at ")


def test_write_private_replaces_a_readable_file_with_a_0600_one(tmp_path: Path) -> None:
    path = tmp_path / "dump.json"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["dump.json"]  # no temporary file left behind


def test_fake_serve_writes_a_ready_file_a_script_can_use_and_a_0600_dump(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"vaults": {"billing": {"secrets": {"greeting": "hello"}}, "orders": {}}}))
    ready = tmp_path / "ready.json"
    dump = tmp_path / "dump.json"
    args = ["--port", "0", "--tunnel-port", "0", "--cert-dir", str(tmp_path / "certs"), "--seed", str(seed)]
    args += ["--ready-file", str(ready), "--dump-on-exit", str(dump)]
    with fake_serve(args) as process:
        info = wait_for_ready(ready, process, limit=60.0)
        assert stat.S_IMODE(ready.stat().st_mode) == 0o600
        port = info["port"]
        assert info["vaults"] == {
            "billing": f"https://billing.localhost:{port}",
            "orders": f"https://orders.localhost:{port}",
        }
        assert info["vault_url_template"] == f"https://{{vault}}.localhost:{port}"
        assert info["ca_file"] == str(tmp_path / "certs" / "ca.pem")
        assert info["tenant_id"] == FakeKeyVault().tenant_id
        assert info["proxy_url"].startswith("http://127.0.0.1:")
        with httpx.Client(verify=ssl.create_default_context(cafile=info["ca_file"]), timeout=5) as http:
            token = http.get(info["token_url"], params={"identity": "app"}).json()["access_token"]
            secret = http.get(
                f"{info['vaults']['billing']}/secrets/greeting?api-version=7.5",
                headers={"Authorization": f"Bearer {token}"},
            )
        assert secret.json()["value"] == "hello"
        stderr = stop_serving(process, timeout=10)
    for needed in (
        f"https://billing.localhost:{port}",
        "NODE_EXTRA_CA_CERTS=",
        "REQUESTS_CA_BUNDLE=",
        "keytool -importcert",
        "curl --cacert",
        info["tenant_id"],
        f"IDENTITY_ENDPOINT=https://localhost:{port}/msi/token",
        f"HTTPS_PROXY={info['proxy_url']}",
    ):
        assert needed in stderr, needed
    assert "hello" not in stderr  # no value in the banner or the exit messages
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert json.loads(dump.read_text())["vaults"]["billing"]["secrets"]["greeting"]["versions"][0]["value"] == "hello"
    assert not ready.exists()  # a stale ready file would send scripts to a server that is gone
