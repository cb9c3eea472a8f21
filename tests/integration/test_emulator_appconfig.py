"""The loopback emulator serves App Configuration stores beside the vaults (``https://<store>.azconfig.localhost:<port>``)
to the official ``AzureAppConfigurationClient`` (sync and aio) over real TLS, with access keys (HMAC) and Entra tokens;
``kvconfig fake serve`` seeds them from ``--seed``'s ``appconfig`` part or ``--appconfig-seed``, and its ready file and
banner name them, the control API, the portal and the data folder."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ClientAuthenticationError

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.serve.emulator import EmulatorServer

from .emulator_support import StaticCredential, fake_serve, stop_serving, wait_for_ready

pytest.importorskip("uvicorn")
pytestmark = pytest.mark.usefixtures("loopback_names")
appconfiguration = pytest.importorskip("azure.appconfiguration")
appconfiguration_aio = pytest.importorskip("azure.appconfiguration.aio")
from kvconfig.fake.appconfig import KEYVAULT_REF_CONTENT_TYPE, FakeAppConfiguration  # noqa: E402

AzureAppConfigurationClient = appconfiguration.AzureAppConfigurationClient
ConfigurationSetting = appconfiguration.ConfigurationSetting


@pytest.fixture
def served() -> Iterator[tuple[EmulatorServer, FakeAppConfiguration, FakeKeyVault]]:
    keyvault = FakeKeyVault()
    appconfig = FakeAppConfiguration(keyvault=keyvault)
    with EmulatorServer(keyvault, appconfig=appconfig) as server:
        yield server, appconfig, keyvault


def test_official_client_reads_and_writes_a_store_with_its_connection_string(
    served: tuple[EmulatorServer, FakeAppConfiguration, FakeKeyVault],
) -> None:
    server, appconfig, _ = served
    endpoint = server.store_url_for("contoso-config")
    assert endpoint == f"https://contoso-config.azconfig.localhost:{server.port}"
    appconfig.set(endpoint, "app:greeting", "hello", label="prod")
    client = AzureAppConfigurationClient.from_connection_string(
        appconfig.connection_string(endpoint), connection_verify=str(server.ca_path)
    )
    with client:
        got = client.get_configuration_setting("app:greeting", label="prod")
        assert got.value == "hello"
        client.set_configuration_setting(ConfigurationSetting(key="app:new", value="v1"))
        assert {s.key for s in client.list_configuration_settings(label_filter="*")} == {"app:greeting", "app:new"}
        # the provider's refresh relies on 304 for an unchanged key-value
        unchanged = client.get_configuration_setting(
            "app:greeting", label="prod", etag=got.etag, match_condition=MatchConditions.IfModified
        )
        assert unchanged is None
    assert appconfig.get(endpoint, "app:new").value == "v1"  # the write reached the fake behind the server


def test_official_client_with_entra_tokens_sync_and_async(
    served: tuple[EmulatorServer, FakeAppConfiguration, FakeKeyVault],
) -> None:
    server, appconfig, keyvault = served
    endpoint = server.store_url_for("contoso-config")
    appconfig.set_secret_reference(endpoint, "app:db", "https://contoso-app.localhost/secrets/db")
    with AzureAppConfigurationClient(endpoint, keyvault.credential(), connection_verify=str(server.ca_path)) as client:
        setting = client.get_configuration_setting("app:db")
    assert setting.content_type == KEYVAULT_REF_CONTENT_TYPE

    async def read() -> list[str]:
        async with appconfiguration_aio.AzureAppConfigurationClient(
            endpoint, keyvault.async_credential(), connection_verify=str(server.ca_path)
        ) as aclient:
            return [s.key async for s in aclient.list_configuration_settings()]

    assert asyncio.run(read()) == ["app:db"]


def test_a_store_host_is_not_a_vault_and_a_bad_signature_is_refused(
    served: tuple[EmulatorServer, FakeAppConfiguration, FakeKeyVault],
) -> None:
    server, appconfig, keyvault = served
    endpoint = server.store_url_for("contoso-config")
    with httpx.Client(verify=ssl.create_default_context(cafile=str(server.ca_path)), timeout=10) as http:
        answer = http.get(f"{endpoint}/kv?api-version=2023-11-01")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("HMAC-SHA256, Bearer")  # App Configuration's, not a vault's
    assert keyvault.vaults == []  # the store's host made no vault
    forged = appconfig.connection_string(endpoint).replace("Secret=", "Secret=AAAA")
    client = AzureAppConfigurationClient.from_connection_string(forged, connection_verify=str(server.ca_path))
    with client, pytest.raises(ClientAuthenticationError) as caught:
        client.get_configuration_setting("anything")
    assert caught.value.status_code == 401


def test_fake_serve_seeds_stores_and_names_them_the_control_api_portal_and_data_dir(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "vaults": {"contoso-app": {"secrets": {"db-password": "s3cret"}}},
                "appconfig": {"contoso-config": [{"key": "app:greeting", "value": "hello"}]},
            }
        )
    )
    more = tmp_path / "stores.json"
    more.write_text(json.dumps({"other-store": [{"key": "k", "value": "v", "label": "prod"}]}))
    ready = tmp_path / "ready.json"
    args = ["--port", "0", "--cert-dir", str(tmp_path / "c"), "--seed", str(seed), "--appconfig-seed", str(more)]
    args += ["--ready-file", str(ready), "--data-dir", str(tmp_path / "data")]
    with fake_serve(args) as process:
        info = wait_for_ready(ready, process)
        port = info["port"]
        assert info["control_url"] == f"https://localhost:{port}/_kvconfig/"
        assert info["portal_url"] == f"https://localhost:{port}/_kvconfig/portal"
        assert info["data_dir"] == str(tmp_path / "data")
        assert info["store_url_template"] == f"https://{{store}}.azconfig.localhost:{port}"
        assert info["stores"] == {
            "contoso-config": f"https://contoso-config.azconfig.localhost:{port}",
            "other-store": f"https://other-store.azconfig.localhost:{port}",
        }
        with httpx.Client(verify=ssl.create_default_context(cafile=info["ca_file"]), timeout=10) as http:
            assert http.get(info["control_url"] + "health").json()["status"] == "ok"
            assert http.get(info["portal_url"]).status_code == 200
            token = http.get(
                info["token_url"], params={"identity": "app", "resource": info["store_token_resource"]}
            ).json()["access_token"]
        credential = StaticCredential(token)
        client = AzureAppConfigurationClient(
            info["stores"]["contoso-config"], credential, connection_verify=info["ca_file"]
        )
        with client:
            assert client.get_configuration_setting("app:greeting").value == "hello"
        assert credential.scopes == [(info["store_token_resource"] + "/.default",)]
        stderr = stop_serving(process)
    for needed in (
        f"control    https://localhost:{port}/_kvconfig/",
        f"portal     https://localhost:{port}/_kvconfig/portal",
        f"data       {tmp_path / 'data'}",
        f"stores     https://<store>.azconfig.localhost:{port}",
        f"contoso-config https://contoso-config.azconfig.localhost:{port}",
    ):
        assert needed in stderr, needed
    assert "hello" not in stderr


def test_fake_serve_refuses_a_bad_store_seed_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kvconfig.cli import cli

    bad = tmp_path / "stores.json"
    bad.write_text(json.dumps({"contoso-config": [{"key": "k", "bogus": 1}]}))
    result = CliRunner().invoke(
        cli, ["fake", "serve", "--port", "0", "--cert-dir", str(tmp_path / "c"), "--appconfig-seed", str(bad)]
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kvconfig: Cannot use the App Configuration seed: appconfig.contoso-config")
    assert "bogus" in lines[0]


def test_the_library_trusts_the_emulator_stores_on_their_loopback_hosts(
    served: tuple[EmulatorServer, FakeAppConfiguration, FakeKeyVault],
) -> None:
    """``<store>.azconfig.localhost:<port>`` is a trusted store host (any port: the emulator chooses it), read with a
    connection string or a token alike."""
    from kvconfig import from_appconfig

    server, appconfig, keyvault = served
    endpoint = server.store_url_for("contoso-config")
    appconfig.set(endpoint, "app:greeting", "hello")
    verify = str(server.ca_path)

    by_key = from_appconfig(appconfig.connection_string(endpoint), trim_prefixes=["app:"], connection_verify=verify)
    by_token = from_appconfig(endpoint, credential=keyvault.credential(), connection_verify=verify)

    assert by_key.settings == {"greeting": "hello"}
    assert by_token.settings == {"app:greeting": "hello"}


@pytest.mark.parametrize(
    ("seed", "stores", "said"),
    [
        (None, {"contoso-config": [], "CONTOSO-CONFIG": []}, "Cannot use the App Configuration seed: the seed names"),
        ({"appconfig": {"contoso-config": []}}, {"contoso-config": []}, "seeded by both --seed and --appconfig-seed"),
    ],
)
def test_fake_serve_refuses_one_store_seeded_twice_instead_of_dropping_a_list(
    tmp_path: Path, seed: dict[str, object] | None, stores: dict[str, object], said: str
) -> None:
    from click.testing import CliRunner

    from kvconfig.cli import cli

    args = ["fake", "serve", "--port", "0", "--cert-dir", str(tmp_path / "c")]
    (tmp_path / "stores.json").write_text(json.dumps(stores))
    args += ["--appconfig-seed", str(tmp_path / "stores.json")]
    if seed is not None:
        (tmp_path / "seed.json").write_text(json.dumps(seed))
        args += ["--seed", str(tmp_path / "seed.json")]

    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert said in lines[0], result.stderr
