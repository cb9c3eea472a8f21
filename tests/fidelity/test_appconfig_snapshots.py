"""Snapshots through the official AzureAppConfigurationClient (sync and aio, HMAC and Entra, transport and patch):
create as a long-running operation polled through ``/operations``, get, list, archive, recover, expiry, and the
key-values of a snapshot; and the provider loading from a snapshot."""

from __future__ import annotations

from typing import Any

import pytest
from azure.appconfiguration import AzureAppConfigurationClient, ConfigurationSettingsFilter
from azure.appconfiguration.provider import SettingSelector
from azure.appconfiguration.provider import load as provider_load
from azure.appconfiguration.provider.aio import load as async_provider_load
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceModifiedError, ResourceNotFoundError

from kvconfig.fake import FakeKeyVault, ManualClock
from kvconfig.fake.appconfig import FakeAppConfiguration

from .appconfig_support import STORE, StoreUnderTest


def _arrange(fake: FakeAppConfiguration) -> None:
    fake.set(STORE, "app:color", "blue")
    fake.set(STORE, "app:color", "red", label="prod")
    fake.set(STORE, "app:size", "L")
    fake.set(STORE, "other", "x")


async def _create(store: StoreUnderTest, name: str, filters: list[Any], **kwargs: Any) -> Any:
    poller = await store.call(store.client.begin_create_snapshot, name, filters, **kwargs)
    return await store.call(poller.result)


async def test_create_snapshot_polls_the_operation_and_returns_the_ready_snapshot(store: StoreUnderTest) -> None:
    _arrange(store.fake)
    created = await _create(
        store, "release-1", [ConfigurationSettingsFilter(key="app:*")], tags={"team": "a"}, retention_period=7200
    )
    assert (created.name, created.status, created.composition_type) == ("release-1", "ready", "key")
    assert created.items_count == 2  # the null label only: a filter without a label takes the null label
    assert created.retention_period == 7200
    assert created.tags == {"team": "a"}
    assert created.etag
    assert created.created is not None
    assert created.expires is None
    assert [f.key for f in created.filters] == ["app:*"]
    assert store.fake.operation_counts["CreateSnapshot"] == 1
    assert store.fake.operation_counts["GetOperationDetails"] >= 1


async def test_snapshot_key_values_do_not_change_when_the_store_does(store: StoreUnderTest) -> None:
    _arrange(store.fake)
    await _create(store, "frozen", [ConfigurationSettingsFilter(key="app:*", label="prod")])
    store.fake.set(STORE, "app:color", "green", label="prod")
    store.fake.set(STORE, "app:new", "n", label="prod")
    items = await store.collect(store.client.list_configuration_settings(snapshot_name="frozen"))
    assert [(s.key, s.label, s.value) for s in items] == [("app:color", "prod", "red")]


async def test_key_composition_lets_a_later_filter_override_and_key_label_keeps_both(store: StoreUnderTest) -> None:
    _arrange(store.fake)
    filters = [ConfigurationSettingsFilter(key="app:*"), ConfigurationSettingsFilter(key="app:*", label="prod")]
    await _create(store, "by-key", filters)
    await _create(store, "by-key-label", filters, composition_type="key_label")
    by_key = await store.collect(store.client.list_configuration_settings(snapshot_name="by-key"))
    assert [(s.key, s.value) for s in by_key] == [("app:color", "red"), ("app:size", "L")]
    both = await store.collect(store.client.list_configuration_settings(snapshot_name="by-key-label"))
    assert [(s.key, s.label) for s in both] == [("app:color", None), ("app:color", "prod"), ("app:size", None)]


async def test_get_list_archive_and_recover_a_snapshot(store: StoreUnderTest) -> None:
    _arrange(store.fake)
    await _create(store, "snap-a", [ConfigurationSettingsFilter(key="app:*")])
    await _create(store, "snap-b", [ConfigurationSettingsFilter(key="other")])
    got = await store.call(store.client.get_snapshot, "snap-a")
    assert (got.name, got.status) == ("snap-a", "ready")
    archived = await store.call(store.client.archive_snapshot, "snap-a")
    assert archived.status == "archived"
    assert archived.expires is not None
    assert archived.etag != got.etag
    names = [s.name for s in await store.collect(store.client.list_snapshots())]
    assert names == ["snap-a", "snap-b"]
    ready = [s.name for s in await store.collect(store.client.list_snapshots(status=["ready"]))]
    assert ready == ["snap-b"]
    prefixed = [s.name for s in await store.collect(store.client.list_snapshots(name="snap-a*"))]
    assert prefixed == ["snap-a"]
    # An archived snapshot can still be read until it expires.
    items = await store.collect(store.client.list_configuration_settings(snapshot_name="snap-a"))
    assert [s.key for s in items] == ["app:color", "app:size"]
    recovered = await store.call(store.client.recover_snapshot, "snap-a")
    assert (recovered.status, recovered.expires) == ("ready", None)


async def test_archive_with_a_stale_etag_is_refused(store: StoreUnderTest) -> None:
    _arrange(store.fake)
    created = await _create(store, "snap", [ConfigurationSettingsFilter(key="app:*")])
    await store.call(store.client.archive_snapshot, "snap")
    with pytest.raises(ResourceModifiedError):
        await store.call(
            store.client.recover_snapshot, "snap", etag=created.etag, match_condition=MatchConditions.IfNotModified
        )


