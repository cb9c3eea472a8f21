"""LocalCryptoClient: SDK method names, key_ops enforcement, public-only keys."""

from __future__ import annotations

import hashlib

import pytest

import kvconfig.crypto
from kvconfig.crypto import (
    EncryptResult,
    JwkError,
    KeyOperationError,
    LocalCryptoClient,
    UnsupportedAlgorithmError,
    generate_key,
)

KID = "https://vault.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef"


def test_client_from_private_jwk_runs_every_rsa_operation() -> None:
    key = generate_key("RSA")
    client = LocalCryptoClient(key.private_jwk(kid=KID))
    assert client.key_id == KID
    assert client.key_ops is None  # no key_ops member: nothing is restricted
    result = client.encrypt("RSA-OAEP", b"secret")
    assert isinstance(result, EncryptResult)
    assert client.decrypt("RSA-OAEP", result.ciphertext) == b"secret"
    assert client.unwrap_key("RSA-OAEP-256", client.wrap_key("RSA-OAEP-256", b"k" * 32)) == b"k" * 32
    digest = hashlib.sha256(b"m").digest()
    assert client.verify("PS256", digest, client.sign("PS256", digest))


def test_client_passes_gcm_parameters_under_sdk_keyword_names() -> None:
    client = LocalCryptoClient(generate_key("oct-HSM").private_jwk())
    result = client.encrypt("A256GCM", b"data", additional_authenticated_data=b"aad")
    assert result.iv is not None
    assert result.tag is not None
    plaintext = client.decrypt(
        "A256GCM", result.ciphertext, iv=result.iv, authentication_tag=result.tag, additional_authenticated_data=b"aad"
    )
    assert plaintext == b"data"


def test_operation_missing_from_key_ops_raises_key_operation_error() -> None:
    key = generate_key("RSA")
    client = LocalCryptoClient(key.private_jwk(key_ops=["decrypt", "verify"]))
    assert client.key_ops == {"decrypt", "verify"}
    with pytest.raises(KeyOperationError, match="'encrypt'"):
        client.encrypt("RSA-OAEP", b"x")
    with pytest.raises(KeyOperationError, match="wrapKey"):
        client.wrap_key("RSA-OAEP", b"x" * 32)
    with pytest.raises(KeyOperationError):
        client.sign("RS256", b"\x00" * 32)
    assert client.supported_algorithms("encrypt") == frozenset()
    assert "RS256" in client.supported_algorithms("verify")


def test_public_key_client_refuses_private_operations_clearly() -> None:
    key = generate_key("EC", curve="P-256")
    client = LocalCryptoClient(key.public_jwk(kid=KID, key_ops=["sign", "verify"]))
    digest = hashlib.sha256(b"m").digest()
    with pytest.raises(KeyOperationError, match="private part"):
        client.sign("ES256", digest)
    assert client.verify("ES256", digest, kvconfig.crypto.sign(key, "ES256", digest))
    with pytest.raises(UnsupportedAlgorithmError):
        LocalCryptoClient(key.public_jwk()).encrypt("RSA-OAEP", b"x")


def test_explicit_key_ops_and_key_id_override_the_jwk() -> None:
    key = generate_key("oct")
    client = LocalCryptoClient(key, key_id="local-kek", key_ops=["wrapKey", "unwrapKey"])
    assert client.key_id == "local-kek"
    assert client.unwrap_key("A256KW", client.wrap_key("A256KW", b"k" * 32)) == b"k" * 32
    with pytest.raises(KeyOperationError):
        client.encrypt("A256GCM", b"x")


def test_client_repr_has_no_key_material() -> None:
    key = generate_key("oct")
    jwk = key.private_jwk(kid="kid")
    client = LocalCryptoClient(jwk)
    assert str(jwk["k"]) not in repr(client)
    assert repr(client) == "LocalCryptoClient(key_id='kid', key=KeyMaterial(kty='oct', size=256, private))"


def test_client_rejects_bad_sources() -> None:
    with pytest.raises(JwkError):
        LocalCryptoClient({"kty": "RSA"})
    with pytest.raises(TypeError):
        LocalCryptoClient(42)  # type: ignore[arg-type]


def test_public_api_is_pinned() -> None:
    assert set(kvconfig.crypto.__all__) == {
        name
        for name in dir(kvconfig.crypto)
        if not name.startswith("_") and name not in {"annotations", "envelope", "errors"}
    }
    assert sorted(kvconfig.crypto.__all__) == sorted(set(kvconfig.crypto.__all__))
