"""Managed HSM administration through the official azure-keyvault-administration clients (sync and async): role
definitions (built-in and custom), role assignments wired into the pool's access control, and settings."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.administration import (
    KeyVaultAccessControlClient,
    KeyVaultBackupClient,
    KeyVaultDataAction,
    KeyVaultPermission,
    KeyVaultRoleScope,
    KeyVaultSetting,
    KeyVaultSettingsClient,
    KeyVaultSettingType,
)
from azure.keyvault.administration import aio as admin_aio
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys import aio as keys_aio

from kvconfig.fake import FakeKeyVault, Identity

POOL = "https://adminpool.managedhsm.azure.net"
ADMIN = Identity("pool-admin")
APP = Identity("pool-app")


@dataclass
class Pool:
    fake: FakeKeyVault
    mode: str
    closeables: list[Any]

    def _options(self, identity: Identity) -> dict[str, Any]:
        if self.mode == "async":
            return {"credential": self.fake.async_credential(identity), "transport": self.fake.async_transport()}
        return {"credential": self.fake.credential(identity), "transport": self.fake.transport()}

    def access(self, identity: Identity = ADMIN) -> Any:
        cls = admin_aio.KeyVaultAccessControlClient if self.mode == "async" else KeyVaultAccessControlClient
        return self._keep(cls(POOL, retry_total=0, **self._options(identity)))

    def settings(self, identity: Identity = ADMIN) -> Any:
        cls = admin_aio.KeyVaultSettingsClient if self.mode == "async" else KeyVaultSettingsClient
        return self._keep(cls(POOL, retry_total=0, **self._options(identity)))

    def keys(self, identity: Identity) -> Any:
        cls = keys_aio.KeyClient if self.mode == "async" else KeyClient
        return self._keep(cls(POOL, retry_total=0, **self._options(identity)))

    def _keep(self, client: Any) -> Any:
        self.closeables.append(client)
        return client


async def call(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


async def collect(pager: Any) -> list[Any]:
    if hasattr(pager, "__aiter__"):
        return [item async for item in pager]
    return list(pager)


@pytest.fixture(params=["sync", "async"])
async def pool(request: pytest.FixtureRequest) -> AsyncIterator[Pool]:
    fake = FakeKeyVault()
    fake.create_vault(POOL, cloud="managedhsm.azure.net", activated=True)
    handle = Pool(fake, request.param, [])
    try:
        yield handle
    finally:
        for client in handle.closeables:
            await call(client.close())


async def _definition(pool: Pool, name: str) -> Any:
    definitions = await collect(pool.access().list_role_definitions(KeyVaultRoleScope.GLOBAL))
    return next(item for item in definitions if item.role_name == name)


async def test_built_in_role_definitions_are_listed_and_read(pool: Pool) -> None:
    access = pool.access()
    definitions = await collect(access.list_role_definitions(KeyVaultRoleScope.GLOBAL))
    names = {item.role_name for item in definitions}
    assert {"Managed HSM Administrator", "Managed HSM Crypto User", "Managed HSM Crypto Officer"} <= names
    user = next(item for item in definitions if item.role_name == "Managed HSM Crypto User")
    assert user.id == f"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{user.name}"
    assert user.role_type == "AKVBuiltInRole"  # the service's recorded answers; the SDK's KeyVaultRoleType value
    assert KeyVaultDataAction.SIGN_HSM_KEY in user.permissions[0].data_actions
    fetched = await call(access.get_role_definition(KeyVaultRoleScope.GLOBAL, user.name))
    assert fetched.role_name == "Managed HSM Crypto User"
    with pytest.raises(ResourceNotFoundError):
        await call(access.get_role_definition(KeyVaultRoleScope.GLOBAL, "00000000-0000-0000-0000-00000000abcd"))


async def test_an_assignment_made_through_the_client_takes_effect_on_the_next_key_operation(pool: Pool) -> None:
    access = pool.access()
    admin = await _definition(pool, "Managed HSM Administrator")
    crypto_user = await _definition(pool, "Managed HSM Crypto User")
    app_keys = pool.keys(APP)
    await call(app_keys.create_rsa_key("before-rbac"))  # the pool enforces nothing before its first assignment
    made = await call(access.create_role_assignment(KeyVaultRoleScope.GLOBAL, admin.id, ADMIN.object_id))
    assert made.properties.principal_id == ADMIN.object_id
    assert made.properties.role_definition_id == admin.id
    with pytest.raises(HttpResponseError) as refused:
        await call(app_keys.get_key("before-rbac"))
    assert refused.value.status_code == 403
    granted = await call(access.create_role_assignment(KeyVaultRoleScope.KEYS, crypto_user.id, APP.object_id))
    assert (await call(app_keys.get_key("before-rbac"))).name == "before-rbac"
    listed = await collect(access.list_role_assignments(KeyVaultRoleScope.GLOBAL))
    assert {item.name for item in listed} == {made.name, granted.name}
    under_keys = await collect(access.list_role_assignments(KeyVaultRoleScope.KEYS))
    assert [item.name for item in under_keys] == [granted.name]
    fetched = await call(access.get_role_assignment(KeyVaultRoleScope.KEYS, granted.name))
    assert fetched.properties.scope == "/keys"
    await call(access.delete_role_assignment(KeyVaultRoleScope.KEYS, granted.name))
    with pytest.raises(HttpResponseError) as again:
        await call(app_keys.get_key("before-rbac"))
    assert again.value.status_code == 403
    with pytest.raises(ResourceNotFoundError):
        await call(access.get_role_assignment(KeyVaultRoleScope.KEYS, granted.name))


async def test_a_key_scoped_assignment_covers_that_key_only(pool: Pool) -> None:
    access = pool.access()
    admin = await _definition(pool, "Managed HSM Administrator")
    crypto_user = await _definition(pool, "Managed HSM Crypto User")
    admin_keys = pool.keys(ADMIN)
    await call(admin_keys.create_ec_key("mine"))
    await call(admin_keys.create_ec_key("theirs"))
    await call(access.create_role_assignment(KeyVaultRoleScope.GLOBAL, admin.id, ADMIN.object_id))
    await call(access.create_role_assignment("/keys/mine", crypto_user.id, APP.object_id))
    app_keys = pool.keys(APP)
    assert (await call(app_keys.get_key("mine"))).name == "mine"
    with pytest.raises(HttpResponseError) as refused:
        await call(app_keys.get_key("theirs"))
    assert refused.value.status_code == 403


async def test_custom_role_definition_is_created_assigned_and_enforced(pool: Pool) -> None:
    access = pool.access()
    admin = await _definition(pool, "Managed HSM Administrator")
    await call(pool.keys(ADMIN).create_rsa_key("k"))  # before the first assignment: nothing is enforced yet
    await call(access.create_role_assignment(KeyVaultRoleScope.GLOBAL, admin.id, ADMIN.object_id))
    reader = await call(
        access.set_role_definition(
            KeyVaultRoleScope.GLOBAL,
            permissions=[KeyVaultPermission(data_actions=[KeyVaultDataAction.READ_HSM_KEY])],
            role_name="key reader",
            description="reads key metadata",
        )
    )
    assert reader.role_type == "CustomRole"
    assert reader.role_name == "key reader"
    assert reader.description == "reads key metadata"
    await call(access.create_role_assignment(KeyVaultRoleScope.GLOBAL, reader.id, APP.object_id))
    app_keys = pool.keys(APP)
    assert (await call(app_keys.get_key("k"))).name == "k"
    with pytest.raises(HttpResponseError) as refused:
        await call(app_keys.create_rsa_key("not-allowed"))
    assert refused.value.status_code == 403
    with pytest.raises(HttpResponseError) as in_use:
        await call(access.delete_role_definition(KeyVaultRoleScope.GLOBAL, reader.name))
    assert in_use.value.status_code == 409
    listed = await collect(access.list_role_definitions(KeyVaultRoleScope.GLOBAL))
    assert reader.name in {item.name for item in listed}


async def test_a_role_definition_without_permissions_is_created_and_grants_nothing(pool: Pool) -> None:
    # The service creates it (Java session record createExistingRoleAssignmentThrows sends only a roleName).
    empty = await call(pool.access().set_role_definition(KeyVaultRoleScope.GLOBAL, role_name="nothing yet"))
    assert empty.role_type == "CustomRole"
    assert [(p.data_actions, p.not_data_actions) for p in empty.permissions] == [([], [])]


async def test_built_in_role_definitions_cannot_be_deleted_or_replaced(pool: Pool) -> None:
    access = pool.access()
    user = await _definition(pool, "Managed HSM Crypto User")
    with pytest.raises(HttpResponseError) as refused:
        await call(access.delete_role_definition(KeyVaultRoleScope.GLOBAL, user.name))
    assert refused.value.status_code == 403
    # Replacing one is the service's recorded 400 (azure-sdk-for-js keyvault-admin recording).
    with pytest.raises(HttpResponseError) as reused:
        await call(
            access.set_role_definition(
                KeyVaultRoleScope.GLOBAL,
                name=user.name,
                role_name="mine",
                permissions=[KeyVaultPermission(data_actions=[KeyVaultDataAction.READ_HSM_KEY])],
            )
        )
    assert reused.value.status_code == 400
    assert reused.value.error.code == "BadParameter"
    assert reused.value.error.message == (
        "Cannot re-use the name/GUID matching that of a built-in role. Please use a unique role ID."
    )


async def test_missing_role_definitions_and_assignments_answer_the_recorded_404s(pool: Pool) -> None:
    # The wordings of the Java client's session records (azure-sdk-assets, KeyVaultAccessControlClientTest).
    access = pool.access()
    with pytest.raises(ResourceNotFoundError) as definition:
        await call(access.get_role_definition(KeyVaultRoleScope.GLOBAL, "00000000-0000-0000-0000-00000000d0e5"))
    assert definition.value.error.code == "RoleDefinitionNotFound"
    assert definition.value.error.message == "Requested role definition not found"
    with pytest.raises(ResourceNotFoundError) as assignment:
        await call(access.get_role_assignment(KeyVaultRoleScope.GLOBAL, "00000000-0000-0000-0000-00000000a551"))
    assert assignment.value.error.code == "RoleAssignmentNotFound"
    assert assignment.value.error.message == "Requested role assignment not found"


async def test_creating_an_existing_role_assignment_again_is_the_recorded_400(pool: Pool) -> None:
    access = pool.access()
    admin = await _definition(pool, "Managed HSM Administrator")
    name = "00000000-0000-0000-0000-0000000a5519"
    await call(access.create_role_assignment(KeyVaultRoleScope.GLOBAL, admin.id, ADMIN.object_id, name=name))
    with pytest.raises(HttpResponseError) as again:
        await call(access.create_role_assignment(KeyVaultRoleScope.GLOBAL, admin.id, ADMIN.object_id, name=name))
    assert again.value.status_code == 400
    assert again.value.error.code == "RoleAssignmentExists"
    assert again.value.error.message == "The role assignment already exists."


async def test_settings_are_listed_read_and_updated(pool: Pool) -> None:
    settings = pool.settings()
    listed = (await call(settings.list_settings())) if pool.mode == "sync" else await collect(settings.list_settings())
    listed = list(listed)
    assert [(item.name, item.value, item.setting_type) for item in listed] == [
        ("AllowKeyManagementOperationsThroughARM", "false", KeyVaultSettingType.BOOLEAN)
    ]
    updated = await call(
        settings.update_setting(KeyVaultSetting(name="AllowKeyManagementOperationsThroughARM", value=True))
    )
    assert updated.value == "true"
    assert (await call(settings.get_setting("AllowKeyManagementOperationsThroughARM"))).value == "true"
    # An unknown name is the service's recorded 400 (Go session record TestGetSetting_InvalidSettingName).
    with pytest.raises(HttpResponseError) as unknown:
        await call(settings.get_setting("NoSuchSetting"))
    assert unknown.value.status_code == 400
    assert unknown.value.error.code == "InvalidSetting"
    assert unknown.value.error.message == (
        "Invalid setting name. Please check the spelling of the setting name to update."
    )
    with pytest.raises(HttpResponseError) as refused:
        await call(
            settings.update_setting(KeyVaultSetting(name="AllowKeyManagementOperationsThroughARM", value="maybe"))
        )
    assert refused.value.status_code == 400


def test_administration_routes_answer_a_key_vault_with_400() -> None:
    fake = FakeKeyVault()
    with (
        KeyVaultSettingsClient(
            "https://plain.vault.azure.net", fake.credential(), transport=fake.transport()
        ) as client,
        pytest.raises(HttpResponseError) as refused,
    ):
        client.get_setting("AllowKeyManagementOperationsThroughARM")
    assert refused.value.status_code == 400


# -- full backup and restore, selective key restore ----------------------------------------------------------------

CONTAINER = "https://backupacct.blob.core.windows.net/hsm-backups"


def _backup_client(pool: Pool, url: str = POOL) -> Any:
    options = pool._options(ADMIN)
    cls = admin_aio.KeyVaultBackupClient if pool.mode == "async" else KeyVaultBackupClient
    return pool._keep(cls(url, retry_total=0, **options))


async def _run(pool: Pool, begin: Any, *args: Any, **kwargs: Any) -> Any:
    poller = await call(begin(*args, **kwargs))
    return await call(poller.result())


async def test_full_backup_then_restore_brings_the_keys_back(pool: Pool) -> None:
    keys = pool.keys(ADMIN)
    kept = await call(keys.create_rsa_key("kept"))
    rotated = await call(keys.rotate_key("kept"))
    await call(keys.create_ec_key("other"))
    backups = _backup_client(pool)
    result = await _run(pool, backups.begin_backup, CONTAINER, sas_token="sv=2024&sig=x", _polling_interval=0)
    assert result.folder_url.startswith(f"{CONTAINER}/mhsm-adminpool-")
    # After the backup: one key deleted and purged, one made; a restore brings back the pool as backed up.
    deleting = await call(keys.begin_delete_key("kept") if pool.mode == "sync" else keys.delete_key("kept"))
    if pool.mode == "sync":
        deleting.wait()
    await call(keys.purge_deleted_key("kept"))
    await call(keys.create_oct_key("after-backup"))
    await _run(pool, backups.begin_restore, result.folder_url, sas_token="sv=2024&sig=x", _polling_interval=0)
    back = await call(keys.get_key("kept"))
    assert back.properties.version == rotated.properties.version
    versions = (
        [item.version async for item in keys.list_properties_of_key_versions("kept")]
        if pool.mode == "async"
        else [item.version for item in keys.list_properties_of_key_versions("kept")]
    )
    assert set(versions) == {kept.properties.version, rotated.properties.version}
    with pytest.raises(ResourceNotFoundError):
        await call(keys.get_key("after-backup"))


async def test_selective_key_restore_restores_one_key_and_a_backup_serves_another_pool(pool: Pool) -> None:
    keys = pool.keys(ADMIN)
    original = await call(keys.create_ec_key("chosen"))
    backups = _backup_client(pool)
    result = await _run(pool, backups.begin_backup, CONTAINER, use_managed_identity=True, _polling_interval=0)
    other_pool = "https://otherpool.managedhsm.azure.net"
    pool.fake.create_vault(other_pool, cloud="managedhsm.azure.net", activated=True)
    other = _backup_client(pool, other_pool)
    await _run(pool, other.begin_restore, result.folder_url, sas_token="t", key_name="chosen", _polling_interval=0)
    cls = keys_aio.KeyClient if pool.mode == "async" else KeyClient
    options = pool._options(ADMIN)
    other_keys = pool._keep(cls(other_pool, retry_total=0, **options))
    restored = await call(other_keys.get_key("chosen"))
    assert restored.key.x == original.key.x
    with pytest.raises(HttpResponseError) as failed:
        await _run(pool, other.begin_restore, result.folder_url, sas_token="t", key_name="absent", _polling_interval=0)
    # The failed job's error as the C++ client's session record RestoreSelectiveInvalidKeyStatus shows it.
    assert "The given key or its versions NOT found" in str(failed.value)


async def test_restore_from_a_folder_without_a_backup_fails(pool: Pool) -> None:
    backups = _backup_client(pool)
    with pytest.raises(HttpResponseError) as failed:
        await _run(pool, backups.begin_restore, f"{CONTAINER}/mhsm-nothing-here", sas_token="t", _polling_interval=0)
    assert "holds no backup" in str(failed.value)


async def test_backup_needs_a_sas_token_or_the_managed_identity(pool: Pool) -> None:
    token = pool.fake.credential(ADMIN).get_token("https://managedhsm.azure.net/.default").token
    answer = pool.fake.handle(
        "POST",
        f"{POOL}/backup?api-version=7.6",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        b'{"storageResourceUri": "https://acct.blob.core.windows.net/c"}',
    )
    assert answer.status == 400
    assert "SAS token" in answer.json()["error"]["message"]