async def test_missing_snapshot_and_taken_name_answer_like_the_service(store: StoreUnderTest) -> None:
    _arrange(store.fake)
    with pytest.raises(ResourceNotFoundError):
        await store.call(store.client.get_snapshot, "absent")
    with pytest.raises(ResourceNotFoundError):
        await store.collect(store.client.list_configuration_settings(snapshot_name="absent"))
    await _create(store, "taken", [ConfigurationSettingsFilter(key="app:*")])
    with pytest.raises(HttpResponseError) as caught:
        await _create(store, "taken", [ConfigurationSettingsFilter(key="app:*")])
    assert caught.value.status_code == 409


async def test_invalid_snapshot_requests_are_400s(store: StoreUnderTest) -> None:
    with pytest.raises(HttpResponseError) as caught:
        await _create(store, "bad", [ConfigurationSettingsFilter(key="app:*")], retention_period=10)
    assert caught.value.status_code == 400
    with pytest.raises(HttpResponseError) as caught:
        await _create(store, "bad", [ConfigurationSettingsFilter(key=f"k{i}") for i in range(4)])
    assert caught.value.status_code == 400
    with pytest.raises(HttpResponseError) as caught:
        await _create(store, "bad", [ConfigurationSettingsFilter(key="a*b")])
    assert caught.value.status_code == 400


def test_an_archived_snapshot_expires_after_its_retention_period() -> None:
    clock = ManualClock()
    fake = FakeAppConfiguration(clock=clock)
    _arrange(fake)
    client = AzureAppConfigurationClient.from_connection_string(
        fake.connection_string(STORE), transport=fake.transport()
    )
    with client:
        poller = client.begin_create_snapshot(
            "short", [ConfigurationSettingsFilter(key="app:*")], retention_period=3600
        )
        poller.result()
        client.archive_snapshot("short")
        clock.advance(3599)
        assert client.get_snapshot("short").status == "archived"
        clock.advance(2)
        with pytest.raises(ResourceNotFoundError):
            client.get_snapshot("short")
        assert [s.name for s in client.list_snapshots()] == []


def _provider_fakes() -> tuple[FakeKeyVault, FakeAppConfiguration]:
    keyvault = FakeKeyVault()
    fake = FakeAppConfiguration(keyvault=keyvault)
    keyvault.set_secret("contoso-app", "db-password", "s3cret")
    fake.set(STORE, "app:color", "blue")
    fake.set_secret_reference(STORE, "app:db", "https://contoso-app.vault.azure.net/secrets/db-password")
    client = AzureAppConfigurationClient.from_connection_string(
        fake.connection_string(STORE), transport=fake.transport()
    )
    with client:
        client.begin_create_snapshot("release", [ConfigurationSettingsFilter(key="app:*")]).result()
    fake.set(STORE, "app:color", "changed after the snapshot")
    return keyvault, fake


def test_provider_loads_a_snapshot_with_its_key_vault_references() -> None:
    keyvault, fake = _provider_fakes()
    checks_before = fake.operation_counts["GetSnapshot"]
    with fake.patch():
        config = provider_load(
            connection_string=fake.connection_string(STORE),
            selects=[SettingSelector(snapshot_name="release")],
            keyvault_credential=keyvault.credential(),
            trim_prefixes=["app:"],
        )
    assert dict(config) == {"color": "blue", "db": "s3cret"}
    assert fake.operation_counts["GetSnapshot"] > checks_before  # the provider checks its composition type


async def test_aio_provider_loads_a_snapshot() -> None:
    keyvault, fake = _provider_fakes()
    config = await async_provider_load(
        connection_string=fake.connection_string(STORE),
        transport=fake.async_transport(),
        replica_discovery_enabled=False,
        selects=[SettingSelector(snapshot_name="release")],
        keyvault_client_configs={"https://contoso-app.vault.azure.net/": {"transport": keyvault.async_transport()}},
        keyvault_credential=keyvault.async_credential(),
    )
    assert config["app:color"] == "blue"
    assert config["app:db"] == "s3cret"
    await config.close()


@pytest.mark.usefixtures("provider_fails_at_once")
def test_provider_refuses_a_key_label_snapshot_as_the_service_composes_it() -> None:
    _keyvault, fake = _provider_fakes()
    client = AzureAppConfigurationClient.from_connection_string(
        fake.connection_string(STORE), transport=fake.transport()
    )
    with client:
        poller = client.begin_create_snapshot(
            "by-label", [ConfigurationSettingsFilter(key="app:color")], composition_type="key_label"
        )
        poller.result()
    with fake.patch(), pytest.raises(ValueError, match="must be 'key'"):
        provider_load(
            connection_string=fake.connection_string(STORE), selects=[SettingSelector(snapshot_name="by-label")]
        )


def test_a_data_reader_reads_snapshots_and_cannot_create_or_archive_them() -> None:
    fake = FakeAppConfiguration()
    _arrange(fake)
    fake.assign_role(STORE, "owner-app", "App Configuration Data Owner")
    fake.assign_role(STORE, "reader-app", "App Configuration Data Reader")
    endpoint = fake.endpoint(STORE)
    with AzureAppConfigurationClient(endpoint, fake.credential("owner-app"), transport=fake.transport()) as owner:
        owner.begin_create_snapshot("snap", [ConfigurationSettingsFilter(key="app:*")]).result()
    with AzureAppConfigurationClient(endpoint, fake.credential("reader-app"), transport=fake.transport()) as reader:
        assert reader.get_snapshot("snap").status == "ready"
        assert [s.key for s in reader.list_configuration_settings(snapshot_name="snap")] == ["app:color", "app:size"]
        for write in (
            lambda: reader.begin_create_snapshot("other", [ConfigurationSettingsFilter(key="app:*")]).result(),
            lambda: reader.archive_snapshot("snap"),
        ):
            with pytest.raises(HttpResponseError) as caught:
                write()
            assert caught.value.status_code == 403
