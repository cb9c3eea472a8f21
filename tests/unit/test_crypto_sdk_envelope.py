"""Envelope encryption through the Azure SDK adapters, with SDK clients that compute locally (from_jwk)."""

from __future__ import annotations

import os

import pytest

from kvconfig.crypto import (
    AsyncAzureKeyWrapper,
    AzureKeyWrapper,
    EnvelopeIntegrityError,
    EnvelopeKeyError,
    InvalidKeyError,
    KeyMaterial,
    LocalKeyWrapper,
    UnsupportedAlgorithmError,
    decrypt_envelope,
    decrypt_envelope_async,
    encrypt_envelope,
    encrypt_envelope_async,
    generate_key,
    read_envelope_header,
)
from kvconfig.crypto._jwk import b64url_decode

VAULT = "https://vault.vault.azure.net/keys/kek"
V1 = f"{VAULT}/11111111111111111111111111111111"
V2 = f"{VAULT}/22222222222222222222222222222222"


@pytest.fixture(scope="module")
def rsa_kek() -> KeyMaterial:
    return generate_key("RSA", size=2048)


keys = pytest.importorskip("azure.keyvault.keys")
sdk_crypto = pytest.importorskip("azure.keyvault.keys.crypto")
sdk_crypto_aio = pytest.importorskip("azure.keyvault.keys.crypto.aio")

BYTE_MEMBERS = {"n", "e", "d", "dp", "dq", "qi", "p", "q", "k", "x", "y"}


def sdk_jwk(material: KeyMaterial, kid: str) -> object:
    jwk = material.private_jwk(kid=kid, key_ops=["wrapKey", "unwrapKey"])
    return keys.JsonWebKey(**{name: (b64url_decode(v) if name in BYTE_MEMBERS else v) for name, v in jwk.items()})


def test_azure_wrapper_records_versioned_key_id_and_opens_old_versions(rsa_kek: KeyMaterial) -> None:
    v1_key, v2_key = rsa_kek, generate_key("RSA")
    made: list[str] = []

    def factory(key_id: str) -> object:
        made.append(key_id)
        return sdk_crypto.CryptographyClient.from_jwk(sdk_jwk({V1: v1_key, V2: v2_key}[key_id], key_id))

    old = AzureKeyWrapper(sdk_crypto.CryptographyClient.from_jwk(sdk_jwk(v1_key, V1)))
    sealed_v1 = encrypt_envelope(b"v1 data", old)
    assert read_envelope_header(sealed_v1).key_id == V1
    assert decrypt_envelope(sealed_v1, old) == b"v1 data"

    rotated = AzureKeyWrapper(sdk_crypto.CryptographyClient.from_jwk(sdk_jwk(v2_key, V2)), client_factory=factory)  # type: ignore[arg-type]
    sealed_v2 = encrypt_envelope(b"v2 data", rotated)
    assert read_envelope_header(sealed_v2).key_id == V2
    assert decrypt_envelope(sealed_v2, rotated) == b"v2 data"
    assert decrypt_envelope(sealed_v1, rotated) == b"v1 data"
    assert decrypt_envelope(sealed_v1, rotated) == b"v1 data"
    assert made == [V1]  # one client per key id, cached
    with pytest.raises(EnvelopeKeyError, match="client_factory"):
        decrypt_envelope(sealed_v2, old)
    # The SDK and the local wrapper share the format.
    assert decrypt_envelope(sealed_v1, LocalKeyWrapper(v1_key, V1)) == b"v1 data"


def test_azure_wrapper_refuses_a_key_id_without_version(rsa_kek: KeyMaterial) -> None:
    wrapper = AzureKeyWrapper(sdk_crypto.CryptographyClient.from_jwk(sdk_jwk(rsa_kek, VAULT)))
    with pytest.raises(InvalidKeyError, match="version"):
        encrypt_envelope(b"x", wrapper)


@pytest.mark.parametrize("algorithm", ["A128KW", "A192KW", "A256KW"])
def test_azure_wrappers_refuse_the_aes_kw_wraps_the_sdk_computes_with_a_random_key(algorithm: str) -> None:
    # A vault's oct key reaches the SDK without "k"; the SDK then wraps A*KW locally under os.urandom(32).
    kek = generate_key("oct-HSM")
    with pytest.raises(UnsupportedAlgorithmError, match="CKM_AES_KEY_WRAP"):
        AzureKeyWrapper(sdk_crypto.CryptographyClient.from_jwk(sdk_jwk(kek, V1)), algorithm=algorithm)
    with pytest.raises(UnsupportedAlgorithmError, match="CKM_AES_KEY_WRAP"):
        AsyncAzureKeyWrapper(sdk_crypto_aio.CryptographyClient.from_jwk(sdk_jwk(kek, V1)), algorithm=algorithm)


async def test_async_envelope_with_the_aio_sdk_client(rsa_kek: KeyMaterial) -> None:
    other = generate_key("RSA")

    async def factory(key_id: str) -> object:
        return sdk_crypto_aio.CryptographyClient.from_jwk(sdk_jwk(other, key_id))

    client = sdk_crypto_aio.CryptographyClient.from_jwk(sdk_jwk(rsa_kek, V1))
    wrapper = AsyncAzureKeyWrapper(client, client_factory=factory)  # type: ignore[arg-type]
    data = os.urandom(200_000)
    blob = await encrypt_envelope_async(data, wrapper)
    assert read_envelope_header(blob).key_id == V1
    assert await decrypt_envelope_async(blob, wrapper) == data
    assert decrypt_envelope(blob, LocalKeyWrapper(rsa_kek, V1)) == data
    other_blob = encrypt_envelope(b"under v2", LocalKeyWrapper(other, V2))
    assert await decrypt_envelope_async(other_blob, wrapper) == b"under v2"
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(EnvelopeIntegrityError):
        await decrypt_envelope_async(bytes(tampered), wrapper)
