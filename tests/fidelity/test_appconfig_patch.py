"""``FakeAppConfiguration.patch()``: code that builds its own App Configuration clients, or calls the provider's
``load()``, with DefaultAzureCredential or a connection string and no ``transport=``, reaches the fake store (and the
fake vault it shares); nothing else is reachable; the provider's replica discovery asks no DNS server."""

from __future__ import annotations

import dns.asyncresolver
import dns.resolver
import pytest
from azure.appconfiguration import AzureAppConfigurationClient
from azure.appconfiguration.aio import AzureAppConfigurationClient as AsyncAzureAppConfigurationClient
from azure.appconfiguration.provider import SettingSelector
from azure.appconfiguration.provider import load as provider_load
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from azure.core.pipeline.transport import RequestsTransport
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.identity.aio import DefaultAzureCredential as AsyncDefaultAzureCredential
from azure.keyvault.secrets import SecretClient

from kvconfig import SecretResolver
from kvconfig.appconfig import load as kvconfig_load
from kvconfig.appconfig import load_async as kvconfig_load_async
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.appconfig import FakeAppConfiguration

STORE = "contoso-config"
ENDPOINT = f"https://{STORE}.azconfig.io"
SECRET_URI = "https://contoso-app.vault.azure.net/secrets/db-password"


def _fakes() -> tuple[FakeKeyVault, FakeAppConfiguration]:
    keyvault = FakeKeyVault()
    appconfig = FakeAppConfiguration(keyvault=keyvault)
    keyvault.set_secret("contoso-app", "db-password", "s3cret")
    appconfig.set(STORE, "app:greeting", "hello")
    appconfig.set(STORE, "app:greeting", "hello from prod", label="prod")
    appconfig.set_secret_reference(STORE, "app:db:password", SECRET_URI)
    return keyvault, appconfig


def test_sync_client_with_default_credential_and_connection_string_reach_the_fake() -> None:
    _keyvault, appconfig = _fakes()
    with appconfig.patch():
        with AzureAppConfigurationClient(ENDPOINT, DefaultAzureCredential()) as client:
            assert client.get_configuration_setting("app:greeting", label="prod").value == "hello from prod"
        connection_string = appconfig.connection_string(STORE)
        with AzureAppConfigurationClient.from_connection_string(connection_string) as client:
            assert [s.key for s in client.list_configuration_settings(key_filter="app:*", label_filter="\0")] == [
                "app:db:password",
                "app:greeting",
            ]
    assert appconfig.operation_counts["GetKeyValue"] == 1
    assert appconfig.operation_counts["GetKeyValues"] == 1


async def test_aio_client_with_default_credential_and_connection_string_reach_the_fake() -> None:
    _keyvault, appconfig = _fakes()
    with appconfig.patch():
        async with (
            AsyncDefaultAzureCredential() as credential,
            AsyncAzureAppConfigurationClient(ENDPOINT, credential) as client,
        ):
            setting = await client.get_configuration_setting("app:greeting")
            assert setting.value == "hello"
        connection_string = appconfig.connection_string(STORE)
        async with AsyncAzureAppConfigurationClient.from_connection_string(connection_string) as client:
            # aiohttp sends ':' unquoted and the SDK signs that form: the fake sees what aiohttp would send.
            await client.set_configuration_setting(_setting("app:new:key", "v"))
    assert appconfig.get(STORE, "app:new:key").value == "v"


def _setting(key: str, value: str) -> object:
    from azure.appconfiguration import ConfigurationSetting

    return ConfigurationSetting(key=key, value=value)


def test_provider_load_with_its_own_key_vault_resolution_reaches_both_fakes() -> None:
    _keyvault, appconfig = _fakes()
    with appconfig.patch():
        config = provider_load(
            endpoint=ENDPOINT,
            credential=DefaultAzureCredential(),
            keyvault_credential=DefaultAzureCredential(),
            selects=[SettingSelector(key_filter="app:*"), SettingSelector(key_filter="app:*", label_filter="prod")],
            trim_prefixes=["app:"],
        )
    assert dict(config) == {"greeting": "hello from prod", "db:password": "s3cret"}


def test_kvconfig_load_under_the_patch_resolves_through_kvconfig() -> None:
    keyvault, appconfig = _fakes()
    with appconfig.patch(), SecretResolver() as resolver:
        config = kvconfig_load(connection_string=appconfig.connection_string(STORE), resolver=resolver)
        assert config["app:db:password"] == "s3cret"
    assert keyvault.operation_counts["GetSecret"] == 1


async def test_aio_provider_load_through_kvconfig_under_the_patch() -> None:
    _keyvault, appconfig = _fakes()
    with appconfig.patch():
        credential = AsyncDefaultAzureCredential()
        async with SecretResolver(credential) as resolver:
            config = await kvconfig_load_async(endpoint=ENDPOINT, credential=credential, resolver=resolver)
            assert config["app:db:password"] == "s3cret"
            await config.close()
        await credential.close()


