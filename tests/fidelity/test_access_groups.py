"""Group membership in data-plane authorization, through the official SecretClient (sync and async): a role
assignment or access policy to a group's object id authorizes the members whose token lists the group."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from kvconfig.fake import FakeKeyVault, Group, Identity

from .access_support import client_for
from .support import VaultUnderTest


async def _status(kv: VaultUnderTest, method: object, *args: object) -> int:
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(method, *args)  # type: ignore[arg-type]
    return int(caught.value.status_code or 0)


async def test_role_assigned_to_a_group_authorizes_its_members_only(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    fake.set_secret(kv.vault_url, "db", "v")
    vault = fake.vault(kv.vault_url)
    vault.assign_role(Group("readers"), "Key Vault Secrets User", scope="/secrets/db")

    member = client_for(kv, Identity("app", groups=["readers"]))
    assert (await kv.call(member.get_secret, "db")).value == "v"
    # The role reads, it does not write.
    assert await _status(kv, member.set_secret, "db", "new") == 403
    # A caller in another group, and a user who merely shares the group's name, get nothing.
    assert await _status(kv, client_for(kv, Identity("other", groups=["writers"])).get_secret, "db") == 403
    assert await _status(kv, client_for(kv, "readers").get_secret, "db") == 403


async def test_group_given_by_object_id_matches_the_assignment_to_that_id(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    fake.set_secret(kv.vault_url, "db", "v")
    group_id = "6f1a3b2c-9d8e-4f70-a1b2-c3d4e5f60718"
    assignment = fake.vault(kv.vault_url).assign_role(Group("ops", object_id=group_id), "Key Vault Secrets Officer")
    assert assignment.principal_id == group_id
    member = client_for(kv, Identity("ci", app_id="0b1c2d3e-0000-4000-8000-000000000002", groups=[group_id.upper()]))
    await kv.call(member.set_secret, "db", "rotated")
    assert (await kv.call(member.get_secret, "db")).value == "rotated"
    # Removing the group's assignment takes effect on the next request.
    assignment.remove()
    assert await _status(kv, member.get_secret, "db") == 403


async def test_access_policy_for_a_group_authorizes_its_members(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    vault = fake.create_vault(kv.vault_url, rbac=False)
    fake.set_secret(kv.vault_url, "db", "v")
    vault.set_access_policy(Group("ops"), secrets=["get"])
    vault.set_access_policy("alice", secrets=["list"])

    # Alice's own policy and her group's add up.
    alice = client_for(kv, Identity("alice", groups=["ops"]))
    assert (await kv.call(alice.get_secret, "db")).value == "v"
    assert [item.name for item in await kv.collect(alice.list_properties_of_secrets())] == ["db"]
    assert await _status(kv, alice.set_secret, "db", "x") == 403
    assert await _status(kv, client_for(kv, "bob").get_secret, "db") == 403


def test_group_and_user_of_the_same_name_are_different_principals() -> None:
    assert Group("ops").object_id != Identity("ops").object_id
    assert Identity("a", groups=[Group("ops")]).group_ids == Identity("b", groups=["ops"]).group_ids
    with pytest.raises(TypeError):
        Identity("a", groups="ops")  # type: ignore[arg-type]
    fake = FakeKeyVault()
    vault = fake.create_vault("groups-test")
    vault.assign_role(Group("ops"), "Key Vault Reader")
    assert vault.access.role_assignments(Group("ops"))[0].principal_name == "ops"
    assert vault.access.role_assignments("ops") == []
