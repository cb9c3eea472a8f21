"""The wire as the service sends it, through the official clients (sync and async): response headers, request ids,
the 401 challenge's wording, token ``nbf``, and Managed HSM's key answers (RSA-HSM, key_size, hsmPlatform,
exportable, ``alg`` in crypto answers, AAD ignored for AES-CBC, stable attestation)."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys import aio as keys_aio
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, SignatureAlgorithm
from azure.keyvault.keys.crypto import aio as crypto_aio
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from kvconfig.fake import FakeKeyVault

VAULT = "https://wire.vault.azure.net"
HSM = "https://wirehsm.managedhsm.azure.net"


class Responses(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Keeps the headers of every response the client sees."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    def on_response(self, request: Any, response: Any) -> None:
        self.seen.append(dict(response.http_response.headers))


async def _call(result: Any) -> Any:
    return await result if hasattr(result, "__await__") else result


def _secret_client(fake: FakeKeyVault, mode: str, policy: Responses) -> Any:
    if mode == "async":
        return secrets_aio.SecretClient(
            VAULT, fake.async_credential(), transport=fake.async_transport(), per_call_policies=[policy]
        )
    return SecretClient(VAULT, fake.credential(), transport=fake.transport(), per_call_policies=[policy])


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_responses_carry_the_service_headers_and_echo_the_client_request_id(mode: str) -> None:
    fake = FakeKeyVault()
    policy = Responses()
    client = _secret_client(fake, mode, policy)
    try:
        await _call(client.set_secret("s", "v"))
        await _call(client.get_secret("s"))
    finally:
        await _call(client.close())
    assert len(policy.seen) == 2  # the two calls (a per-call policy sits outside the challenge policy)
    request_ids = set()
    for headers in policy.seen:
        assert headers["Pragma"] == "no-cache"
        assert headers["Expires"] == "-1"
        assert headers["Strict-Transport-Security"] == "max-age=31536000;includeSubDomains"
        assert headers["X-Content-Type-Options"] == "nosniff"
        # The SDK sends a client request id on every request; the service echoes it.
        assert uuid.UUID(headers["x-ms-client-request-id"])
        request_id = uuid.UUID(headers["x-ms-request-id"])
        assert request_id.version == 4
        request_ids.add(request_id)
    assert len(request_ids) == len(policy.seen)


def test_client_request_id_is_echoed_only_when_sent_and_bounded() -> None:
    fake = FakeKeyVault()
    url = f"{VAULT}/secrets?api-version=7.6"
    assert "x-ms-client-request-id" not in fake.handle("GET", url).headers
    assert fake.handle("GET", url, {"x-ms-client-request-id": "abc"}).headers["x-ms-client-request-id"] == "abc"
    assert "x-ms-client-request-id" not in fake.handle("GET", url, {"x-ms-client-request-id": "x" * 5000}).headers


@pytest.mark.parametrize(
    ("api_version", "message"),
    [
        ("2025-07-01", "AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token."),
        ("2026-04-01", "AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token."),
        ("7.5", "AKV10000: Request is missing a Bearer or PoP token."),
    ],
)
def test_challenge_message_follows_the_api_version(api_version: str, message: str) -> None:
    fake = FakeKeyVault()
    response = fake.handle("GET", f"{VAULT}/secrets/s?api-version={api_version}")
    assert response.status == 401
    assert response.json() == {"error": {"code": "Unauthorized", "message": message}}
    assert response.headers["WWW-Authenticate"].startswith('Bearer authorization="https://login.')


def test_managed_hsm_challenge_has_no_body() -> None:
    fake = FakeKeyVault()
    response = fake.handle("GET", f"{HSM}/keys/k?api-version=7.6")
    assert response.status == 401
    assert response.body == b""
    assert 'resource="https://managedhsm.azure.net"' in response.headers["WWW-Authenticate"]


def _token(fake: FakeKeyVault, **claims: Any) -> str:
    now = int(time.time())
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    base = {
        "aud": "https://vault.azure.net",
        "iss": f"https://sts.windows.net/{tenant}/",
        "tid": tenant,
        "iat": now,
        "nbf": now - 300,
        "exp": now + 3600,
        "name": "t",
    }
    return jwt.encode({**base, **claims}, fake.tokens.private_key, algorithm="RS256", headers={"kid": fake.tokens.kid})


class StaticCredential:
    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)


def test_token_used_before_its_nbf_is_refused_with_401() -> None:
    fake = FakeKeyVault()
    future = _token(fake, nbf=int(time.time()) + 3600)
    client = SecretClient(VAULT, StaticCredential(future), transport=fake.transport(), retry_total=0)
    with client, pytest.raises(ClientAuthenticationError) as raised:
        client.get_secret("s")
    assert "not yet valid" in str(raised.value)
    # Within Entra ID's five minutes of clock skew it is accepted.
    skewed = _token(fake, nbf=int(time.time()) + 120)
    with SecretClient(VAULT, StaticCredential(skewed), transport=fake.transport(), retry_total=0) as client:
        client.set_secret("s", "v")


# -- Managed HSM keys ----------------------------------------------------------------------------------------------


def _hsm_fake() -> FakeKeyVault:
    fake = FakeKeyVault()
    fake.create_vault(HSM, cloud="managedhsm.azure.net", activated=True)
    return fake


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_managed_hsm_key_bundles_as_the_service_sends_them(mode: str) -> None:
    fake = _hsm_fake()
    if mode == "async":
        client: Any = keys_aio.KeyClient(HSM, fake.async_credential(), transport=fake.async_transport())
    else:
        client = KeyClient(HSM, fake.credential(), transport=fake.transport())
    try:
        rsa_key = await _call(client.create_key("r", "RSA", size=2048))
        oct_key = await _call(client.create_oct_key("o", size=256))
        ec_key = await _call(client.create_ec_key("e", curve="P-256"))
    finally:
        await _call(client.close())
    assert rsa_key.key_type == "RSA-HSM"
    assert ec_key.key_type == "EC-HSM"
    assert oct_key.key_type == "oct-HSM"
    assert rsa_key.properties.exportable is False
    assert rsa_key.properties.hsm_platform == "2"
    # key_size rides in the JWK on the wire (RSA and oct keys).
    headers = {"Authorization": f"Bearer {fake.credential().get_token('https://managedhsm.azure.net/.default').token}"}
    raw = fake.handle("GET", f"{HSM}/keys/r/?api-version=7.6", headers).json()
    assert raw["key"]["key_size"] == 2048
    assert raw["attributes"]["exportable"] is False
    assert fake.handle("GET", f"{HSM}/keys/o/?api-version=7.6", headers).json()["key"]["key_size"] == 256


def test_key_vault_key_bundles_always_carry_exportable() -> None:
    fake = FakeKeyVault()
    with KeyClient(VAULT, fake.credential(), transport=fake.transport()) as client:
        key = client.create_rsa_key("r")
    assert key.properties.exportable is False
    headers = {"Authorization": f"Bearer {fake.credential().get_token('https://vault.azure.net/.default').token}"}
    raw = fake.handle("GET", f"{VAULT}/keys/r/?api-version=7.6", headers).json()
    assert raw["attributes"]["exportable"] is False
    assert "hsmPlatform" not in raw["attributes"]
    assert "key_size" not in raw["key"]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_managed_hsm_crypto_answers_name_the_algorithm_and_ignore_aad_for_cbc(mode: str) -> None:
    fake = _hsm_fake()
    policy = Responses()
    if mode == "async":
        keys: Any = keys_aio.KeyClient(HSM, fake.async_credential(), transport=fake.async_transport())
    else:
        keys = KeyClient(HSM, fake.credential(), transport=fake.transport())
    try:
        oct_key = await _call(keys.create_oct_key("aes", size=256))
        ec_key = await _call(keys.create_ec_key("sig", curve="P-256"))
    finally:
        await _call(keys.close())

    def crypto(key: Any) -> Any:
        if mode == "async":
            return crypto_aio.CryptographyClient(
                key.id, fake.async_credential(), transport=fake.async_transport(), per_call_policies=[policy]
            )
        return CryptographyClient(key.id, fake.credential(), transport=fake.transport(), per_call_policies=[policy])

    aes, signer = crypto(oct_key), crypto(ec_key)
    try:
        plaintext = os.urandom(32)
        iv = os.urandom(16)
        encrypted = await _call(
            aes.encrypt(EncryptionAlgorithm.a256_cbc, plaintext, iv=iv, additional_authenticated_data=b"ignored")
        )
        assert encrypted.algorithm == EncryptionAlgorithm.a256_cbc
        decrypted = await _call(
            aes.decrypt(
                EncryptionAlgorithm.a256_cbc, encrypted.ciphertext, iv=iv, additional_authenticated_data=b"other"
            )
        )
        assert decrypted.plaintext == plaintext
        signed = await _call(signer.sign(SignatureAlgorithm.es256, os.urandom(32)))
        assert signed.key_id == ec_key.id
    finally:
        await _call(aes.close())
        await _call(signer.close())
    headers = {"Authorization": f"Bearer {fake.credential().get_token('https://managedhsm.azure.net/.default').token}"}
    body = b'{"alg": "ES256", "value": "' + b"A" * 43 + b'"}'
    answer = fake.handle(
        "POST", f"{ec_key.id}/sign?api-version=7.6", {**headers, "Content-Type": "application/json"}, body
    )
    assert answer.json()["alg"] == "ES256"
    assert answer.json()["kid"] == ec_key.id


def test_managed_hsm_still_authenticates_aad_for_gcm() -> None:
    fake = _hsm_fake()
    with KeyClient(HSM, fake.credential(), transport=fake.transport()) as keys:
        key = keys.create_oct_key("gcm", size=256)
    with CryptographyClient(key.id, fake.credential(), transport=fake.transport(), retry_total=0) as aes:
        sealed = aes.encrypt(EncryptionAlgorithm.a256_gcm, b"data", additional_authenticated_data=b"right")
        opened = aes.decrypt(
            EncryptionAlgorithm.a256_gcm,
            sealed.ciphertext,
            iv=sealed.iv,
            authentication_tag=sealed.tag,
            additional_authenticated_data=b"right",
        )
        assert opened.plaintext == b"data"
        with pytest.raises(HttpResponseError):
            aes.decrypt(
                EncryptionAlgorithm.a256_gcm,
                sealed.ciphertext,
                iv=sealed.iv,
                authentication_tag=sealed.tag,
                additional_authenticated_data=b"wrong",
            )


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_key_attestation_is_the_same_every_time_for_a_version(mode: str) -> None:
    fake = _hsm_fake()
    if mode == "async":
        client: Any = keys_aio.KeyClient(HSM, fake.async_credential(), transport=fake.async_transport())
    else:
        client = KeyClient(HSM, fake.credential(), transport=fake.transport())
    try:
        key = await _call(client.create_rsa_key("att", hardware_protected=True))
        first = await _call(client.get_key_attestation("att"))
        second = await _call(client.get_key_attestation("att", version=key.properties.version))
        rotated = await _call(client.rotate_key("att"))
        third = await _call(client.get_key_attestation("att", version=rotated.properties.version))
    finally:
        await _call(client.close())
    a, b = first.properties.attestation, second.properties.attestation
    assert a.certificate_pem_file == b.certificate_pem_file
    assert a.private_key_attestation == b.private_key_attestation
    assert a.public_key_attestation == b.public_key_attestation
    assert third.properties.attestation.public_key_attestation != a.public_key_attestation


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_the_newest_preview_api_version_is_accepted(mode: str) -> None:
    fake = FakeKeyVault()
    if mode == "async":
        client: Any = secrets_aio.SecretClient(
            VAULT, fake.async_credential(), transport=fake.async_transport(), api_version="2026-03-01-preview"
        )
    else:
        client = SecretClient(VAULT, fake.credential(), transport=fake.transport(), api_version="2026-03-01-preview")
    try:
        await _call(client.set_secret("preview", "v"))
        assert (await _call(client.get_secret("preview"))).value == "v"
    finally:
        await _call(client.close())
