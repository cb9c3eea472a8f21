"""BYOK import through the official KeyClient (sync and async): a target key wrapped for the vault's key exchange key
(CKM_RSA_AES_KEY_WRAP: RSA-OAEP/SHA-1 of an ephemeral AES key, then AES key wrap with padding of the PKCS#8 key),
sent as ``az keyvault key import --byok-file`` sends it, is really unwrapped and then signs and decrypts."""

# The fixtures are imported from keys_support; test parameters of the same name are pytest's injection.
# ruff: noqa: F811

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.keys import JsonWebKey, KeyType
from azure.keyvault.keys.crypto import EncryptionAlgorithm, SignatureAlgorithm
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from kvconfig.crypto._jwk import b64url_encode

from .keys_support import HSM_URL, PREMIUM_URL, VAULT_URL, KeysUnderTest, kh  # noqa: F401


def _byok_file(kek_id: str, kek_public: rsa.RSAPublicKey, target: bytes, *, oaep_hash: Any = None) -> bytes:
    """A ``.byok`` key transfer blob, as an HSM vendor's BYOK tool writes it."""
    digest = oaep_hash or hashes.SHA1()
    aes_key = os.urandom(32)
    wrapped_aes = kek_public.encrypt(aes_key, padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None))
    ciphertext = wrapped_aes + keywrap.aes_key_wrap_with_padding(aes_key, target)
    blob = {
        "schema_version": "1.0.0",
        "header": {"kid": kek_id, "alg": "dir", "enc": "CKM_RSA_AES_KEY_WRAP"},
        "ciphertext": b64url_encode(ciphertext),
        "generator": "kvconfig tests",
    }
    return json.dumps(blob).encode()


