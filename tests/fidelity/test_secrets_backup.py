"""Backup and restore through the official SecretClient: same vault after purge, another vault, and refusals."""

from __future__ import annotations

import base64

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from .support import VaultUnderTest


async def _purge(kv: VaultUnderTest, name: str) -> None:
    await kv.delete(name)
    await kv.call(kv.client.purge_deleted_secret, name)


async def test_restore_secret_backup_after_purge_restores_every_version(kv_versions: VaultUnderTest) -> None:
    kv = kv_versions
    name = kv.name()
    old = await kv.set(name, "old", tags={"v": "1"})
    new = await kv.set(name, "new", content_type="text/plain")
    backup = await kv.call(kv.client.backup_secret, name)
    assert isinstance(backup, bytes)
    assert backup
    await _purge(kv, name)
    restored = await kv.call(kv.client.restore_secret_backup, backup)
    assert restored.name == name
    assert restored.version == new.properties.version
    assert restored.content_type == "text/plain"
    assert (await kv.call(kv.client.get_secret, name)).value == "new"
    older = await kv.call(kv.client.get_secret, name, old.properties.version)
    assert (older.value, older.properties.tags) == ("old", {"v": "1"})


async def test_restore_secret_backup_into_another_vault_keeps_versions_under_new_ids(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    name = kv.name()
    secret = await kv.set(name, "portable")
    backup = await kv.call(kv.client.backup_secret, name)
    other = kv.make_client(fake.create_vault("othervault").url)
    restored = await kv.call(other.restore_secret_backup, backup)
    assert restored.vault_url == "https://othervault.vault.azure.net"
    assert restored.id == f"https://othervault.vault.azure.net/secrets/{name}/{secret.properties.version}"
    assert (await kv.call(other.get_secret, name)).value == "portable"


async def test_restore_secret_backup_into_a_recreated_vault_works(kv: VaultUnderTest) -> None:
    # The blob carries everything: the vault it came from may be gone.
    fake = kv.need_fake()
    name = kv.name()
    await kv.set(name, "v")
    backup = await kv.call(kv.client.backup_secret, name)
    fake.delete_vault(kv.vault_url)
    restored = await kv.call(kv.client.restore_secret_backup, backup)
    assert restored.name == name


async def test_restore_secret_backup_over_existing_name_raises_resource_exists(kv: VaultUnderTest) -> None:
    name = kv.name()
    await kv.set(name, "v")
    backup = await kv.call(kv.client.backup_secret, name)
    with pytest.raises(ResourceExistsError) as caught:
        await kv.call(kv.client.restore_secret_backup, backup)
    assert caught.value.status_code == 409
    assert caught.value.error is not None
    assert caught.value.error.code == "Conflict"


async def test_restore_secret_backup_over_soft_deleted_name_raises_resource_exists(kv: VaultUnderTest) -> None:
    name = kv.name()
    await kv.set(name, "v")
    backup = await kv.call(kv.client.backup_secret, name)
    await kv.delete(name)
    with pytest.raises(ResourceExistsError):
        await kv.call(kv.client.restore_secret_backup, backup)


@pytest.mark.parametrize(
    "blob",
    [b"not a backup", b")AzureKeyVaultSecretBackupV1.microsoft.com" + b"\0" * 40],
    ids=["garbage", "right-prefix-corrupt-body"],
)
async def test_restore_secret_backup_of_garbage_raises_malformed_backup_blob(kv: VaultUnderTest, blob: bytes) -> None:
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(kv.client.restore_secret_backup, blob)
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "Malformed backup blob"


async def test_restore_secret_backup_of_tampered_blob_raises_malformed_backup_blob(kv: VaultUnderTest) -> None:
    name = kv.name()
    await kv.set(name, "v")
    backup = bytearray(await kv.call(kv.client.backup_secret, name))
    backup[-5] ^= 0x01
    await _purge(kv, name)
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(kv.client.restore_secret_backup, bytes(backup))
    assert caught.value.error is not None
    assert caught.value.error.code == "Malformed backup blob"


async def test_backup_secret_blob_is_opaque_and_names_the_secret_format(kv: VaultUnderTest) -> None:
    kv.need_fake()
    name = kv.name()
    await kv.set(name, "do-not-leak-this-value")
    backup = await kv.call(kv.client.backup_secret, name)
    assert backup.startswith(b")AzureKeyVaultSecretBackupV1.microsoft.com")
    assert b"do-not-leak-this-value" not in backup
    assert b"do-not-leak-this-value" not in base64.b64encode(backup)


async def test_backup_secret_missing_raises_not_found(kv: VaultUnderTest) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        await kv.call(kv.client.backup_secret, kv.name())
    assert caught.value.error is not None
    assert caught.value.error.code == "SecretNotFound"
