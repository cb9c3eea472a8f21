"""Time and vaults: retention purges on a ManualClock, vault soft delete/recover/purge, Managed HSM activation."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError
from azure.keyvault.secrets import SecretClient

from kvconfig.fake import FakeKeyVault, ManualClock
from kvconfig.fake.core.routing import Route

START = 1_800_000_000


def _client(fake: FakeKeyVault, url: str) -> SecretClient:
    return SecretClient(url, fake.credential(), transport=fake.transport(), retry_total=0)


def test_soft_deleted_secret_is_purged_when_its_retention_period_has_passed() -> None:
    fake = FakeKeyVault(clock=ManualClock(START))
    vault = fake.create_vault("retention", retention_days=7)
    client = _client(fake, vault.url)
    client.set_secret("s1", "v")
    client.begin_delete_secret("s1", _polling_interval=0).wait()
    fake.advance(days=6)
    assert client.get_deleted_secret("s1").scheduled_purge_date is not None
    fake.advance(days=1, seconds=1)
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_secret("s1")


def test_soft_deleted_vault_answers_as_unknown_and_can_be_recovered_with_its_secrets() -> None:
    fake = FakeKeyVault(clock=ManualClock(START))
    vault = fake.create_vault("gone-soon")
    fake.set_secret("gone-soon", "s1", "v")
    fake.delete_vault("gone-soon", soft=True)
    with pytest.raises(ServiceRequestError):
        _client(fake, vault.url).get_secret("s1")
    with pytest.raises(ValueError, match="soft-deleted"):
        fake.create_vault("gone-soon")
    assert fake.deleted_vaults == [vault]
    fake.recover_vault("gone-soon")
    assert _client(fake, vault.url).get_secret("s1").value == "v"


def test_soft_deleted_vault_is_purged_on_request_or_after_retention_unless_protected() -> None:
    fake = FakeKeyVault(clock=ManualClock(START))
    fake.create_vault("purge-me")
    fake.delete_vault("purge-me", soft=True)
    fake.purge_vault("purge-me")
    fake.create_vault("purge-me")  # the name is free again

    fake.create_vault("protected", purge_protection=True, retention_days=7)
    fake.delete_vault("protected", soft=True)
    with pytest.raises(ValueError, match="purge protection"):
        fake.purge_vault("protected")
    fake.advance(days=7)
    assert fake.deleted_vaults == []
    with pytest.raises(KeyError):
        fake.recover_vault("protected")


def _pool_with_test_route(fake: FakeKeyVault) -> str:
    # The keys module answers GetKeys on pools; a stand-in route keeps these checks independent of it.
    fake.routes.routes.insert(
        0,
        Route("GET", "/keys", "GetKeys", lambda ctx: {"value": [], "nextLink": None}, kinds=frozenset({"managedhsm"})),
    )
    pool = fake.create_vault("pool", cloud="managedhsm.azure.net")
    return f"{pool.url}/keys?api-version=7.5"


def test_managed_hsm_answers_key_operations_only_after_its_security_domain_is_activated() -> None:
    fake = FakeKeyVault()
    url = _pool_with_test_route(fake)
    token = fake.credential().get_token("https://managedhsm.azure.net/.default").token
    headers = {"Authorization": f"Bearer {token}"}
    refused = fake.handle("GET", url, headers)
    assert refused.status == 403
    assert refused.json()["error"]["innererror"]["code"] == "SecurityDomainNotActivated"  # type: ignore[index]
    fake.activate_security_domain("pool")
    assert fake.handle("GET", url, headers).status == 200


def test_managed_hsm_local_rbac_roles_decide_key_operations() -> None:
    fake = FakeKeyVault()
    url = _pool_with_test_route(fake)
    fake.activate_security_domain("pool")
    pool = fake.vault("pool", cloud="managedhsm.azure.net")
    pool.assign_role("auditor", "Managed HSM Crypto Auditor")
    pool.assign_role("releaser", "Managed HSM Crypto Service Release User", scope="/keys")

    def status(identity: str) -> int:
        token = fake.credential(identity).get_token("https://managedhsm.azure.net/.default").token
        return fake.handle("GET", url, {"Authorization": f"Bearer {token}"}).status

    assert status("auditor") == 200
    assert status("releaser") == 403
    denied = fake.audit.records(identity="releaser")[-1]
    assert denied.properties["isRbacAuthorized"] is False


def test_pools_made_on_first_use_are_ready() -> None:
    fake = FakeKeyVault()
    fake.routes.routes.insert(
        0,
        Route("GET", "/keys", "GetKeys", lambda ctx: {"value": [], "nextLink": None}, kinds=frozenset({"managedhsm"})),
    )
    token = fake.credential().get_token("https://managedhsm.azure.net/.default").token
    response = fake.handle(
        "GET", "https://ready.managedhsm.azure.net/keys?api-version=7.5", {"Authorization": f"Bearer {token}"}
    )
    assert response.status == 200
