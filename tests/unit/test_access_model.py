"""Pure logic of access control, audit names and throttle categories: no SDK, no HTTP."""

from __future__ import annotations

import pytest

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.control.audit import AUDIT_OPERATION_NAMES
from kvconfig.fake.core.catalogue import CATALOGUE
from kvconfig.fake.core.permissions import MAX_ACCESS_POLICIES, NetworkRules
from kvconfig.fake.core.roles import BUILT_IN_ROLES, OPERATION_PERMISSIONS, find_role
from kvconfig.fake.secrets.operations import ROUTES as SECRET_ROUTES

ALL_OPERATIONS = {route.operation for route in (*CATALOGUE, *SECRET_ROUTES)}


def test_every_operation_of_every_kind_has_a_permission_and_an_audit_name() -> None:
    assert ALL_OPERATIONS - set(OPERATION_PERMISSIONS) == {"GetRandomBytes"}
    assert set(AUDIT_OPERATION_NAMES) >= ALL_OPERATIONS


def test_reader_role_grants_metadata_actions_but_not_secret_values() -> None:
    reader = find_role("Key Vault Reader")
    assert reader.allows("Microsoft.KeyVault/vaults/secrets/readMetadata/action")
    assert reader.allows("Microsoft.KeyVault/vaults/keys/read")
    assert reader.allows("Microsoft.KeyVault/vaults/certificates/read")
    assert not reader.allows("Microsoft.KeyVault/vaults/secrets/getSecret/action")
    assert not reader.allows("Microsoft.KeyVault/vaults/keys/decrypt/action")


def test_wildcard_roles_cover_their_collection_only() -> None:
    officer = find_role("key vault secrets officer")
    assert officer.allows("Microsoft.KeyVault/vaults/secrets/purge/action")
    assert not officer.allows("Microsoft.KeyVault/vaults/keys/read")
    assert find_role("Key Vault Administrator").allows("Microsoft.KeyVault/vaults/certificatecas/delete")


def test_roles_without_data_actions_grant_nothing() -> None:
    for name in ("Key Vault Data Access Administrator", "Key Vault Purge Operator"):
        assert not find_role(name).allows("Microsoft.KeyVault/vaults/secrets/purge/action")


def test_find_role_by_id_and_refuses_unknown_or_wrong_kind() -> None:
    assert find_role("4633458b-17de-408a-b874-0445c86b69e6").name == "Key Vault Secrets User"
    with pytest.raises(ValueError, match="not a built-in role"):
        find_role("Key Vault Superuser")
    with pytest.raises(ValueError, match="Managed HSM"):
        find_role("Key Vault Reader", "managedhsm")
    assert len({role.id for role in BUILT_IN_ROLES}) == len(BUILT_IN_ROLES)


def test_assign_role_accepts_arm_scopes_and_refuses_unknown_ones() -> None:
    vault = FakeKeyVault().create_vault("scopes")
    arm = f"{vault.properties.resource_id}/secrets/Db-Password"
    assert vault.assign_role("app", "Key Vault Secrets User", scope=arm).scope == "/secrets/db-password"
    with pytest.raises(ValueError, match="not a role assignment scope"):
        vault.assign_role("app", "Key Vault Secrets User", scope="/storage/x")


def test_access_policy_permissions_are_validated_and_all_expands() -> None:
    vault = FakeKeyVault().create_vault("policies", rbac=False)
    policy = vault.set_access_policy("app", secrets=["Get", "LIST"], keys=["all"])
    assert policy.secrets == {"get", "list"}
    assert "rotate" in policy.keys
    with pytest.raises(ValueError, match="not a secrets access-policy permission"):
        vault.set_access_policy("app", secrets=["read"])


def test_access_policies_stop_at_1024_entries() -> None:
    vault = FakeKeyVault().create_vault("crowded", rbac=False)
    for index in range(MAX_ACCESS_POLICIES):
        vault.set_access_policy(f"p{index}", secrets=["get"])
    vault.set_access_policy("p0", secrets=["list"])  # replacing an entry is fine
    with pytest.raises(ValueError, match="1024"):
        vault.set_access_policy("one-too-many", secrets=["get"])


def test_switching_to_rbac_is_one_way() -> None:
    vault = FakeKeyVault().create_vault("legacy", rbac=False)
    vault.access.use_access_policies()  # still allowed: the vault uses access policies
    vault.access.use_rbac()
    assert vault.properties.rbac
    with pytest.raises(ValueError, match="switching back"):
        vault.access.use_access_policies()


def test_network_rules_match_addresses_and_ranges() -> None:
    rules = (
        FakeKeyVault().create_vault("fw1").set_network_rules(ip_rules=["10.1.0.0/16", "203.0.113.7", "2001:db8::/32"])
    )
    assert rules.allows("10.1.200.3")
    assert rules.allows("203.0.113.7")
    assert rules.allows("2001:db8::1")
    assert not rules.allows("10.2.0.1")
    assert not rules.allows(None)
    assert NetworkRules("Allow").allows("198.51.100.1")
    with pytest.raises(ValueError, match="CIDR"):
        FakeKeyVault().create_vault("fw22").set_network_rules(ip_rules=["10.0.0.0/99"])


def test_managed_hsm_pools_take_local_roles_and_no_access_policies() -> None:
    pool = FakeKeyVault().create_vault("pool", cloud="managedhsm.azure.net")
    assert pool.assign_role("app", "Managed HSM Crypto User", scope="/keys").scope == "/keys"
    with pytest.raises(ValueError, match="no access policies"):
        pool.set_access_policy("app", keys=["get"])
    with pytest.raises(ValueError, match="Managed HSM role scope"):
        pool.assign_role("app", "Managed HSM Crypto User", scope="/secrets/x")
    assert pool.properties.hsm_backed_keys
    assert not FakeKeyVault().create_vault("std").properties.hsm_backed_keys
    assert FakeKeyVault().create_vault("prem", sku="premium").properties.hsm_backed_keys
