"""Authentication and access to the fake App Configuration store, through the official client: HMAC-SHA256 signing
verified, Entra tokens checked for the store's audience, read-only keys and data roles enforced."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from azure.appconfiguration import AzureAppConfigurationClient, ConfigurationSetting
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.appconfig import FakeAppConfiguration

STORE = "auth-store"


def _client(fake: FakeAppConfiguration, connection_string: str) -> AzureAppConfigurationClient:
    return AzureAppConfigurationClient.from_connection_string(connection_string, transport=fake.transport())


def test_hmac_with_the_wrong_secret_is_refused_with_401() -> None:
    fake = FakeAppConfiguration()
    good = fake.connection_string(STORE)
    forged_secret = base64.b64encode(b"\x00" * 32).decode()
    forged = good.rsplit("Secret=", 1)[0] + f"Secret={forged_secret}"
    with _client(fake, forged) as client, pytest.raises(ClientAuthenticationError) as raised:
        client.get_configuration_setting("k")
    assert "signature" in raised.value.response.headers["WWW-Authenticate"]


def test_hmac_with_an_unknown_key_id_is_refused() -> None:
    fake = FakeAppConfiguration()
    other = FakeAppConfiguration().connection_string(STORE)  # same host, a key of another fake
    with _client(fake, other) as client, pytest.raises(ClientAuthenticationError):
        client.get_configuration_setting("k")


def test_hmac_body_hash_is_checked_against_the_body() -> None:
    fake = FakeAppConfiguration()
    with _client(fake, fake.connection_string(STORE)) as client:

        def tamper(request: Any) -> None:
            request.http_request.headers["x-ms-content-sha256"] = base64.b64encode(b"\x01" * 32).decode()

        with pytest.raises(ClientAuthenticationError):
            client.set_configuration_setting(ConfigurationSetting(key="k", value="v"), raw_request_hook=tamper)


def test_request_without_credentials_is_refused() -> None:
    fake = FakeAppConfiguration()
    response = fake.handle("GET", f"https://{STORE}.azconfig.io/kv?api-version=2026-04-01")
    assert response.status == 401
    assert "HMAC-SHA256" in response.headers["WWW-Authenticate"]


def test_read_only_connection_string_reads_but_cannot_write() -> None:
    fake = FakeAppConfiguration()
    fake.set(STORE, "k", "v")
    with _client(fake, fake.connection_string(STORE, read_only=True)) as client:
        assert client.get_configuration_setting("k").value == "v"
        with pytest.raises(HttpResponseError) as raised:
            client.set_configuration_setting(ConfigurationSetting(key="k", value="w"))
    assert raised.value.status_code == 403


def test_token_from_the_fake_keyvault_credential_reaches_the_store_when_shared() -> None:
    keyvault = FakeKeyVault()
    fake = FakeAppConfiguration(keyvault=keyvault)
    fake.set(STORE, "k", "v")
    with AzureAppConfigurationClient(fake.endpoint(STORE), keyvault.credential(), transport=fake.transport()) as client:
        assert client.get_configuration_setting("k").value == "v"


def test_token_of_another_fake_is_refused() -> None:
    fake = FakeAppConfiguration()
    stranger = FakeAppConfiguration()
    with (
        AzureAppConfigurationClient(fake.endpoint(STORE), stranger.credential(), transport=fake.transport()) as client,
        pytest.raises(ClientAuthenticationError),
    ):
        client.get_configuration_setting("k")


def test_token_for_the_wrong_audience_is_refused() -> None:
    fake = FakeAppConfiguration()
    vault_token = fake.credential().get_token("https://vault.azure.net/.default")

    class VaultTokenOnly:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return vault_token

    with (
        AzureAppConfigurationClient(fake.endpoint(STORE), VaultTokenOnly(), transport=fake.transport()) as client,
        pytest.raises(ClientAuthenticationError),
    ):
        client.get_configuration_setting("k")


@pytest.mark.parametrize(
    ("endpoint", "scope"),
    [
        ("https://gov-store.azconfig.azure.us", "https://azconfig.azure.us/.default"),
        ("https://cn-store.azconfig.azure.cn", "https://azconfig.azure.cn/.default"),
    ],
)
def test_sovereign_cloud_stores_take_their_own_audience(endpoint: str, scope: str) -> None:
    fake = FakeAppConfiguration()
    fake.set(endpoint, "k", "v")
    scopes: list[str] = []
    credential = fake.credential()

    class Recording:
        def get_token(self, *requested: str, **kwargs: Any) -> AccessToken:
            scopes.extend(requested)
            return credential.get_token(*requested)

    with AzureAppConfigurationClient(endpoint, Recording(), transport=fake.transport()) as client:
        assert client.get_configuration_setting("k").value == "v"
    assert scopes == [scope]


def test_data_reader_role_reads_but_cannot_write_and_unknown_callers_are_refused() -> None:
    fake = FakeAppConfiguration()
    fake.set(STORE, "k", "v")
    fake.assign_role(STORE, "reader", "App Configuration Data Reader")
    fake.assign_role(STORE, "owner", "App Configuration Data Owner")

    def client(identity: str) -> AzureAppConfigurationClient:
        return AzureAppConfigurationClient(fake.endpoint(STORE), fake.credential(identity), transport=fake.transport())

    with client("reader") as reader:
        assert reader.get_configuration_setting("k").value == "v"
        with pytest.raises(HttpResponseError) as raised:
            reader.set_configuration_setting(ConfigurationSetting(key="k", value="w"))
        assert raised.value.status_code == 403
    with client("owner") as owner:
        assert owner.set_configuration_setting(ConfigurationSetting(key="k", value="w")).value == "w"
    with client("stranger") as stranger, pytest.raises(HttpResponseError) as refused:
        stranger.get_configuration_setting("k")
    assert refused.value.status_code == 403


def test_assigning_an_unknown_role_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="App Configuration Data Reader"):
        FakeAppConfiguration().assign_role(STORE, "x", "Contributor")  # type: ignore[arg-type]
