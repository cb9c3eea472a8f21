"""RSA public exponents: a Managed HSM makes keys with the exponent asked for (the SDK's own tests use 17).

Through the official KeyClient and CryptographyClient, sync and async. Encrypt and verify run in the SDK from the
JWK the fake returned, decrypt and sign in the fake, so the round trips prove the modulus and exponent on the wire
are the key the fake holds. A vault ignoring the exponent is in test_keys_crud.
"""

# The fixtures are imported from keys_support; test parameters of the same name are pytest's injection.
# ruff: noqa: F811

from __future__ import annotations

import hashlib

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.keys.crypto import EncryptionAlgorithm, SignatureAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .keys_support import HSM_URL, KeysUnderTest, kh  # noqa: F401

MESSAGE = b"an exponent of seventeen"


async def test_managed_hsm_rsa_key_with_public_exponent_17_round_trips_and_works(kh: KeysUnderTest) -> None:
    client = kh.key_client(HSM_URL)
    name = kh.name()
    key = await kh.call(client.create_rsa_key, name, size=2048, hardware_protected=True, public_exponent=17)
    assert key.key_type == "RSA-HSM"
    assert key.key.e == b"\x11"
    assert len(key.key.n) == 256
    assert key.key.n[0] & 0x80  # exactly 2048 bits
    fetched = await kh.call(client.get_key, name)
    assert (fetched.key.n, fetched.key.e) == (key.key.n, key.key.e)

    crypto = kh.crypto_client(fetched)
    encrypted = await kh.call(crypto.encrypt, EncryptionAlgorithm.rsa_oaep_256, b"data key")
    decrypted = await kh.call(crypto.decrypt, EncryptionAlgorithm.rsa_oaep_256, encrypted.ciphertext)
    assert decrypted.plaintext == b"data key"

    digest = hashlib.sha256(MESSAGE).digest()
    signed = await kh.call(crypto.sign, SignatureAlgorithm.rs256, digest)
    assert (await kh.call(crypto.verify, SignatureAlgorithm.rs256, digest, signed.signature)).is_valid
    public = rsa.RSAPublicNumbers(17, int.from_bytes(key.key.n, "big")).public_key()
    public.verify(signed.signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())  # raises if it does not verify

    rotated = await kh.call(client.rotate_key, name)
    assert rotated.key.e == b"\x11"
    assert rotated.key.n != key.key.n


@pytest.mark.parametrize("exponent", [1, 4, 65536, 2**31 + 1])
async def test_managed_hsm_refuses_an_even_or_out_of_range_public_exponent(kh: KeysUnderTest, exponent: int) -> None:
    client = kh.key_client(HSM_URL)
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.create_rsa_key, kh.name(), hardware_protected=True, public_exponent=exponent)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "BadParameter"
