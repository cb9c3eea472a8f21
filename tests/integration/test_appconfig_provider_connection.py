"""``kvconfig.appconfig.load`` hands the provider the connection string it checked, in the SDK's own form
(``Endpoint=...;Id=...;Secret=...``): the provider reads its endpoint from the first part alone (``Id=...`` first would
be its endpoint for replica discovery), and the SDK's parser takes the three names in that case only."""

from __future__ import annotations

import pytest

from kvconfig import SecretResolver
from kvconfig.appconfig import load, load_async
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.appconfig import FakeAppConfiguration

STORE = "provider-store"


def _reshaped(connection_string: str) -> list[str]:
    endpoint, key_id, secret = (part.partition("=")[2] for part in connection_string.split(";"))
    return [
        f"endpoint={endpoint}; id={key_id}; secret={secret};",
        f"Id={key_id};Endpoint={endpoint};Secret={secret}",
    ]


@pytest.mark.parametrize("shape", [0, 1])
async def test_a_connection_string_kvconfig_accepts_is_one_the_provider_reads(shape: int) -> None:
    keyvault = FakeKeyVault()
    appconfig = FakeAppConfiguration(keyvault=keyvault)
    appconfig.set(STORE, "app:name", "demo")
    connection_string = _reshaped(appconfig.connection_string(STORE))[shape]
    options = {"transport": appconfig.transport(), "replica_discovery_enabled": False}

    with SecretResolver(keyvault.async_credential(), transport=keyvault.async_transport) as resolver:
        config = load(connection_string=connection_string, resolver=resolver, **options)
        assert dict(config) == {"app:name": "demo"}
        assert config._replica_client_manager._original_endpoint == appconfig.endpoint(STORE)
    options["transport"] = appconfig.async_transport()
    async with (
        SecretResolver(keyvault.async_credential(), transport=keyvault.async_transport) as resolver,
        await load_async(connection_string=connection_string, resolver=resolver, **options) as config,
    ):
        assert dict(config) == {"app:name": "demo"}
