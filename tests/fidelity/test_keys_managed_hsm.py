"""Managed HSM surface through the official KeyClient: random bytes, key attestation and secure key release."""

# The fixtures are imported from keys_support; test parameters of the same name are pytest's injection.
# ruff: noqa: F811

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.keys import KeyReleasePolicy
from cryptography import x509
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kvconfig.crypto import generate_key
from kvconfig.crypto._jwk import b64url_decode, b64url_encode, key_from_jwk
from kvconfig.fake.keys.store import key_material

from .keys_support import HSM_URL, PREMIUM_URL, VAULT_URL, KeysUnderTest, kh  # noqa: F401

AUTHORITY = "https://sharedeus.eus.attest.azure.net"
POLICY = {
    "anyOf": [
        {
            "allOf": [{"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"}],
            "authority": AUTHORITY,
        }
    ],
    "version": "1.0.0",
}


def _token(claims: dict[str, Any]) -> str:
    """An attestation-token-shaped JWT (the fake reads its claims; it cannot check a real MAA signature)."""
    header = b64url_encode(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    return f"{header}.{b64url_encode(json.dumps(claims).encode())}.{b64url_encode(b'signature')}"


async def test_random_bytes_from_a_managed_hsm(kh: KeysUnderTest) -> None:
    client = kh.key_client(HSM_URL)
    for count in (1, 32, 128):
        value = await kh.call(client.get_random_bytes, count)
        assert len(value) == count
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.get_random_bytes, 129)
    assert caught.value.status_code == 400
    assert caught.value.error.message == "GetRandomBytesRequest: count cannot be greater than 128 or less than 1"


async def test_random_bytes_are_a_managed_hsm_operation(kh: KeysUnderTest) -> None:
    client = kh.key_client(VAULT_URL)
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.get_random_bytes, 16)
    assert caught.value.status_code == 400


async def test_key_attestation_of_an_hsm_key(kh: KeysUnderTest) -> None:
    client = kh.key_client(HSM_URL)
    name = kh.name()
    key = await kh.call(client.create_ec_key, name, curve="P-384", hardware_protected=True)
    attested = await kh.call(client.get_key_attestation, name)
    assert attested.id == key.id
    attestation = attested.properties.attestation
    assert attestation.version == "1.0"
    cert = x509.load_pem_x509_certificate(attestation.certificate_pem_file)
    assert "attestation" in cert.subject.rfc4514_string()
    assert attestation.public_key_attestation
    assert attestation.private_key_attestation
    versioned = await kh.call(client.get_key_attestation, name, key.properties.version)
    assert versioned.id == key.id


async def test_key_attestation_needs_an_hsm_key_and_api_version_7_6(kh: KeysUnderTest) -> None:
    client = kh.key_client(VAULT_URL)
    name = kh.name()
    await kh.call(client.create_rsa_key, name)
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.get_key_attestation, name)
    assert caught.value.status_code == 400
    old = kh.key_client(HSM_URL, api_version="7.5")
    with pytest.raises(ValueError, match=r"7\.6"):
        await kh.call(old.get_key_attestation, name)


async def _exportable_key(kh: KeysUnderTest, client: Any, kind: str) -> Any:
    policy = KeyReleasePolicy(json.dumps(POLICY).encode())
    if kind == "oct":
        return await kh.call(
            client.create_oct_key, kh.name(), size=256, hardware_protected=True, exportable=True, release_policy=policy
        )
    return await kh.call(
        client.create_rsa_key, kh.name(), hardware_protected=True, exportable=True, release_policy=policy
    )


