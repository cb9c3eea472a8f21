"""Interoperability with the official SDK's local cryptography (CryptographyClient.from_jwk), both directions.

Every algorithm the SDK computes locally is checked against kvconfig.crypto with keys kvconfig generates: RSA
(2048/3072/4096) encrypt/decrypt/wrap/unwrap/sign/verify, ECDSA on every curve, AES-CBCPAD and AES-KW.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from kvconfig.crypto import (
    KeyMaterial,
    LocalCryptoClient,
    decrypt,
    encrypt,
    generate_key,
    sign,
    unwrap_key,
    verify,
    wrap_key,
)
from kvconfig.crypto._jwk import b64url_decode

keys = pytest.importorskip("azure.keyvault.keys")
crypto = pytest.importorskip("azure.keyvault.keys.crypto")

ALL_OPS = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
BYTE_MEMBERS = {"n", "e", "d", "dp", "dq", "qi", "p", "q", "k", "x", "y"}
HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def sdk_client(material: KeyMaterial) -> crypto.CryptographyClient:
    jwk = material.private_jwk(
        kid="https://vault.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef", key_ops=ALL_OPS
    )
    fields = {name: (b64url_decode(value) if name in BYTE_MEMBERS else value) for name, value in jwk.items()}
    return crypto.CryptographyClient.from_jwk(keys.JsonWebKey(**fields))


@pytest.fixture(scope="module")
def rsa_keys() -> dict[int, KeyMaterial]:
    # 4096-bit generation is the slow part of this suite: once per module.
    return {size: generate_key("RSA", size=size) for size in (2048, 3072, 4096)}


@pytest.mark.parametrize("size", [2048, 3072, 4096])
@pytest.mark.parametrize("alg", ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"])
def test_rsa_encryption_interoperates(rsa_keys: dict[int, KeyMaterial], size: int, alg: str) -> None:
    key = rsa_keys[size]
    sdk = sdk_client(key)
    algorithm = crypto.EncryptionAlgorithm(alg)
    sdk_ciphertext = sdk.encrypt(algorithm, b"from the sdk").ciphertext
    assert decrypt(key, alg, sdk_ciphertext) == b"from the sdk"
    ours = encrypt(key.public_key(), alg, b"from kvconfig").ciphertext
    assert sdk.decrypt(algorithm, ours).plaintext == b"from kvconfig"


@pytest.mark.parametrize("size", [2048, 4096])
@pytest.mark.parametrize("alg", ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"])
def test_rsa_key_wrap_interoperates(rsa_keys: dict[int, KeyMaterial], size: int, alg: str) -> None:
    key = rsa_keys[size]
    sdk = sdk_client(key)
    algorithm = crypto.KeyWrapAlgorithm(alg)
    data_key = os.urandom(32)
    assert unwrap_key(key, alg, sdk.wrap_key(algorithm, data_key).encrypted_key) == data_key
    assert sdk.unwrap_key(algorithm, wrap_key(key, alg, data_key)).key == data_key


@pytest.mark.parametrize("size", [2048, 3072, 4096])
@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
def test_rsa_signatures_interoperate(rsa_keys: dict[int, KeyMaterial], size: int, alg: str) -> None:
    key = rsa_keys[size]
    sdk = sdk_client(key)
    algorithm = crypto.SignatureAlgorithm(alg)
    digest = HASHES[alg[-3:]](b"signed message").digest()
    ours = sign(key, alg, digest)
    assert sdk.verify(algorithm, digest, ours).is_valid
    theirs = sdk.sign(algorithm, digest).signature
    assert verify(key.public_key(), alg, digest, theirs)
    assert not verify(key, alg, HASHES[alg[-3:]](b"other").digest(), theirs)


@pytest.mark.parametrize(
    ("alg", "curve", "hash_name"),
    [("ES256", "P-256", "256"), ("ES384", "P-384", "384"), ("ES512", "P-521", "512"), ("ES256K", "P-256K", "256")],
)
def test_ecdsa_signatures_interoperate(alg: str, curve: str, hash_name: str) -> None:
    algorithm = crypto.SignatureAlgorithm(alg)
    digest = HASHES[hash_name](b"signed message").digest()
    for _ in range(3):  # several keys: coordinates and r/s with leading zero bytes show up
        key = generate_key("EC-HSM", curve=curve)
        sdk = sdk_client(key)
        ours = sign(key, alg, digest)
        assert sdk.verify(algorithm, digest, ours).is_valid
        theirs = sdk.sign(algorithm, digest).signature
        assert verify(key.public_key(), alg, digest, theirs)


@pytest.mark.parametrize("bits", [128, 192, 256])
def test_aes_cbcpad_interoperates(bits: int) -> None:
    key = generate_key("oct", size=bits)
    sdk = sdk_client(key)
    algorithm = crypto.EncryptionAlgorithm(f"A{bits}CBCPAD")
    iv = os.urandom(16)
    theirs = sdk.encrypt(algorithm, b"some plaintext", iv=iv)
    assert decrypt(key, algorithm, theirs.ciphertext, iv=theirs.iv) == b"some plaintext"
    ours = encrypt(key, f"A{bits}CBCPAD", b"other plaintext")
    assert sdk.decrypt(algorithm, ours.ciphertext, iv=ours.iv).plaintext == b"other plaintext"


@pytest.mark.parametrize("bits", [128, 192, 256])
def test_aes_key_wrap_interoperates(bits: int) -> None:
    key = generate_key("oct-HSM", size=bits)
    sdk = sdk_client(key)
    algorithm = crypto.KeyWrapAlgorithm(f"A{bits}KW")
    data_key = os.urandom(32)
    assert unwrap_key(key, f"A{bits}KW", sdk.wrap_key(algorithm, data_key).encrypted_key) == data_key
    assert sdk.unwrap_key(algorithm, wrap_key(key, algorithm, data_key)).key == data_key


def test_local_client_accepts_sdk_enums_json_web_key_and_key_vault_key() -> None:
    key = generate_key("RSA")
    jwk = key.private_jwk(key_ops=["encrypt", "decrypt"])
    fields = {name: (b64url_decode(value) if name in BYTE_MEMBERS else value) for name, value in jwk.items()}
    fields["kty"] = keys.KeyType.rsa
    fields["key_ops"] = [keys.KeyOperation.encrypt, keys.KeyOperation.decrypt]
    kid = "https://vault.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef"
    for source in (keys.JsonWebKey(kid=kid, **fields), keys.KeyVaultKey(kid, jwk=fields)):
        client = LocalCryptoClient(source)
        assert client.key_id == kid
        assert client.key_ops == {"encrypt", "decrypt"}
        result = client.encrypt(crypto.EncryptionAlgorithm.rsa_oaep_256, b"x")
        assert client.decrypt(crypto.EncryptionAlgorithm.rsa_oaep_256, result.ciphertext) == b"x"


def test_local_client_ec_key_from_sdk_model_with_curve_enum() -> None:
    key = generate_key("EC", curve="P-384")
    fields = {
        name: (b64url_decode(value) if name in BYTE_MEMBERS else value) for name, value in key.public_jwk().items()
    }
    fields["crv"] = keys.KeyCurveName.p_384
    client = LocalCryptoClient(keys.JsonWebKey(**fields))
    digest = hashlib.sha384(b"m").digest()
    assert client.verify(crypto.SignatureAlgorithm.es384, digest, sign(key, "ES384", digest))