def test_the_providers_replica_discovery_asks_no_dns_server_while_patched() -> None:
    _keyvault, appconfig = _fakes()
    original = dns.resolver.resolve
    original_async = dns.asyncresolver.resolve

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a DNS query left the test: {args}")

    dns.resolver.resolve = no_network  # type: ignore[assignment]
    try:
        with appconfig.patch():
            with pytest.raises(dns.resolver.NXDOMAIN):
                dns.resolver.resolve(f"_origin._tcp.{STORE}.azconfig.io", "SRV")
            # replica_discovery_enabled is the provider's default: its SRV lookups are answered by the patch.
            selects = [SettingSelector(key_filter="app:greeting")]
            config = provider_load(endpoint=ENDPOINT, credential=DefaultAzureCredential(), selects=selects)
            assert config["app:greeting"] == "hello"
            # Names that are no store's are the resolver's own business (here: the stand-in above).
            with pytest.raises(AssertionError, match="DNS query left"):
                dns.resolver.resolve("example.com", "A")
        assert dns.resolver.resolve is no_network
    finally:
        dns.resolver.resolve = original  # type: ignore[assignment]
    assert dns.asyncresolver.resolve is original_async


async def test_async_dns_lookups_of_stores_answer_no_such_name_while_patched() -> None:
    _keyvault, appconfig = _fakes()
    with appconfig.patch(), pytest.raises(dns.resolver.NXDOMAIN):
        await dns.asyncresolver.resolve(f"_alt0._tcp.{STORE}.azconfig.io", "SRV")


def test_other_hosts_are_refused_and_a_store_alone_serves_no_vault() -> None:
    appconfig = FakeAppConfiguration()  # no fake Key Vault to share
    appconfig.set(STORE, "k", "v")
    with appconfig.patch():
        with AzureAppConfigurationClient(ENDPOINT, ManagedIdentityCredential()) as client:
            assert client.get_configuration_setting("k").value == "v"
        vault = "https://contoso-app.vault.azure.net"
        with SecretClient(vault, DefaultAzureCredential()) as secrets, pytest.raises(ServiceRequestError) as caught:
            secrets.get_secret("db-password")
        assert f"refused a request to {vault}" in str(caught.value)
        other = AzureAppConfigurationClient("https://example.com", DefaultAzureCredential())
        with other, pytest.raises(ServiceRequestError) as caught:
            other.get_configuration_setting("k")
        assert "refused a request to https://example.com" in str(caught.value)


@pytest.mark.parametrize("host", ["contoso-config.azconfig.azure.us", "contoso-config.azconfig.azure.cn"])
def test_sovereign_cloud_stores_are_served_with_their_audience(host: str) -> None:
    appconfig = FakeAppConfiguration()
    appconfig.set(host, "k", "sovereign")
    with appconfig.patch(), AzureAppConfigurationClient(f"https://{host}", DefaultAzureCredential()) as client:
        assert client.get_configuration_setting("k").value == "sovereign"


def test_patch_identity_is_the_caller_the_store_judges() -> None:
    appconfig = FakeAppConfiguration()
    appconfig.set(STORE, "k", "v")
    appconfig.assign_role(STORE, "reader-app", "App Configuration Data Reader")
    with appconfig.patch(identity="reader-app"), AzureAppConfigurationClient(ENDPOINT, DefaultAzureCredential()) as c:
        assert c.get_configuration_setting("k").value == "v"
        with pytest.raises(HttpResponseError) as caught:
            c.set_configuration_setting(_setting("k", "w"))  # type: ignore[arg-type]
        assert caught.value.status_code == 403
    with appconfig.patch(identity="stranger"), AzureAppConfigurationClient(ENDPOINT, DefaultAzureCredential()) as c:
        with pytest.raises(HttpResponseError) as caught:
            c.get_configuration_setting("k")
        assert caught.value.status_code == 403


def test_nested_inside_a_key_vault_patch_and_undone_in_order() -> None:
    keyvault, appconfig = _fakes()
    with keyvault.patch(), SecretClient("https://contoso-app.vault.azure.net", DefaultAzureCredential()) as secrets:
        with appconfig.patch(), AzureAppConfigurationClient(ENDPOINT, DefaultAzureCredential()) as client:
            assert client.get_configuration_setting("app:greeting").value == "hello"
            assert secrets.get_secret("db-password").value == "s3cret"
        # The store patch ended: the vault is still served, the store no longer.
        assert secrets.get_secret("db-password").value == "s3cret"
        store = AzureAppConfigurationClient(ENDPOINT, DefaultAzureCredential())
        with store, pytest.raises(ServiceRequestError, match="refused"):
            store.get_configuration_setting("app:greeting")


def test_patch_as_a_decorator() -> None:
    _keyvault, appconfig = _fakes()

    @appconfig.patch()
    def read() -> str:
        with AzureAppConfigurationClient(ENDPOINT, DefaultAzureCredential()) as client:
            return str(client.get_configuration_setting("app:greeting").value)

    original_send = RequestsTransport.send
    assert read() == "hello"
    assert read() == "hello"  # each call starts and stops its own patch
    assert RequestsTransport.send is original_send
