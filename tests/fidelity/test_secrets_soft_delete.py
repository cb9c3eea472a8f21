"""Delete, get deleted, list deleted, recover and purge through the official SecretClient, and the vault's recovery
settings (soft delete off, custom retention, purge protection) as the SDK sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from kvconfig.fake import ManualClock

from .support import VaultUnderTest


async def test_delete_secret_returns_deleted_secret_with_recovery_id_and_dates(kv_versions: VaultUnderTest) -> None:
    kv = kv_versions
    name = kv.name()
    secret = await kv.set(name, "v", tags={"t": "1"})
    deleted = await kv.delete(name)
    assert deleted.name == name
    assert deleted.recovery_id == f"{kv.vault_url}/deletedsecrets/{name}"
    assert deleted.deleted_date is not None
    assert deleted.scheduled_purge_date is not None
    if not kv.live:
        assert deleted.scheduled_purge_date - deleted.deleted_date == timedelta(days=90)
    assert deleted.properties.version == secret.properties.version
    assert deleted.properties.tags == {"t": "1"}
    with pytest.raises(ResourceNotFoundError):
        await kv.call(kv.client.get_secret, name)


async def test_get_deleted_secret_returns_the_deleted_secret(kv_versions: VaultUnderTest) -> None:
    kv = kv_versions
    name = kv.name()
    await kv.set(name, "v")
    await kv.delete(name)
    deleted = await kv.call(kv.client.get_deleted_secret, name)
    assert deleted.name == name
    assert deleted.recovery_id == f"{kv.vault_url}/deletedsecrets/{name}"
    assert deleted.properties.id.startswith(f"{kv.vault_url}/secrets/{name}/")


async def test_get_deleted_secret_of_live_secret_raises_not_found(kv: VaultUnderTest) -> None:
    name = kv.name()
    await kv.set(name, "v")
    with pytest.raises(ResourceNotFoundError) as caught:
        await kv.call(kv.client.get_deleted_secret, name)
    assert caught.value.error is not None
    assert caught.value.error.code == "SecretNotFound"
    assert caught.value.error.message == f"Deleted Secret not found: {name}"


async def test_delete_secret_missing_raises_not_found(kv: VaultUnderTest) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        await kv.delete(kv.name())
    assert caught.value.error is not None
    assert caught.value.error.code == "SecretNotFound"


async def test_list_deleted_secrets_pages_deleted_items(kv: VaultUnderTest) -> None:
    names = sorted(kv.name("del") for _ in range(3))
    for name in names:
        await kv.set(name, "v")
        await kv.delete(name)
    items = await kv.collect(kv.client.list_deleted_secrets(max_page_size=1))
    mine = {item.name: item for item in items if item.name in names}
    assert sorted(mine) == names
    for name, item in mine.items():
        assert item.recovery_id == f"{kv.vault_url}/deletedsecrets/{name}"
        assert item.id == f"{kv.vault_url}/secrets/{name}"
        assert item.deleted_date is not None
        assert item.scheduled_purge_date is not None


async def test_recover_deleted_secret_brings_back_every_version(kv_versions: VaultUnderTest) -> None:
    kv = kv_versions
    name = kv.name()
    old = await kv.set(name, "old")
    new = await kv.set(name, "new")
    await kv.delete(name)
    recovered = await kv.recover(name)
    assert recovered.name == name
    assert recovered.version == new.properties.version
    assert (await kv.call(kv.client.get_secret, name)).value == "new"
    assert (await kv.call(kv.client.get_secret, name, old.properties.version)).value == "old"
    with pytest.raises(ResourceNotFoundError):
        await kv.call(kv.client.get_deleted_secret, name)


async def test_recover_deleted_secret_that_was_not_deleted_raises_not_found(kv: VaultUnderTest) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        await kv.recover(kv.name())
    assert caught.value.error is not None
    assert caught.value.error.code == "SecretNotFound"


async def test_purge_deleted_secret_removes_it_for_good(kv_versions: VaultUnderTest) -> None:
    kv = kv_versions
    name = kv.name()
    await kv.set(name, "v")
    await kv.delete(name)
    assert await kv.call(kv.client.purge_deleted_secret, name) is None
    with pytest.raises(ResourceNotFoundError):
        await kv.call(kv.client.get_deleted_secret, name)
    # The name is free again.
    assert (await kv.set(name, "again")).value == "again"


async def test_purge_deleted_secret_sends_delete_and_gets_204(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    seen: list[tuple[str, int]] = []
    fake.listeners.append(lambda record: seen.append((record.operation or "", record.status)))
    name = kv.name()
    await kv.set(name, "v")
    await kv.delete(name)
    await kv.call(kv.client.purge_deleted_secret, name)
    assert ("PurgeDeletedSecret", 204) in seen


async def test_purge_of_secret_that_is_not_deleted_raises_not_found(kv: VaultUnderTest) -> None:
    with pytest.raises(ResourceNotFoundError):
        await kv.call(kv.client.purge_deleted_secret, kv.name())


async def test_set_secret_on_soft_deleted_name_raises_conflict_deleted_but_recoverable(
    kv: VaultUnderTest,
) -> None:
    name = kv.name()
    await kv.set(name, "v")
    await kv.delete(name)
    with pytest.raises(ResourceExistsError) as caught:
        await kv.call(kv.client.set_secret, name, "again")
    assert caught.value.status_code == 409
    assert caught.value.error is not None
    assert caught.value.error.code == "Conflict"
    assert caught.value.error.innererror == {"code": "ObjectIsDeletedButRecoverable"}
    assert f"Secret {name} is currently in a deleted but recoverable state" in caught.value.error.message


# -- vault recovery settings (the fake's create_vault; a live vault has whatever it was created with) ----------


async def test_purge_under_purge_protection_is_refused(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    vault = fake.create_vault("ppvault", purge_protection=True)
    client = kv.make_client(vault.url)
    secret = await kv.call(client.set_secret, "s1", "v")
    assert secret.properties.recovery_level == "Recoverable"
    await kv.delete("s1", client)
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(client.purge_deleted_secret, "s1")
    assert caught.value.status_code == 403
    assert caught.value.error is not None
    assert caught.value.error.code == "Forbidden"
    assert "purge protection" in caught.value.error.message
    # Still recoverable.
    await kv.recover("s1", client)
    assert (await kv.call(client.get_secret, "s1")).value == "v"


async def test_delete_without_soft_delete_has_no_recovery_id_and_is_final(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    vault = fake.create_vault("nosoftdelete", soft_delete=False)
    client = kv.make_client(vault.url)
    secret = await kv.call(client.set_secret, "s1", "v")
    assert secret.properties.recovery_level == "Purgeable"
    assert secret.properties.recoverable_days is None
    deleted = await kv.delete("s1", client)
    assert deleted.recovery_id is None
    assert deleted.deleted_date is None
    with pytest.raises(ResourceNotFoundError):
        await kv.call(client.get_deleted_secret, "s1")
    assert (await kv.call(client.set_secret, "s1", "fresh")).value == "fresh"


async def test_custom_retention_reports_customized_recovery_level_and_days(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    vault = fake.create_vault("week", retention_days=7)
    client = kv.make_client(vault.url)
    secret = await kv.call(client.set_secret, "s1", "v")
    assert secret.properties.recovery_level == "CustomizedRecoverable+Purgeable"
    assert secret.properties.recoverable_days == 7
    deleted = await kv.delete("s1", client)
    assert deleted.scheduled_purge_date is not None
    assert deleted.deleted_date is not None
    assert deleted.scheduled_purge_date - deleted.deleted_date == timedelta(days=7)


async def test_custom_retention_with_purge_protection_is_customized_recoverable(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    vault = fake.create_vault("weekpp", retention_days=30, purge_protection=True)
    client = kv.make_client(vault.url)
    secret = await kv.call(client.set_secret, "s1", "v")
    assert secret.properties.recovery_level == "CustomizedRecoverable"
    assert secret.properties.recoverable_days == 30


async def test_deleted_secret_is_purged_by_the_service_after_retention(kv: VaultUnderTest) -> None:
    clock = ManualClock()
    kv.need_fake().clock = clock
    name = kv.name()
    await kv.set(name, "v")
    await kv.delete(name)
    clock.advance(days=89)
    assert (await kv.call(kv.client.get_deleted_secret, name)).name == name
    clock.advance(days=1)
    with pytest.raises(ResourceNotFoundError):
        await kv.call(kv.client.get_deleted_secret, name)
    assert (await kv.set(name, "reborn")).value == "reborn"
