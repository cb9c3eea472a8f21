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
    assert user.role_type == "AKSBuiltInRole"
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


async def test_built_in_role_definitions_cannot_be_deleted(pool: Pool) -> None:
    access = pool.access()
    user = await _definition(pool, "Managed HSM Crypto User")
    with pytest.raises(HttpResponseError) as refused:
        await call(access.delete_role_definition(KeyVaultRoleScope.GLOBAL, user.name))
    assert refused.value.status_code == 403


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
    with pytest.raises(ResourceNotFoundError):
        await call(settings.get_setting("NoSuchSetting"))
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
