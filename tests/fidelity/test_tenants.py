"""A vault belongs to a tenant: a token issued in another tenant is refused with the service's AKV10032 and the 401
challenge names the vault's tenant; the Key Vault clients ask their credential for that tenant (official
SecretClient, sync and async)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError

from kvconfig.fake import FakeKeyVault, Identity

from .support import VaultUnderTest, static_credential

HOME = "72f988bf-86f1-41af-91ab-2d7cd011db47"  # the fake's default tenant
OTHER = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"


async def test_a_token_of_another_tenant_is_refused_with_akv10032(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    # A managed identity's token is always of its home tenant, whatever tenant the client asks for.
    guest = fake.credential(Identity("guest", tenant_id=OTHER))
    client = kv.make_client(
        credential=static_credential(kv, lambda: guest.get_token("https://vault.azure.net/.default").token)
    )
    with pytest.raises(ClientAuthenticationError) as caught:
        await kv.call(client.get_secret, "s1")
    assert caught.value.status_code == 401
    assert caught.value.error is not None
    assert caught.value.error.message == (
        f"AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{HOME}/, "
        f"found https://sts.windows.net/{OTHER}/."
    )
    assert caught.value.response is not None
    challenge = caught.value.response.headers["WWW-Authenticate"]
    assert f'authorization="https://login.microsoftonline.com/{HOME}"' in challenge


async def test_a_vault_of_another_tenant_serves_its_own_tenants_identities(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    fake.create_vault("tenantb", tenant_id=OTHER)
    url = "https://tenantb.vault.azure.net"
    member = Identity("member", tenant_id=OTHER)
    own = fake.async_credential(member) if kv.is_async else fake.credential(member)
    client = kv.make_client(url, credential=own)
    await kv.call(client.set_secret, "s1", "in tenant b")
    assert (await kv.call(client.get_secret, "s1")).value == "in tenant b"
    # A credential allowed every tenant (the default) gets a token of the tenant the challenge names.
    anywhere = kv.make_client(url, credential=fake.async_credential() if kv.is_async else fake.credential())
    assert (await kv.call(anywhere.get_secret, "s1")).value == "in tenant b"
    # One allowed only its own tenant refuses, as azure-identity's credentials do, before any token is sent.
    pinned = (
        fake.async_credential(additionally_allowed_tenants=())
        if kv.is_async
        else fake.credential(additionally_allowed_tenants=())
    )
    with pytest.raises(ClientAuthenticationError, match=f"not configured to acquire tokens for tenant {OTHER}"):
        await kv.call(kv.make_client(url, credential=pinned).get_secret, "s1")
    # The vault's own tenant's token read directly is still refused by the fake's default-tenant vault.
    direct = static_credential(kv, lambda: fake.credential(member).get_token("https://vault.azure.net/.default").token)
    with pytest.raises(ClientAuthenticationError):
        await kv.call(kv.make_client(credential=direct).get_secret, "s1")


def test_a_fake_of_its_own_tenant_serves_its_default_credential() -> None:
    fake = FakeKeyVault(tenant_id=OTHER)
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    answer = fake.handle(
        "PUT",
        "https://myvault.vault.azure.net/secrets/s1?api-version=7.5",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        b'{"value": "v"}',
    )
    assert answer.status == 200
    stranger = fake.credential(Identity("stranger", tenant_id=HOME)).get_token("https://vault.azure.net/.default")
    refused = fake.handle(
        "GET",
        "https://myvault.vault.azure.net/secrets/s1?api-version=7.5",
        {"Authorization": f"Bearer {stranger.token}"},
    )
    assert refused.status == 401
    body = refused.json()
    assert isinstance(body, dict)
    assert body["error"]["message"].startswith("AKV10032: Invalid issuer.")
