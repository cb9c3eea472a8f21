"""The challenge handshake and the fake's tokens, as the official SecretClient meets them (challenge-resource
verification always on: no test passes ``verify_challenge_resource=False``)."""

from __future__ import annotations

import base64
import json

import pytest
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

from kvconfig.fake import FakeKeyVault, ManualClock

from .support import VaultUnderTest, static_credential

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@pytest.mark.parametrize(
    ("host", "resource", "authority"),
    [
        ("myvault.vault.azure.net", "https://vault.azure.net", "https://login.microsoftonline.com"),
        ("myvault.vault.azure.cn", "https://vault.azure.cn", "https://login.chinacloudapi.cn"),
        ("myvault.vault.usgovcloudapi.net", "https://vault.usgovcloudapi.net", "https://login.microsoftonline.us"),
        ("myvault.vault.microsoftazure.de", "https://vault.microsoftazure.de", "https://login.microsoftonline.de"),
    ],
    ids=["public", "china", "usgov", "germany"],
)
def test_request_without_token_gets_401_challenge_naming_the_cloud_resource(
    host: str, resource: str, authority: str
) -> None:
    fake = FakeKeyVault()
    response = fake.handle("GET", f"https://{host}/secrets/s1/?api-version=7.5", {"Accept": "application/json"})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == f'Bearer authorization="{authority}/{TENANT}", resource="{resource}"'
    body = response.json()
    assert isinstance(body, dict)
    assert body["error"]["code"] == "Unauthorized"
    assert "Retry-After" not in response.headers


def test_challenge_names_the_vault_tenant() -> None:
    fake = FakeKeyVault()
    fake.create_vault("othertenant", tenant_id="11111111-2222-3333-4444-555555555555")
    response = fake.handle("GET", "https://othertenant.vault.azure.net/secrets?api-version=7.5")
    assert (
        'authorization="https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555"'
        in (response.headers["WWW-Authenticate"])
    )


@pytest.mark.parametrize(
    "url",
    ["https://kvcn.vault.azure.cn", "https://kvgov.vault.usgovcloudapi.net"],
    ids=["china", "usgov"],
)
async def test_sovereign_cloud_vault_works_with_challenge_verification_on(kv: VaultUnderTest, url: str) -> None:
    fake = kv.need_fake()
    client = kv.make_client(url, fake.async_credential() if kv.is_async else fake.credential())
    await kv.call(client.set_secret, "s1", "sovereign")
    assert (await kv.call(client.get_secret, "s1")).value == "sovereign"


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["name"] = "mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _token(fake: FakeKeyVault, audience: str = "https://vault.azure.net", lifetime: float = 3600) -> str:
    return fake.credential(lifetime=lifetime).get_token(f"{audience}/.default").token


async def test_tampered_fake_token_raises_client_authentication_error(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    client = kv.make_client(credential=static_credential(kv, lambda: _tamper(_token(fake))))
    with pytest.raises(ClientAuthenticationError) as caught:
        await kv.call(client.get_secret, "s1")
    assert caught.value.status_code == 401


async def test_expired_fake_token_raises_client_authentication_error(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    credential = fake.async_credential(lifetime=-10) if kv.is_async else fake.credential(lifetime=-10)
    client = kv.make_client(credential=credential)
    with pytest.raises(ClientAuthenticationError) as caught:
        await kv.call(client.get_secret, "s1")
    assert caught.value.error is not None
    assert "expired" in caught.value.error.message


def _manual_clock(fake: FakeKeyVault) -> ManualClock:
    clock = ManualClock()
    fake.clock = clock
    fake.tokens.clock = clock
    return clock


async def test_token_replayed_after_clock_moves_past_expiry_raises_client_authentication_error(
    kv: VaultUnderTest,
) -> None:
    fake = kv.need_fake()
    clock = _manual_clock(fake)
    token = _token(fake)
    client = kv.make_client(credential=static_credential(kv, lambda: token))
    await kv.call(client.set_secret, "s1", "v")
    clock.advance(hours=2)
    with pytest.raises(ClientAuthenticationError):
        await kv.call(client.get_secret, "s1")


async def test_sdk_gets_a_fresh_token_when_the_fake_rejects_an_expired_one(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    clock = _manual_clock(fake)
    statuses: list[int] = []
    fake.listeners.append(lambda record: statuses.append(record.status))
    client = kv.make_client(credential=static_credential(kv, lambda: _token(fake)))
    await kv.call(client.set_secret, "s1", "v")
    clock.advance(hours=2)
    statuses.clear()
    # The SDK's cached token is now expired for the fake: 401 + challenge, the SDK asks its credential again.
    assert (await kv.call(client.get_secret, "s1")).value == "v"
    assert statuses == [401, 200]


async def test_wrong_audience_token_raises_client_authentication_error(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    client = kv.make_client(credential=static_credential(kv, lambda: _token(fake, "https://storage.azure.com")))
    with pytest.raises(ClientAuthenticationError) as caught:
        await kv.call(client.get_secret, "s1")
    assert caught.value.error is not None
    assert "audience" in caught.value.error.message


async def test_other_clouds_token_is_wrong_audience_for_public_vault(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    client = kv.make_client(credential=static_credential(kv, lambda: _token(fake, "https://vault.azure.cn")))
    with pytest.raises(ClientAuthenticationError):
        await kv.call(client.get_secret, "s1")


async def test_token_from_another_fake_is_rejected(kv: VaultUnderTest) -> None:
    kv.need_fake()
    other = FakeKeyVault()
    client = kv.make_client(credential=static_credential(kv, lambda: _token(other)))
    with pytest.raises(ClientAuthenticationError):
        await kv.call(client.get_secret, "s1")


async def test_foreign_opaque_token_is_accepted_as_anonymous(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    identities: list[str | None] = []
    fake.listeners.append(lambda record: identities.append(record.identity.name if record.identity else None))
    credential = static_credential(kv, lambda: "opaque-token")
    client = kv.make_client(credential=credential)
    await kv.call(client.set_secret, "s1", "v")
    assert (await kv.call(client.get_secret, "s1")).value == "v"
    assert credential.calls >= 1
    assert identities[-1] is None


async def test_fake_token_names_its_identity(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    names: list[str | None] = []
    fake.listeners.append(lambda record: names.append(record.identity.name if record.identity else None))
    credential = fake.async_credential("app-one") if kv.is_async else fake.credential("app-one")
    client = kv.make_client(credential=credential)
    await kv.call(client.set_secret, "s1", "v")
    assert names[-1] == "app-one"


# -- strict mode ------------------------------------------------------------------------------------------------


async def test_strict_mode_unknown_vault_raises_service_request_error(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    fake.strict = True
    client = kv.make_client("https://nosuchvault.vault.azure.net")
    with pytest.raises(ServiceRequestError) as caught:
        await kv.call(client.get_secret, "s1")
    assert "nosuchvault.vault.azure.net" in str(caught.value)


async def test_strict_mode_serves_created_vaults(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    fake.strict = True
    fake.create_vault("known")
    client = kv.make_client("https://known.vault.azure.net")
    await kv.call(client.set_secret, "s1", "v")
    assert (await kv.call(client.get_secret, "s1")).value == "v"


def test_strict_constructor_refuses_unknown_vault_as_dns_failure() -> None:
    fake = FakeKeyVault(strict=True)
    from kvconfig.fake import ConnectionFault

    with pytest.raises(ConnectionFault) as caught:
        fake.handle("GET", "https://unknown.vault.azure.net/secrets?api-version=7.5")
    assert caught.value.kind == "dns"
