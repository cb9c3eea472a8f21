"""The deletion window over real HTTPS: the SDK's pollers sleep for real between polls (the emulator's clients use
the SDK's own transports) and return once the window ended; a restarted emulator keeps a window still open."""

from __future__ import annotations

import ssl
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
        lambda record: polls.append(record.status) if record.operation == "GetDeletedSecret" else None
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
