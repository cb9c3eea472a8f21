"""The fake store keeps a listing's sorted, filtered selection between pages: a write, or a restore that replaces
the key-values as a whole (the emulator's data folder), must never leave a listing on the old selection."""

from __future__ import annotations

from azure.appconfiguration import AzureAppConfigurationClient

from kvconfig.fake.appconfig import FakeAppConfiguration
from kvconfig.fake.appconfig.store_state import dumps_store, restore_store


def _keys(client: AzureAppConfigurationClient) -> list[str]:
    return [setting.key for setting in client.list_configuration_settings()]


def test_a_restored_store_lists_its_restored_key_values_even_at_the_same_sequence() -> None:
    fake = FakeAppConfiguration()
    fake.set("other-store", "restored", "1")
    blob = dumps_store(fake.store("other-store"))  # sequence 1, like the store below
    fake.set("main-store", "before", "1")
    client = AzureAppConfigurationClient.from_connection_string(
        fake.connection_string("main-store"), transport=fake.transport()
    )
    assert _keys(client) == ["before"]
    main = fake.store("main-store")
    restore_store(main, blob)
    assert main.sequence == 1
    client = AzureAppConfigurationClient.from_connection_string(
        fake.connection_string("main-store"), transport=fake.transport()
    )  # the restored store has the other store's access keys
    assert _keys(client) == ["restored"]


def test_listings_with_different_filters_are_kept_apart_and_a_write_refreshes_them() -> None:
    fake = FakeAppConfiguration()
    for key in ("app:a", "app:b", "db:a"):
        fake.set("main-store", key, "v")
    client = AzureAppConfigurationClient.from_connection_string(
        fake.connection_string("main-store"), transport=fake.transport()
    )
    assert [s.key for s in client.list_configuration_settings(key_filter="app:*")] == ["app:a", "app:b"]
    assert [s.key for s in client.list_configuration_settings(key_filter="db:*")] == ["db:a"]
    fake.set("main-store", "app:c", "v")
    assert [s.key for s in client.list_configuration_settings(key_filter="app:*")] == ["app:a", "app:b", "app:c"]
