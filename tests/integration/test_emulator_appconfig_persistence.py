"""The emulator's data folder keeps its App Configuration stores like its vaults: what the official client
(sync and aio, access keys and Entra tokens) wrote before a restart (on another port) is read back after it, with
its etags, locks, revisions, snapshots and access keys; a write that cannot be saved is not acknowledged; and
``kvconfig fake serve --data-dir`` seeds stores only into a folder that holds none."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.serve.emulator import EmulatorServer

from .emulator_support import StaticCredential, fake_serve, stop_serving, wait_for_ready

pytest.importorskip("uvicorn")
pytestmark = pytest.mark.usefixtures("loopback_names")
appconfiguration = pytest.importorskip("azure.appconfiguration")
appconfiguration_aio = pytest.importorskip("azure.appconfiguration.aio")
from kvconfig.fake.appconfig import FakeAppConfiguration  # noqa: E402

AzureAppConfigurationClient = appconfiguration.AzureAppConfigurationClient
ConfigurationSetting = appconfiguration.ConfigurationSetting
ConfigurationSettingsFilter = appconfiguration.ConfigurationSettingsFilter
STORE = "contoso-config"


def _serve(data: Path) -> tuple[EmulatorServer, FakeAppConfiguration, FakeKeyVault]:
    keyvault = FakeKeyVault()
    appconfig = FakeAppConfiguration(keyvault=keyvault)
    return EmulatorServer(keyvault, appconfig=appconfig, data_dir=data), appconfig, keyvault


def _connection_string(server: EmulatorServer, key_id: str, secret: str) -> str:
    return f"Endpoint={server.store_url_for(STORE)};Id={key_id};Secret={secret}"


def test_a_restarted_emulator_serves_what_the_official_client_wrote(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server, appconfig, keyvault = _serve(data)
    with server:
        endpoint = server.store_url_for(STORE)
        store = appconfig.store(endpoint)
        key = next(k for k in store.access_keys if not k.read_only)
        with AzureAppConfigurationClient.from_connection_string(
            _connection_string(server, key.id, key.secret), connection_verify=str(server.ca_path)
        ) as client:
            first = client.set_configuration_setting(ConfigurationSetting(key="app:greeting", value="hello"))
            written = client.set_configuration_setting(
                ConfigurationSetting(key="app:greeting", value="hello again", label="prod", tags={"t": "1"})
            )
            client.set_configuration_setting(ConfigurationSetting(key="app:gone", value="x"))
            client.delete_configuration_setting("app:gone")
            client.set_read_only(client.get_configuration_setting("app:greeting"))
            client.begin_create_snapshot("release-1", [ConfigurationSettingsFilter(key="app:*")]).result()

        async def write_with_a_token() -> None:
            async with appconfiguration_aio.AzureAppConfigurationClient(
                endpoint, keyvault.async_credential(), connection_verify=str(server.ca_path)
            ) as aclient:
                await aclient.set_configuration_setting(ConfigurationSetting(key="app:async", value="from aio"))

        asyncio.run(write_with_a_token())
        first_port, sequence = server.port, store.sequence

    restarted, appconfig, keyvault = _serve(data)
    with restarted:
        assert restarted.port != first_port  # the store comes back under the new port
        assert restarted.durable is not None
        assert restarted.durable.restored_stores == 1
        # A connection string handed out before the restart still signs (with this run's endpoint).
        with AzureAppConfigurationClient.from_connection_string(
            _connection_string(restarted, key.id, key.secret), connection_verify=str(restarted.ca_path)
        ) as client:
            kept = client.get_configuration_setting("app:greeting", label="prod")
            assert (kept.value, kept.etag, kept.tags) == ("hello again", written.etag, {"t": "1"})
            null_label = client.get_configuration_setting("app:greeting")
            assert null_label.read_only
            assert client.get_configuration_setting("app:async").value == "from aio"
            assert [s.key for s in client.list_configuration_settings(key_filter="app:*")] == [
                "app:async",
                "app:greeting",
                "app:greeting",
            ]
            frozen = client.list_configuration_settings(snapshot_name="release-1")
            assert [(s.key, s.value) for s in frozen] == [("app:greeting", "hello")]
            revisions = list(client.list_revisions(key_filter="app:greeting"))
            assert first.etag in {revision.etag for revision in revisions}
            assert any(revision.key == "app:gone" for revision in client.list_revisions(key_filter="app:gone"))
            with pytest.raises(HttpResponseError) as locked:
                client.set_configuration_setting(ConfigurationSetting(key="app:greeting", value="no"))
            assert locked.value.status_code == 409
        assert appconfig.store(restarted.store_url_for(STORE)).sequence == sequence  # sync tokens go on from there
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in data.iterdir():
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_store_write_that_cannot_be_saved_is_not_acknowledged(tmp_path: Path) -> None:
    server, appconfig, _ = _serve(tmp_path / "data")
    with server:
        endpoint = server.store_url_for(STORE)
        with AzureAppConfigurationClient.from_connection_string(
            appconfig.connection_string(endpoint), connection_verify=str(server.ca_path), retry_total=0
        ) as client:
            client.set_configuration_setting(ConfigurationSetting(key="kept", value="v"))
            assert server.durable is not None
            server.durable.database.close()  # the folder's database is gone from under the emulator
            with pytest.raises(HttpResponseError) as refused:
                client.set_configuration_setting(ConfigurationSetting(key="lost", value="v"))
    assert refused.value.status_code == 503


def _run_serve(tmp_path: Path, seed: Path, data: Path, step: Any) -> str:
    ready = tmp_path / "ready.json"
    args = ["--port", "0", "--cert-dir", str(tmp_path / "c")]
    args += ["--appconfig-seed", str(seed), "--data-dir", str(data), "--ready-file", str(ready)]
    with fake_serve(args, env=os.environ) as process:
        step(wait_for_ready(ready, process))
        return stop_serving(process)


def test_fake_serve_keeps_stores_in_its_data_dir_and_seeds_only_a_new_folder(tmp_path: Path) -> None:
    seed = tmp_path / "stores.json"
    seed.write_text(json.dumps({STORE: [{"key": "app:greeting", "value": "seeded"}]}))
    data = tmp_path / "data"

    def write(info: dict[str, Any]) -> None:
        with _client(info) as client:
            assert client.get_configuration_setting("app:greeting").value == "seeded"
            client.set_configuration_setting(ConfigurationSetting(key="app:greeting", value="written"))

    def read(info: dict[str, Any]) -> None:
        with _client(info) as client:
            assert client.get_configuration_setting("app:greeting").value == "written"  # not seeded over

    first = _run_serve(tmp_path, seed, data, write)
    second = _run_serve(tmp_path, seed, data, read)
    assert "Restored" not in first
    assert f"Restored 1 App Configuration store(s) from {data}." in second
    assert "written" not in first + second


def _client(info: dict[str, Any]) -> Any:
    """The official client on the served store, with a token from the emulator's token endpoint."""
    with httpx.Client(verify=ssl.create_default_context(cafile=info["ca_file"]), timeout=10) as http:
        answer = http.get(info["token_url"], params={"identity": "app", "resource": info["store_token_resource"]})
    credential = StaticCredential(answer.json()["access_token"])
    return AzureAppConfigurationClient(info["stores"][STORE], credential, connection_verify=info["ca_file"])