@pytest.mark.parametrize(
    ("kind", "enc", "hash_cls"),
    [
        ("rsa", None, hashes.SHA1),
        ("oct", "RSA_AES_KEY_WRAP_256", hashes.SHA256),
        ("rsa", "RSA_AES_KEY_WRAP_384", hashes.SHA384),
    ],
)
async def test_release_wraps_the_key_for_the_attested_runtime_key(
    kh: KeysUnderTest, kind: str, enc: str | None, hash_cls: type[hashes.HashAlgorithm]
) -> None:
    client = kh.key_client(HSM_URL)
    key = await _exportable_key(kh, client, kind)
    runtime = generate_key("RSA")
    claims = {
        "iss": AUTHORITY,
        "x-ms-isolation-tee": {"x-ms-attestation-type": "sevsnpvm"},
        "x-ms-runtime": {"keys": [runtime.public_jwk(kid="TpmEphemeralEncryptionKey", key_ops=["encrypt"])]},
    }
    released = await kh.call(client.release_key, key.name, _token(claims), algorithm=enc, nonce="n1")
    header_b64, payload_b64, signature = released.value.split(".")
    header = json.loads(b64url_decode(header_b64))
    signer = key_from_jwk(header["jwk"]).key
    assert isinstance(signer, rsa.RSAPublicKey)
    signer.verify(b64url_decode(signature), f"{header_b64}.{payload_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
    payload = json.loads(b64url_decode(payload_b64))
    assert payload["request"]["nonce"] == "n1"
    assert payload["request"]["enc"] == (enc or "CKM_RSA_AES_KEY_WRAP")
    bundle = payload["response"]["key"]
    assert bundle["key"]["kid"] == key.id
    assert bundle["attributes"]["exportable"] is True
    blob = json.loads(b64url_decode(bundle["key"]["key_hsm"]))
    wrapped = b64url_decode(blob["ciphertext"])
    private = runtime.key
    assert isinstance(private, rsa.RSAPrivateKey)
    oaep = padding.OAEP(mgf=padding.MGF1(hash_cls()), algorithm=hash_cls(), label=None)
    ephemeral = private.decrypt(wrapped[:256], oaep)
    exported = keywrap.aes_key_unwrap_with_padding(ephemeral, wrapped[256:])
    vault_key = key_material(kh.fake.vault(HSM_URL), key.name).key
    if kind == "oct":
        assert exported == vault_key
    else:
        assert isinstance(vault_key, rsa.RSAPrivateKey)
        loaded = serialization.load_der_private_key(exported, None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        assert loaded.private_numbers() == vault_key.private_numbers()


async def test_release_is_refused_when_the_claims_do_not_meet_the_policy(kh: KeysUnderTest) -> None:
    client = kh.key_client(HSM_URL)
    key = await _exportable_key(kh, client, "rsa")
    runtime = generate_key("RSA").public_jwk()
    claims = {
        "iss": AUTHORITY,
        "x-ms-isolation-tee": {"x-ms-attestation-type": "sgx"},
        "x-ms-runtime": {"keys": [runtime]},
    }
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.release_key, key.name, _token(claims))
    assert caught.value.status_code == 403
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.release_key, key.name, "attestation-token")
    # The service's answer to a token it cannot verify, as the Azure SDK's live tests quote it.
    assert caught.value.status_code == 403
    assert caught.value.error.code == "Forbidden"
    assert caught.value.error.message == "Target environment attestation statement cannot be verified."
    assert caught.value.error.innererror["code"] == "AccessDenied"


async def test_release_of_a_key_that_is_not_exportable_is_refused(kh: KeysUnderTest) -> None:
    client = kh.key_client(PREMIUM_URL)
    key = await kh.call(client.create_rsa_key, kh.name(), hardware_protected=True)
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.release_key, key.name, _token({"iss": AUTHORITY}))
    assert caught.value.status_code == 400


async def test_ec_hsm_keys_on_a_managed_hsm_list_derive_key_by_default(kh: KeysUnderTest) -> None:
    hsm = kh.key_client(HSM_URL)
    key = await kh.call(hsm.create_ec_key, kh.name(), hardware_protected=True)
    assert key.key_type == "EC-HSM"
    assert "deriveKey" in key.key_operations
    assert {"sign", "verify"} <= set(key.key_operations)
    # What a client read back it can send back: an update with the same key_ops is accepted.
    updated = await kh.call(hsm.update_key_properties, key.name, key_operations=key.key_operations)
    assert updated.key_operations == key.key_operations
    chosen = await kh.call(hsm.create_ec_key, kh.name(), hardware_protected=True, key_operations=["sign"])
    assert chosen.key_operations == ["sign"]
    premium = await kh.call(kh.key_client(PREMIUM_URL).create_ec_key, kh.name(), hardware_protected=True)
    assert "deriveKey" not in premium.key_operations
