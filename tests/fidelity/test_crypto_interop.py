"""What the fake signs verifies anywhere, and what anyone encrypts to its public keys it decrypts.

Through the official CryptographyClient, sync and async: decrypt, sign and unwrapKey always run in the fake;
encrypt, wrapKey and verify run locally in the SDK from the JWK the fake returned (sdk-behaviour.md §4), so these
tests also prove the two sides agree. Signatures are checked with ``cryptography`` against the *message* (never a
double-hashed digest). Symmetric keys live in a Managed HSM; their GCM and CBC operations go to the fake through the
CryptographyClient, the others (which the SDK would compute locally with a random key) through the generated client.
"""

# The fixtures are imported from keys_support; test parameters of the same name are pytest's injection.
# ruff: noqa: F811

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
from azure.keyvault.keys import JsonWebKey
from azure.keyvault.keys.crypto import EncryptionAlgorithm, KeyWrapAlgorithm, SignatureAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from kvconfig.crypto import KeyMaterial, generate_key
from kvconfig.crypto._jwk import b64url_decode, b64url_encode

from .keys_support import HSM_URL, KeysUnderTest, kh  # noqa: F401

HASHES = {"256": (hashlib.sha256, hashes.SHA256), "384": (hashlib.sha384, hashes.SHA384),
          "512": (hashlib.sha512, hashes.SHA512)}  # fmt: skip
MESSAGE = b"kvconfig signs digests, never messages"


@pytest.fixture(scope="module")
def rsa_4096() -> KeyMaterial:
    """One RSA 4096 key per module (slow to generate), imported into each test's fake."""
    return generate_key("RSA", size=4096)


def _sdk_jwk(material: KeyMaterial) -> JsonWebKey:
    members = {k: b64url_decode(str(v)) for k, v in material.private_jwk().items() if k not in ("kty", "crv")}
    return JsonWebKey(kty=material.kty, crv=material.curve, **members)


def _rsa_public(key: Any) -> rsa.RSAPublicKey:
    return rsa.RSAPublicNumbers(int.from_bytes(key.key.e, "big"), int.from_bytes(key.key.n, "big")).public_key()


def _ec_public(key: Any) -> ec.EllipticCurvePublicKey:
    curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1(), "P-256K": ec.SECP256K1()}
    x, y = int.from_bytes(key.key.x, "big"), int.from_bytes(key.key.y, "big")
    return ec.EllipticCurvePublicNumbers(x, y, curve[key.key.crv]).public_key()


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
async def test_rsa_signature_from_the_fake_verifies_with_cryptography_and_locally(kh: KeysUnderTest, alg: str) -> None:
    client = kh.key_client()
    key = await kh.call(client.create_rsa_key, kh.name())
    crypto = kh.crypto_client(key)
    digest_fn, hash_cls = HASHES[alg[2:]]
    signed = await kh.call(crypto.sign, SignatureAlgorithm(alg), digest_fn(MESSAGE).digest())
    assert signed.key_id == key.id
    pad: padding.AsymmetricPadding = padding.PKCS1v15()
    if alg.startswith("PS"):
        pad = padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=hash_cls.digest_size)
    _rsa_public(key).verify(signed.signature, MESSAGE, pad, hash_cls())  # raises if the fake hashed twice
    verified = await kh.call(crypto.verify, SignatureAlgorithm(alg), digest_fn(MESSAGE).digest(), signed.signature)
    assert verified.is_valid
    assert kh.fake.operation_counts["sign"] == 1
    assert kh.fake.operation_counts["verify"] == 0  # the SDK verified locally with the fake's JWK


@pytest.mark.parametrize(
    ("alg", "curve"), [("ES256", "P-256"), ("ES384", "P-384"), ("ES512", "P-521"), ("ES256K", "P-256K")]
)
async def test_ec_signature_from_the_fake_verifies_with_cryptography_and_locally(
    kh: KeysUnderTest, alg: str, curve: str
) -> None:
    client = kh.key_client()
    key = await kh.call(client.create_ec_key, kh.name(), curve=curve)
    crypto = kh.crypto_client(key)
    bits = "256" if alg == "ES256K" else alg[2:]
    digest_fn, hash_cls = HASHES[bits]
    signed = await kh.call(crypto.sign, SignatureAlgorithm(alg), digest_fn(MESSAGE).digest())
    size = len(key.key.x)
    assert len(signed.signature) == 2 * size
    r, s = int.from_bytes(signed.signature[:size], "big"), int.from_bytes(signed.signature[size:], "big")
    _ec_public(key).verify(encode_dss_signature(r, s), MESSAGE, ec.ECDSA(hash_cls()))
    verified = await kh.call(crypto.verify, SignatureAlgorithm(alg), digest_fn(MESSAGE).digest(), signed.signature)
    assert verified.is_valid
    assert kh.fake.operation_counts["verify"] == 0


async def test_rsa_4096_key_signs_and_decrypts(kh: KeysUnderTest, rsa_4096: KeyMaterial) -> None:
    client = kh.key_client()
    key = await kh.call(client.import_key, kh.name(), _sdk_jwk(rsa_4096))
    assert len(key.key.n) == 512
    crypto = kh.crypto_client(key)
    signed = await kh.call(crypto.sign, SignatureAlgorithm.ps512, hashlib.sha512(MESSAGE).digest())
    _rsa_public(key).verify(
        signed.signature,
        MESSAGE,
        padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64),
        hashes.SHA512(),
    )
    encrypted = await kh.call(crypto.encrypt, EncryptionAlgorithm.rsa_oaep_256, b"x" * 400)
    decrypted = await kh.call(crypto.decrypt, EncryptionAlgorithm.rsa_oaep_256, encrypted.ciphertext)
    assert decrypted.plaintext == b"x" * 400


