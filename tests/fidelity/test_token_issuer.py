"""The fake's own token issuer through the official SecretClient (sync and async): RS256 tokens with Entra's claims,
verified for signature, ``iss``, ``aud``, ``exp`` and ``nbf``; a token of another issuer is refused with 401."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from cryptography.hazmat.primitives.asymmetric import rsa

from kvconfig.fake import FakeKeyVault, Group, Identity

from .access_support import client_for
from .support import VaultUnderTest, static_credential

RESOURCE = "https://vault.azure.net"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "aud": RESOURCE,
        "iss": f"https://sts.windows.net/{TENANT}/",
        "tid": TENANT,
        "oid": Identity("mallory").object_id,
        "name": "mallory",
        "iat": now,
        "nbf": now - 300,
        "exp": now + 3600,
    }
    return {**claims, **overrides}


async def _refused(kv: VaultUnderTest, token: str) -> str:
    """The service's message for ``token``, which must be refused with 401 ``Unauthorized``."""
    client = kv.make_client(credential=static_credential(kv, lambda: token))
    with pytest.raises(ClientAuthenticationError) as caught:
        await kv.call(client.get_secret, "s")
    await kv.call(client.close)
    assert caught.value.status_code == 401
    assert caught.value.error is not None
    assert caught.value.error.code == "Unauthorized"
    return str(caught.value.error.message)


def test_token_is_rs256_with_entra_v1_claims() -> None:
    fake = FakeKeyVault()
    identity = Identity("ci-app", app_id="0b1c2d3e-0000-4000-8000-000000000001", groups=["deployers", Group("ops")])
    token = fake.credential(identity).get_token(f"{RESOURCE}/.default").token
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == fake.tokens.kid
    public = fake.tokens.private_key.public_key()
    claims = jwt.decode(
        token, public, algorithms=["RS256"], audience=RESOURCE, issuer=f"https://sts.windows.net/{TENANT}/"
    )
    assert claims["ver"] == "1.0"
    assert claims["oid"] == identity.object_id
    assert claims["tid"] == TENANT
    assert claims["appid"] == identity.app_id
    assert claims["idtyp"] == "app"
    assert claims["groups"] == [Group("deployers").object_id, Group("ops").object_id]
    user = jwt.decode(
        fake.credential("alice").get_token(f"{RESOURCE}/.default").token, options={"verify_signature": False}
    )
    assert user["idtyp"] == "user"
    assert "appid" not in user
    assert "groups" not in user


def test_two_fakes_are_two_issuers() -> None:
    first, second = FakeKeyVault(), FakeKeyVault()
    assert first.tokens.kid != second.tokens.kid
    token = first.credential().get_token(f"{RESOURCE}/.default").token
    assert first.tokens.verify(token, RESOURCE) is not None
    with pytest.raises(Exception, match="not signed by a key of this tenant's issuer"):
        second.tokens.verify(token, RESOURCE)


async def test_token_signed_by_another_key_under_the_fakes_kid_is_refused(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(_claims(), other, algorithm="RS256", headers={"kid": fake.tokens.kid})
    error = await _refused(kv, forged)
    assert "signature is not valid" in error


async def test_token_of_another_issuer_is_refused_even_without_access_control(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    fake.set_secret(kv.vault_url, "s", "v")
    other = FakeKeyVault()
    error = await _refused(kv, other.credential().get_token(f"{RESOURCE}/.default").token)
    assert "not signed by a key of this tenant's issuer" in error
    # An HS256 token (anyone's shared secret) naming the fake's key id is another issuer too.
    hs256 = jwt.encode(
        _claims(), "a shared secret of 32 bytes or more!", algorithm="HS256", headers={"kid": fake.tokens.kid}
    )
    await _refused(kv, hs256)


async def test_token_naming_another_iss_is_refused_with_the_services_akv10032(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    for iss in ("https://sts.windows.net/2ac36096-05f9-482e-ae23-1bdb78adb0bb/", "https://evil.example/"):
        token = jwt.encode(
            _claims(iss=iss), fake.tokens.private_key, algorithm="RS256", headers={"kid": fake.tokens.kid}
        )
        error = await _refused(kv, token)
        assert error == (
            f"AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{TENANT}/, "
            f"https://login.microsoftonline.com/{TENANT}/v2.0, found {iss}."
        )
    # The v2.0 form of the tenant's issuer is accepted.
    v2 = jwt.encode(
        _claims(iss=f"https://login.microsoftonline.com/{TENANT}/v2.0"),
        fake.tokens.private_key,
        algorithm="RS256",
        headers={"kid": fake.tokens.kid},
    )
    client = kv.make_client(credential=static_credential(kv, lambda: v2))
    await kv.call(client.set_secret, "s", "v")
    await kv.call(client.close)


async def test_audience_expiry_and_nbf_are_checked_on_rs256_tokens(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()

    def sign(**claims: Any) -> str:
        return jwt.encode(
            _claims(**claims), fake.tokens.private_key, algorithm="RS256", headers={"kid": fake.tokens.kid}
        )

    now = int(time.time())
    assert "Invalid audience" in (await _refused(kv, sign(aud="https://storage.azure.com")))
    assert "expired" in (await _refused(kv, sign(exp=now - 10)))
    assert "not yet valid" in (await _refused(kv, sign(nbf=now + 3600)))


async def test_opaque_token_stays_anonymous_while_access_control_is_off(kv: VaultUnderTest) -> None:
    kv.need_fake()
    client = kv.make_client(credential=static_credential(kv, lambda: "an-opaque-test-double-token"))
    await kv.call(client.set_secret, "s", "v")
    assert (await kv.call(client.get_secret, "s")).value == "v"
    await kv.call(client.close)


async def test_groups_claim_round_trips_into_the_callers_identity(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    seen: list[Identity | None] = []
    fake.listeners.append(lambda record: seen.append(record.identity))
    client = client_for(kv, Identity("ci-app", app_id="0b1c2d3e-0000-4000-8000-000000000001", groups=["g1"]))
    await kv.call(client.set_secret, "s", "v")
    caller = seen[-1]
    assert caller is not None
    assert caller.kind == "app"
    assert caller.group_ids == (Group("g1").object_id,)
    assert caller.object_id == Identity("ci-app").object_id
