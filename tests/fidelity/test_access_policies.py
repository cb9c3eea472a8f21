"""Access-policy vaults (``rbac=False``) through the official SecretClient: per-permission allow and deny."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from .access_support import client_for
from .support import VaultUnderTest


async def _legacy_vault(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    fake.create_vault(kv.vault_url, rbac=False)
    fake.set_secret(kv.vault_url, "s1", "v1")


async def test_access_policy_allows_and_denies_per_permission(kv: VaultUnderTest) -> None:
    await _legacy_vault(kv)
    fake = kv.need_fake()
    vault = fake.vault(kv.vault_url)
    vault.set_access_policy("app", secrets=["get", "list"])
    app = client_for(kv, "app")

    assert (await kv.call(app.get_secret, "s1")).value == "v1"
    assert [item.name for item in await kv.collect(app.list_properties_of_secrets())] == ["s1"]
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(app.set_secret, "s1", "v2")
    error = caught.value
    assert error.status_code == 403
    assert error.error is not None
    assert error.error.code == "Forbidden"
    assert error.error.innererror == {"code": "AccessDenied"}
    app_identity = fake.credential("app").identity
    assert error.error.message == (
        f"The user, group or application 'appid={app_identity.object_id};oid={app_identity.object_id};"
        f"iss=https://sts.windows.net/{app_identity.tenant_id}/' does not have secrets set permission on key vault "
        f"'{vault.name};location=westus'. For help resolving this issue, please see "
        "https://go.microsoft.com/fwlink/?linkid=2125287"
    )


async def test_principal_without_a_policy_is_denied_and_granting_takes_effect_at_once(kv: VaultUnderTest) -> None:
    await _legacy_vault(kv)
    vault = kv.need_fake().vault(kv.vault_url)
    vault.set_access_policy("admin", secrets=["all"])
    other = client_for(kv, "other")
    with pytest.raises(HttpResponseError):
        await kv.call(other.get_secret, "s1")
    vault.set_access_policy("other", secrets=["get"])
    assert (await kv.call(other.get_secret, "s1")).value == "v1"
    vault.access.remove_access_policy("other")
    with pytest.raises(HttpResponseError):
        await kv.call(other.get_secret, "s1")


async def test_role_assignments_do_not_count_on_an_access_policy_vault(kv: VaultUnderTest) -> None:
    await _legacy_vault(kv)
    vault = kv.need_fake().vault(kv.vault_url)
    vault.assign_role("app", "Key Vault Secrets Officer")
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(client_for(kv, "app").get_secret, "s1")
    assert caught.value.error is not None
    assert caught.value.error.innererror == {"code": "AccessDenied"}


async def test_switching_the_vault_to_rbac_ignores_access_policies(kv: VaultUnderTest) -> None:
    await _legacy_vault(kv)
    vault = kv.need_fake().vault(kv.vault_url)
    vault.set_access_policy("app", secrets=["get"])
    app = client_for(kv, "app")
    assert (await kv.call(app.get_secret, "s1")).value == "v1"
    vault.access.use_rbac()
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(app.get_secret, "s1")
    assert caught.value.error is not None
    assert caught.value.error.innererror == {"code": "ForbiddenByRbac"}
