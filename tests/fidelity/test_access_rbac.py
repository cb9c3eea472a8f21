"""Azure RBAC on the fake, through the official SecretClient (sync and async): roles, scopes, removal, 401 vs 403."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from kvconfig.fake import FakeKeyVault, Identity

from .access_support import client_for
from .support import VaultUnderTest, static_credential


async def _seed(kv: VaultUnderTest, *names: str) -> FakeKeyVault:
    fake = kv.need_fake()
    for name in names:
        fake.set_secret(kv.vault_url, name, f"value-of-{name}")
    return fake


async def _denied(kv: VaultUnderTest, method: object, *args: object) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(method, *args)  # type: ignore[arg-type]
    return caught.value


async def test_secrets_user_scoped_to_one_secret_reads_it_and_nothing_else(kv: VaultUnderTest) -> None:
    fake = await _seed(kv, "db-password", "api-key")
    vault = fake.vault(kv.vault_url)
    vault.assign_role("app", "Key Vault Secrets User", scope="/secrets/db-password")
    app = client_for(kv, "app")

    assert (await kv.call(app.get_secret, "db-password")).value == "value-of-db-password"
    for denied in (
        await _denied(kv, app.get_secret, "api-key"),
        await _denied(kv, app.set_secret, "db-password", "new"),
    ):
        assert denied.status_code == 403
        assert denied.error is not None
        assert denied.error.code == "Forbidden"
        assert denied.error.innererror == {"code": "ForbiddenByRbac"}
    # Listing needs readMetadata at vault scope: an object-scoped role does not give it.
    with pytest.raises(HttpResponseError) as listing:
        await kv.collect(app.list_properties_of_secrets())
    assert listing.value.status_code == 403


async def test_rbac_denial_message_names_caller_action_resource_and_vault(kv: VaultUnderTest) -> None:
    fake = await _seed(kv, "s1")
    vault = fake.vault(kv.vault_url)
    vault.access.enforce = True
    app_identity = Identity("app", app_id="11111111-2222-3333-4444-555555555555")
    denied = await _denied(kv, client_for(kv, app_identity).get_secret, "s1")
    assert denied.error is not None
    lines = denied.error.message.split("\r\n")
    assert lines[0] == "Caller is not authorized to perform action on resource."
    assert lines[2] == (
        f"Caller: appid={app_identity.app_id};oid={app_identity.object_id};"
        f"iss=https://sts.windows.net/{app_identity.tenant_id}/"
    )
    assert lines[3] == "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'"
    assert lines[4] == f"Resource: '{vault.properties.resource_id.lower()}/secrets/s1'"
    assert lines[5] == "Assignment: (not found)"
    assert lines[-2] == f"Vault: {vault.name};location={vault.properties.location}"


async def test_reader_lists_and_reads_properties_but_not_values(kv: VaultUnderTest) -> None:
    fake = await _seed(kv, "s1", "s2")
    fake.vault(kv.vault_url).assign_role("auditor", "Key Vault Reader")
    reader = client_for(kv, "auditor")

    names = {item.name for item in await kv.collect(reader.list_properties_of_secrets())}
    assert names == {"s1", "s2"}
    versions = await kv.collect(reader.list_properties_of_secret_versions("s1"))
    assert len(versions) == 1
    denied = await _denied(kv, reader.get_secret, "s1")
    assert denied.status_code == 403
    assert "secrets/getSecret/action" in denied.error.message  # type: ignore[union-attr]


async def test_removing_a_role_takes_effect_on_the_next_request(kv: VaultUnderTest) -> None:
    fake = await _seed(kv, "s1")
    vault = fake.vault(kv.vault_url)
    assignment = vault.assign_role("app", "Key Vault Secrets User")
    app = client_for(kv, "app")
    assert (await kv.call(app.get_secret, "s1")).value == "value-of-s1"
    assignment.remove()
    assert (await _denied(kv, app.get_secret, "s1")).status_code == 403
    vault.assign_role("app", "Key Vault Secrets User")
    assert (await kv.call(app.get_secret, "s1")).value == "value-of-s1"
    assert vault.remove_role("app", "Key Vault Secrets User") == 1
    assert (await _denied(kv, app.get_secret, "s1")).status_code == 403


async def test_secrets_officer_manages_secrets_and_purge_operator_cannot_purge_them(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    vault = fake.vault(kv.vault_url)
    vault.assign_role("ops", "Key Vault Secrets Officer")
    vault.assign_role("janitor", "Key Vault Purge Operator")
    ops = client_for(kv, "ops")
    await kv.call(ops.set_secret, "s1", "v")
    await kv.delete("s1", ops)
    denied = await _denied(kv, client_for(kv, "janitor").purge_deleted_secret, "s1")
    assert denied.status_code == 403
    await kv.call(ops.purge_deleted_secret, "s1")


async def test_enforcing_vault_answers_foreign_tokens_with_401(kv: VaultUnderTest) -> None:
    fake = await _seed(kv, "s1")
    fake.vault(kv.vault_url).access.enforce = True
    client = kv.make_client(credential=static_credential(kv, lambda: "opaque-token-from-a-test-double"))
    with pytest.raises(ClientAuthenticationError) as caught:
        await kv.call(client.get_secret, "s1")
    assert caught.value.status_code == 401


async def test_vault_without_roles_or_policies_enforces_nothing(kv: VaultUnderTest) -> None:
    await _seed(kv, "s1")
    client = kv.make_client(credential=static_credential(kv, lambda: "opaque-token-from-a-test-double"))
    assert (await kv.call(client.get_secret, "s1")).value == "value-of-s1"


def test_invalid_expired_or_wrong_audience_tokens_answer_401_before_authorization() -> None:
    fake = FakeKeyVault()
    vault = fake.create_vault("authz", enforce_access=True)
    url = f"{vault.url}/secrets/s1/?api-version=7.5"
    wrong_audience, _ = fake.tokens.issue(Identity("nobody"), "https://storage.azure.com")
    expired, _ = fake.tokens.issue(Identity("nobody"), "https://vault.azure.net", lifetime=-10)
    tampered = fake.credential("nobody").get_token("https://vault.azure.net/.default").token[:-4] + "AAAA"
    for token in (wrong_audience, expired, tampered):
        response = fake.handle("GET", url, {"Authorization": f"Bearer {token}"})
        assert response.status == 401
        assert "WWW-Authenticate" in response.headers
    assert [event.status for event in fake.audit] == [401, 401, 401]
    assert all(event.properties["isAccessPolicyMatch"] is False for event in fake.audit)
    assert all("isRbacAuthorized" not in event.properties for event in fake.audit)
