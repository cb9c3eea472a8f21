"""The deletion (and recovery) window over real HTTPS: the SDK's pollers sleep for real between polls (the emulator's
clients use the SDK's own transports) and return once the window ended; a restarted emulator keeps a window still
open."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from kvconfig.fake import FakeKeyVault
from tests.integration.emulator_support import resolve_localhost_subdomains

pytest.importorskip("uvicorn")


@pytest.fixture(autouse=True)
def _names(monkeypatch: pytest.MonkeyPatch) -> None:
    resolve_localhost_subdomains(monkeypatch)


async def test_real_pollers_sleep_through_a_short_window_and_return_once_it_ended() -> None:
    fake = FakeKeyVault(deletion_delay=0.2)
    polls: list[int] = []
    fake.listeners.append(
        lambda record: polls.append(record.status) if record.operation in {"GetDeletedSecret", "GetSecret"} else None
    )
    with fake.serve() as server:
        url, ca = server.url_for("myvault"), str(server.ca_path)
        with SecretClient(url, fake.credential(), connection_verify=ca) as client:
            client.set_secret("sync-one", "v")
            started = time.monotonic()
            poller = client.begin_delete_secret("sync-one", _polling_interval=0.05)
            poller.wait()
            assert poller.done()
            assert time.monotonic() - started >= 0.2
            assert polls[0] == 404  # the poller met the window,
            assert polls[-1] == 200  # then saw it end
            assert client.get_deleted_secret("sync-one").name == "sync-one"
            # A recovery takes the same time: its poller meets the live GET's 404, then the recovered secret.
            polls.clear()
            started = time.monotonic()
            client.begin_recover_deleted_secret("sync-one", _polling_interval=0.05).wait()
            assert time.monotonic() - started >= 0.2
            assert polls[0] == 404
            assert polls[-1] == 200
            assert client.get_secret("sync-one").value == "v"
        polls.clear()
        credential = fake.async_credential()
        async with secrets_aio.SecretClient(url, credential, connection_verify=ca) as aio_client, credential:
            await aio_client.set_secret("async-one", "v")
            started = time.monotonic()
            deleted = await aio_client.delete_secret("async-one", _polling_interval=0.05)
            assert time.monotonic() - started >= 0.2
            assert deleted.name == "async-one"
            assert polls[0] == 404
            assert polls[-1] == 200
            await aio_client.purge_deleted_secret("async-one")


def test_a_restarted_emulator_keeps_a_deletion_window_that_is_still_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    fake = FakeKeyVault(deletion_delay=300)
    with fake.serve(data_dir=data) as server:
        client = SecretClient(server.url_for("myvault"), fake.credential(), connection_verify=str(server.ca_path))
        with client:
            client.set_secret("slow", "v")
            client.begin_delete_secret("slow")  # the DELETE only: the window (300 s) is open when the emulator stops

    restarted = FakeKeyVault()
    with restarted.serve(data_dir=data) as server:
        ca = str(server.ca_path)
        with SecretClient(server.url_for("myvault"), restarted.credential(), connection_verify=ca) as client:
            with pytest.raises(ResourceNotFoundError):
                client.get_deleted_secret("slow")
            with pytest.raises(HttpResponseError) as purge:
                client.purge_deleted_secret("slow")
            assert purge.value.status_code == 409
            assert purge.value.error is not None
            assert purge.value.error.innererror == {"code": "ObjectIsBeingDeleted"}
            trust = ssl.create_default_context(cafile=ca)
            with httpx.Client(base_url=f"{server.base_url}/_kvconfig", verify=trust) as control:
                assert control.post("/clock", json={"advance": 300}).status_code == 200
            assert client.get_deleted_secret("slow").name == "slow"
            client.purge_deleted_secret("slow")


def test_kvconfig_fake_serve_deletion_delay_gives_its_vaults_a_deletion_window(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "kvconfig", "fake", "serve", "--port", "0", "--cert-dir", str(tmp_path / "c")]
    process = subprocess.Popen(
        [*command, "--deletion-delay", "60"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        assert "kvconfig fake Key Vault on 127.0.0.1:" in banner, banner
        port = int(banner.split("127.0.0.1:")[1].split()[0])
        vault = f"https://myvault.localhost:{port}"
        with httpx.Client(verify=ssl.create_default_context(cafile=str(tmp_path / "c" / "ca.pem")), timeout=5) as http:
            token = http.get(f"https://localhost:{port}/_kvconfig/token").json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            query = {"api-version": "7.5"}
            assert http.put(f"{vault}/secrets/s", params=query, headers=headers, json={"value": "v"}).status_code == 200
            assert http.delete(f"{vault}/secrets/s", params=query, headers=headers).status_code == 200
            assert http.get(f"{vault}/deletedsecrets/s", params=query, headers=headers).status_code == 404
            purge = http.delete(f"{vault}/deletedsecrets/s", params=query, headers=headers)
        assert purge.status_code == 409
        assert purge.json()["error"]["innererror"] == {"code": "ObjectIsBeingDeleted"}
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=8)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