@pytest.mark.parametrize("alg", ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"])
async def test_ciphertext_made_locally_by_the_sdk_decrypts_in_the_fake(kh: KeysUnderTest, alg: str) -> None:
    client = kh.key_client()
    name = kh.name()
    await kh.call(client.create_rsa_key, name)
    crypto = kh.crypto_client(f"{client.vault_url}/keys/{name}")  # a key id: the client GETs the key first
    encrypted = await kh.call(crypto.encrypt, EncryptionAlgorithm(alg), b"plain text")
    decrypted = await kh.call(crypto.decrypt, EncryptionAlgorithm(alg), encrypted.ciphertext)
    assert decrypted.plaintext == b"plain text"
    wrapped = await kh.call(crypto.wrap_key, KeyWrapAlgorithm(alg), b"k" * 32)
    unwrapped = await kh.call(crypto.unwrap_key, KeyWrapAlgorithm(alg), wrapped.encrypted_key)
    assert unwrapped.key == b"k" * 32
    assert kh.fake.operation_counts["encrypt"] == 0
    assert kh.fake.operation_counts["wrapKey"] == 0
    assert kh.fake.operation_counts["decrypt"] == 1
    assert kh.fake.operation_counts["unwrapKey"] == 1
    assert decrypted.key_id == f"{client.vault_url}/keys/{name}/{encrypted.key_id.rsplit('/', 1)[1]}"


@pytest.mark.parametrize(("alg", "size"), [("A128GCM", 128), ("A192GCM", 192), ("A256GCM", 256)])
async def test_aes_gcm_round_trip_in_the_managed_hsm(kh: KeysUnderTest, alg: str, size: int) -> None:
    client = kh.key_client(HSM_URL)
    key = await kh.call(client.create_oct_key, kh.name(), size=size, hardware_protected=True)
    crypto = kh.crypto_client(key)
    encrypted = await kh.call(
        crypto.encrypt, EncryptionAlgorithm(alg), b"secret payload", additional_authenticated_data=b"aad"
    )
    assert len(encrypted.iv) == 12
    assert len(encrypted.tag) == 16
    assert encrypted.aad == b"aad"
    decrypted = await kh.call(
        crypto.decrypt,
        EncryptionAlgorithm(alg),
        encrypted.ciphertext,
        iv=encrypted.iv,
        authentication_tag=encrypted.tag,
        additional_authenticated_data=b"aad",
    )
    assert decrypted.plaintext == b"secret payload"
    assert kh.fake.operation_counts["encrypt"] == 1


async def test_aes_cbc_round_trip_in_the_managed_hsm(kh: KeysUnderTest) -> None:
    client = kh.key_client(HSM_URL)
    key = await kh.call(client.create_oct_key, kh.name(), size=256, hardware_protected=True)
    crypto = kh.crypto_client(key)
    iv = os.urandom(16)
    encrypted = await kh.call(crypto.encrypt, EncryptionAlgorithm.a256_cbc, b"sixteen byte msg" * 2, iv=iv)
    assert encrypted.iv == iv
    decrypted = await kh.call(crypto.decrypt, EncryptionAlgorithm.a256_cbc, encrypted.ciphertext, iv=iv)
    assert decrypted.plaintext == b"sixteen byte msg" * 2


async def _generated(kh: KeysUnderTest, client: Any, operation: str, name: str, version: str, **body: Any) -> Any:
    wire = {k: b64url_encode(v) if isinstance(v, bytes) else v for k, v in body.items()}
    return await kh.call(getattr(client._client, operation), name, version, wire)


@pytest.mark.parametrize(("alg", "size"), [("A128CBCPAD", 128), ("A256CBCPAD", 256)])
async def test_aes_cbcpad_through_the_generated_client(kh: KeysUnderTest, alg: str, size: int) -> None:
    client = kh.key_client(HSM_URL)
    name = kh.name()
    key = await kh.call(client.create_oct_key, name, size=size, hardware_protected=True)
    version = key.properties.version
    encrypted = await _generated(kh, client, "encrypt", name, version, alg=alg, value=b"odd length")
    assert len(encrypted.result) == 16
    decrypted = await _generated(kh, client, "decrypt", name, "", alg=alg, value=encrypted.result, iv=encrypted.iv)
    assert decrypted.result == b"odd length"


@pytest.mark.parametrize(("alg", "size"), [("A128KW", 128), ("A192KW", 192), ("A256KW", 256), ("CKM_AES_KEY_WRAP", 256),
                                           ("CKM_AES_KEY_WRAP_PAD", 128)])  # fmt: skip
async def test_aes_key_wraps_round_trip(kh: KeysUnderTest, alg: str, size: int) -> None:
    client = kh.key_client(HSM_URL)
    name = kh.name()
    key = await kh.call(client.create_oct_key, name, size=size, hardware_protected=True)
    version = key.properties.version
    wrapped = await _generated(kh, client, "wrap_key", name, version, alg=alg, value=b"d" * 32)
    assert len(wrapped.result) == 40
    unwrapped = await _generated(kh, client, "unwrap_key", name, version, alg=alg, value=wrapped.result)
    assert unwrapped.result == b"d" * 32
    if alg.startswith("CKM"):  # the SDK has no local CKM provider: its CryptographyClient goes to the fake
        crypto = kh.crypto_client(key)
        sdk_wrapped = await kh.call(crypto.wrap_key, KeyWrapAlgorithm(alg), b"e" * 24)
        sdk_unwrapped = await kh.call(crypto.unwrap_key, KeyWrapAlgorithm(alg), sdk_wrapped.encrypted_key)
        assert sdk_unwrapped.key == b"e" * 24
