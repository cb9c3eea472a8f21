"""The service's answers to cryptographic operations it refuses, and the URL forms it accepts.

Remote calls that the SDK's CryptographyClient would compute locally go through the KeyClient's generated client
(``client._client``), so the fake sees them.
"""

# The fixtures are imported from keys_support; test parameters of the same name are pytest's injection.
# ruff: noqa: F811

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.keys.crypto import EncryptionAlgorithm, SignatureAlgorithm

from kvconfig.crypto._jwk import b64url_decode, b64url_encode

from .keys_support import HSM_URL, VAULT_URL, KeysUnderTest, kh  # noqa: F401

DIGEST = hashlib.sha256(b"message").digest()


async def _generated(kh: KeysUnderTest, client: Any, operation: str, name: str, version: str, **body: Any) -> Any:
    wire = {k: b64url_encode(v) if isinstance(v, bytes) else v for k, v in body.items()}
    return await kh.call(getattr(client._client, operation), name, version, wire)


async def test_operation_missing_from_key_ops_is_forbidden(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    key = await kh.call(client.create_rsa_key, kh.name(), key_operations=["verify"])
    crypto = kh.crypto_client(key)
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(crypto.sign, SignatureAlgorithm.rs256, DIGEST)
    assert caught.value.status_code == 403
    assert caught.value.error.code == "Forbidden"
    assert caught.value.error.message == "Operation sign is not permitted on this key."
    assert caught.value.error.innererror["code"] == "KeyOperationForbidden"


async def test_disabled_key_refuses_every_operation(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    name = kh.name()
    key = await kh.call(client.create_rsa_key, name)
    await kh.call(client.update_key_properties, name, enabled=False)
    crypto = kh.crypto_client(key)
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(crypto.sign, SignatureAlgorithm.rs256, DIGEST)
    assert caught.value.status_code == 403
    assert caught.value.error.message == "Operation sign is not allowed on a disabled key."
    assert caught.value.error.innererror["code"] == "KeyDisabled"


async def test_expired_key_refuses_sign_but_still_decrypts(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    name = kh.name()
    key = await kh.call(client.create_rsa_key, name)
    version = key.properties.version
    encrypted = await _generated(kh, client, "encrypt", name, version, alg="RSA-OAEP", value=b"kept readable")
    past = datetime.now(timezone.utc) - timedelta(days=1)
    await kh.call(client.update_key_properties, name, expires_on=past)
    with pytest.raises(HttpResponseError) as caught:
        await _generated(kh, client, "sign", name, version, alg="RS256", value=DIGEST)
    assert caught.value.status_code == 403
    assert caught.value.error.message == "Operation sign is not allowed on an expired key."
    with pytest.raises(HttpResponseError):
        await _generated(kh, client, "encrypt", name, version, alg="RSA-OAEP", value=b"new")
    decrypted = await _generated(kh, client, "decrypt", name, version, alg="RSA-OAEP", value=encrypted.result)
    assert decrypted.result == b"kept readable"
    future = datetime.now(timezone.utc) + timedelta(days=1)
    await kh.call(client.update_key_properties, name, not_before=future, expires_on=future + timedelta(days=1))
    with pytest.raises(HttpResponseError) as caught:
        await _generated(kh, client, "wrap_key", name, version, alg="RSA-OAEP", value=b"k" * 32)
    assert caught.value.error.message == "Operation wrapKey is not allowed on a key that is not yet valid."


@pytest.mark.parametrize(
    ("alg", "digest"), [("ES256", DIGEST), ("RS256", DIGEST[:20]), ("RS512", DIGEST), ("HS256", DIGEST)]
)
async def test_wrong_algorithm_or_digest_length_is_a_bad_parameter(kh: KeysUnderTest, alg: str, digest: bytes) -> None:
    client = kh.key_client()
    key = await kh.call(client.create_rsa_key, kh.name())
    crypto = kh.crypto_client(key)
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(crypto.sign, SignatureAlgorithm(alg), digest)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "BadParameter"


async def test_rsa_encryption_algorithm_on_an_ec_key_is_a_bad_parameter(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    name = kh.name()
    key = await kh.call(client.create_ec_key, name, key_operations=["sign", "verify", "encrypt"])
    with pytest.raises(HttpResponseError) as caught:
        await _generated(kh, client, "encrypt", name, key.properties.version, alg="RSA-OAEP", value=b"x")
    assert caught.value.status_code == 400


async def test_remote_verify_answers_false_for_a_bad_signature(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    name = kh.name()
    key = await kh.call(client.create_ec_key, name)
    version = key.properties.version
    signed = await _generated(kh, client, "sign", name, version, alg="ES256", value=DIGEST)
    good = await _generated(kh, client, "verify", name, version, alg="ES256", digest=DIGEST, value=signed.result)
    assert good.value is True
    tampered = bytes([signed.result[0] ^ 1]) + signed.result[1:]
    bad = await _generated(kh, client, "verify", name, version, alg="ES256", digest=DIGEST, value=tampered)
    assert bad.value is False


async def test_tampered_gcm_ciphertext_fails_to_decrypt(kh: KeysUnderTest) -> None:
    client = kh.key_client(HSM_URL)
    key = await kh.call(client.create_oct_key, kh.name(), size=256, hardware_protected=True)
    crypto = kh.crypto_client(key)
    encrypted = await kh.call(crypto.encrypt, EncryptionAlgorithm.a256_gcm, b"payload")
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(
            crypto.decrypt,
            EncryptionAlgorithm.a256_gcm,
            encrypted.ciphertext[::-1],
            iv=encrypted.iv,
            authentication_tag=encrypted.tag,
        )
    assert caught.value.status_code == 400


async def test_crypto_operation_on_a_missing_key_is_not_found(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    with pytest.raises(ResourceNotFoundError) as caught:
        await _generated(kh, client, "sign", "missing", "", alg="RS256", value=DIGEST)
    assert caught.value.error.code == "KeyNotFound"


@pytest.mark.parametrize("path", ["/keys/{name}//wrapkey", "/keys/{name}//wrapKey", "/keys/{name}/{version}/WRAPKEY"])
async def test_crypto_paths_accept_an_empty_version_and_any_case(kh: KeysUnderTest, path: str) -> None:
    client = kh.key_client()
    name = kh.name()
    key = await kh.call(client.create_rsa_key, name)
    token = kh.fake.credential().get_token("https://vault.azure.net/.default").token
    url = f"{VAULT_URL}{path.format(name=name, version=key.properties.version)}?api-version=2025-07-01"
    body = json.dumps({"alg": "RSA-OAEP", "value": b64url_encode(b"k" * 32)}).encode()
    response = kh.fake.handle(
        "POST", url, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, body
    )
    assert response.status == 200
    answer = response.json()
    assert isinstance(answer, dict)
    assert answer["kid"] == key.id
    assert len(b64url_decode(answer["value"])) == 256