def _pkcs8(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _public(kek: Any) -> rsa.RSAPublicKey:
    numbers = rsa.RSAPublicNumbers(int.from_bytes(kek.key.e, "big"), int.from_bytes(kek.key.n, "big"))
    return numbers.public_key()


async def _kek(handle: KeysUnderTest, client: Any) -> Any:
    return await handle.call(
        client.create_rsa_key, handle.name("kek"), size=2048, hardware_protected=True, key_operations=["import"]
    )


async def test_byok_rsa_key_imports_and_then_signs_and_decrypts(kh: KeysUnderTest) -> None:
    client = kh.key_client(PREMIUM_URL)
    kek = await _kek(kh, client)
    assert kek.key_type == KeyType.rsa_hsm
    assert kek.key_operations == ["import"]
    target = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # What az keyvault key import --byok-file sends: the file as it is in key_hsm ("t"), kty RSA-HSM.
    jwk = JsonWebKey(kty=KeyType.rsa_hsm, t=_byok_file(kek.id, _public(kek), _pkcs8(target)))
    imported = await kh.call(client.import_key, kh.name("byok"), jwk)
    assert imported.key_type == KeyType.rsa_hsm
    assert int.from_bytes(imported.key.n, "big") == target.public_key().public_numbers().n

    crypto = kh.crypto_client(imported)
    signed = await kh.call(crypto.sign, SignatureAlgorithm.rs256, b"\x01" * 32)
    # Verified outside the fake with the key the customer wrapped: the vault holds that very key.
    target.public_key().verify(signed.signature, b"\x01" * 32, padding.PKCS1v15(), _prehashed())
    sealed = target.public_key().encrypt(
        b"only the vault can read this", padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    )
    opened = await kh.call(crypto.decrypt, EncryptionAlgorithm.rsa_oaep_256, sealed)
    assert opened.plaintext == b"only the vault can read this"


def _prehashed() -> Any:
    return utils.Prehashed(hashes.SHA256())


async def test_byok_ec_key_imports_and_signs(kh: KeysUnderTest) -> None:
    client = kh.key_client(PREMIUM_URL)
    kek = await _kek(kh, client)
    target = ec.generate_private_key(ec.SECP256R1())
    jwk = JsonWebKey(kty=KeyType.ec_hsm, crv="P-256", t=_byok_file(kek.id, _public(kek), _pkcs8(target)))
    imported = await kh.call(client.import_key, kh.name("byok"), jwk)
    assert imported.key_type == KeyType.ec_hsm
    signed = await kh.call(kh.crypto_client(imported).sign, SignatureAlgorithm.es256, b"\x02" * 32)
    r = int.from_bytes(signed.signature[:32], "big")
    s = int.from_bytes(signed.signature[32:], "big")
    target.public_key().verify(utils.encode_dss_signature(r, s), b"\x02" * 32, ec.ECDSA(_prehashed()))


async def test_byok_aes_key_on_a_managed_hsm_wraps_like_the_original(kh: KeysUnderTest) -> None:
    kh.fake.create_vault(HSM_URL, activated=True)
    client = kh.key_client(HSM_URL)
    kek = await _kek(kh, client)
    aes = os.urandom(32)
    jwk = JsonWebKey(kty=KeyType.oct_hsm, t=_byok_file(kek.id, _public(kek), aes))
    imported = await kh.call(client.import_key, kh.name("byok"), jwk)
    assert imported.key_type == KeyType.oct_hsm
    wrapped = await kh.call(kh.crypto_client(imported).wrap_key, "A256KW", b"\x03" * 32)
    assert keywrap.aes_key_unwrap(aes, wrapped.encrypted_key) == b"\x03" * 32


async def test_byok_blob_not_wrapped_for_the_kek_is_refused(kh: KeysUnderTest) -> None:
    client = kh.key_client(PREMIUM_URL)
    kek = await _kek(kh, client)
    target = _pkcs8(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    for blob in (
        _byok_file(kek.id, stranger, target),  # another KEK's public key
        _byok_file(kek.id, _public(kek), target, oaep_hash=hashes.SHA256()),  # not the spec's SHA-1
    ):
        with pytest.raises(HttpResponseError) as refused:
            await kh.call(client.import_key, kh.name("byok"), JsonWebKey(kty=KeyType.rsa_hsm, t=blob))
        assert refused.value.status_code == 400
        assert refused.value.error is not None
        assert refused.value.error.code == "BadParameter"
        assert "not wrapped for this key exchange key" in refused.value.error.message


async def test_byok_needs_a_kek_of_the_same_vault_with_import_only(kh: KeysUnderTest) -> None:
    client = kh.key_client(PREMIUM_URL)
    signer = await kh.call(client.create_rsa_key, kh.name("signer"), hardware_protected=True)
    target = _pkcs8(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    blob = _byok_file(signer.id, _public(signer), target)
    with pytest.raises(HttpResponseError, match="is not a key exchange key"):
        await kh.call(client.import_key, kh.name("byok"), JsonWebKey(kty=KeyType.rsa_hsm, t=blob))
    elsewhere = kh.key_client(HSM_URL)
    kh.fake.create_vault(HSM_URL, activated=True)
    foreign = await _kek(kh, elsewhere)
    blob = _byok_file(foreign.id, _public(foreign), target)
    with pytest.raises(HttpResponseError, match="not a key of this vault"):
        await kh.call(client.import_key, kh.name("byok"), JsonWebKey(kty=KeyType.rsa_hsm, t=blob))
    # A KEK allows import only, is RSA-HSM, and needs an HSM-backed vault.
    with pytest.raises(HttpResponseError, match="'import' operation only"):
        await kh.call(client.create_rsa_key, kh.name("kek"), hardware_protected=True, key_operations=["import", "sign"])
    with pytest.raises(HttpResponseError, match="RSA-HSM key"):
        await kh.call(client.create_ec_key, kh.name("kek"), hardware_protected=True, key_operations=["import"])
    standard = kh.key_client(VAULT_URL)
    with pytest.raises(HttpResponseError) as no_hsm:
        await _kek(kh, standard)
    assert no_hsm.value.status_code in (400, 403)


async def test_byok_garbage_in_key_hsm_is_a_clear_400(kh: KeysUnderTest) -> None:
    client = kh.key_client(PREMIUM_URL)
    for blob in (b"not json", b"{}", json.dumps({"header": {"kid": "x", "enc": "RSA-OAEP"}}).encode()):
        with pytest.raises(HttpResponseError) as refused:
            await kh.call(client.import_key, kh.name("byok"), JsonWebKey(kty=KeyType.rsa_hsm, t=blob))
        assert refused.value.status_code == 400
        assert "key transfer blob" in str(refused.value.error.message if refused.value.error else "")
