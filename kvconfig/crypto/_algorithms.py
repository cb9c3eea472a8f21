"""Key Vault's cryptographic algorithms by their service names, on KeyMaterial (``cryptography`` does the math).

One entry point per key operation: :func:`encrypt`, :func:`decrypt`, :func:`sign`, :func:`verify`, :func:`wrap_key`,
:func:`unwrap_key`, plus :func:`supported_algorithms`. Signing takes a **digest** the caller already computed, as
Key Vault's sign and verify do; it is never hashed again.

Error families (see :mod:`kvconfig.crypto.errors`): an algorithm that is unknown or does not fit the key raises
:class:`UnsupportedAlgorithmError`; malformed input (lengths, missing iv or tag) raises :class:`InvalidInputError`
(:class:`InvalidDigestError` for digests); a private operation on a public key raises :class:`KeyOperationError`;
a failed decryption or unwrap raises :class:`DecryptionError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, keywrap
from cryptography.hazmat.primitives import padding as symmetric_padding
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._jwk import CURVES, KeyMaterial
from .errors import (
    DecryptionError,
    InvalidDigestError,
    InvalidInputError,
    KeyOperationError,
    UnsupportedAlgorithmError,
)

__all__ = [
    "ENCRYPTION_ALGORITHMS",
    "KEY_OPERATIONS",
    "KEY_WRAP_ALGORITHMS",
    "SIGNATURE_ALGORITHMS",
    "EncryptResult",
    "decrypt",
    "encrypt",
    "sign",
    "supported_algorithms",
    "unwrap_key",
    "verify",
    "wrap_key",
]

KEY_OPERATIONS: Final = frozenset({"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"})

_HASHES: Final[dict[int, type[hashes.HashAlgorithm]]] = {256: hashes.SHA256, 384: hashes.SHA384, 512: hashes.SHA512}

# RSA encryption / key wrapping: name -> bytes of overhead per RSA block (the longest plaintext is k - overhead).
_RSA_CIPHERS: Final = {"RSA1_5": 11, "RSA-OAEP": 2 * 20 + 2, "RSA-OAEP-256": 2 * 32 + 2}
# RSA signatures: name -> (hash bits, PSS?)
_RSA_SIGNATURES: Final = {
    "RS256": (256, False),
    "RS384": (384, False),
    "RS512": (512, False),
    "PS256": (256, True),
    "PS384": (384, True),
    "PS512": (512, True),
}
# ECDSA: name -> (curve, hash bits)
_EC_SIGNATURES: Final = {
    "ES256": ("P-256", 256),
    "ES384": ("P-384", 384),
    "ES512": ("P-521", 512),
    "ES256K": ("P-256K", 256),
}
# AES encryption: name -> (mode, key bits)
_AES_CIPHERS: Final = {f"A{bits}{mode}": (mode, bits) for bits in (128, 192, 256) for mode in ("GCM", "CBC", "CBCPAD")}
# AES key wrap: name -> key bits (None: any AES key size)
_AES_WRAPS: Final[dict[str, int | None]] = {
    "A128KW": 128,
    "A192KW": 192,
    "A256KW": 256,
    "CKM_AES_KEY_WRAP": None,
    "CKM_AES_KEY_WRAP_PAD": None,
}

ENCRYPTION_ALGORITHMS: Final = frozenset(_RSA_CIPHERS) | frozenset(_AES_CIPHERS)
"""Algorithms of the encrypt and decrypt operations (Key Vault's ``JsonWebKeyEncryptionAlgorithm`` minus wraps)."""
KEY_WRAP_ALGORITHMS: Final = frozenset(_RSA_CIPHERS) | frozenset(_AES_WRAPS)
"""Algorithms of the wrapKey and unwrapKey operations (the SDK's ``KeyWrapAlgorithm``)."""
SIGNATURE_ALGORITHMS: Final = frozenset(_RSA_SIGNATURES) | frozenset(_EC_SIGNATURES)
"""Algorithms of the sign and verify operations (``HS*`` and ``RSNULL`` are not supported)."""

_BY_OPERATION: Final = {
    "encrypt": ENCRYPTION_ALGORITHMS,
    "decrypt": ENCRYPTION_ALGORITHMS,
    "wrapKey": KEY_WRAP_ALGORITHMS,
    "unwrapKey": KEY_WRAP_ALGORITHMS,
    "sign": SIGNATURE_ALGORITHMS,
    "verify": SIGNATURE_ALGORITHMS,
}
_PRIVATE_OPERATIONS: Final = frozenset({"decrypt", "unwrapKey", "sign"})
_GCM_IV_BYTES: Final = 12
_GCM_TAG_BYTES: Final = 16
_BLOCK_BYTES: Final = 16


@dataclass(frozen=True)
class EncryptResult:
    """What encrypt returns: ``iv`` for AES (generated when not given), ``tag`` and ``aad`` for AES-GCM."""

    ciphertext: bytes
    iv: bytes | None = None
    tag: bytes | None = None
    aad: bytes | None = None


def supported_algorithms(material: KeyMaterial, operation: str) -> frozenset[str]:
    """The algorithms ``operation`` (``encrypt``, ``decrypt``, ``sign``, ``verify``, ``wrapKey``, ``unwrapKey``)
    accepts for this key's type, curve and size. Whether the private part is present is not considered."""
    candidates = _BY_OPERATION.get(operation)
    if candidates is None:
        raise InvalidInputError(f"Unknown key operation {operation!r}; expected one of {sorted(KEY_OPERATIONS)}.")
    return frozenset(alg for alg in candidates if _mismatch(material, alg) is None)


def _mismatch(material: KeyMaterial, alg: str) -> str | None:
    """Why ``alg`` does not fit the key, or None when it does."""
    family = material.kty_family
    if alg in _RSA_CIPHERS or alg in _RSA_SIGNATURES:
        return None if family == "RSA" else f"{alg} needs an RSA key, not {material.kty}."
    if alg in _EC_SIGNATURES:
        curve = _EC_SIGNATURES[alg][0]
        if family != "EC":
            return f"{alg} needs an EC key on curve {curve}, not {material.kty}."
        return None if material.curve == curve else f"{alg} needs curve {curve}; this key is on {material.curve}."
    bits = _AES_CIPHERS[alg][1] if alg in _AES_CIPHERS else _AES_WRAPS[alg]
    if family != "oct":
        return f"{alg} needs an oct (AES) key, not {material.kty}."
    if bits is not None and material.size != bits:
        return f"{alg} needs a {bits}-bit key; this oct key has {material.size} bits."
    return None


def _check(material: KeyMaterial, operation: str, alg: object) -> str:
    name = getattr(alg, "value", alg)  # the SDK's algorithm enums are str enums
    if not isinstance(name, str):
        raise UnsupportedAlgorithmError(f"The algorithm must be a string, not {type(name).__name__}.")
    if name not in _BY_OPERATION[operation]:
        known = ", ".join(sorted(_BY_OPERATION[operation]))
        raise UnsupportedAlgorithmError(
            f"Algorithm {name!r} is not supported for {operation}; expected one of {known}."
        )
    why = _mismatch(material, name)
    if why is not None:
        raise UnsupportedAlgorithmError(f"Algorithm {name} cannot {operation} with this key: {why}")
    if operation in _PRIVATE_OPERATIONS and not material.has_private:
        raise KeyOperationError(
            f"{operation} with {name} needs the private part of the key; this {material.kty} key is public only."
        )
    return name


def _rsa_padding(alg: str) -> padding.AsymmetricPadding:
    if alg == "RSA1_5":
        return padding.PKCS1v15()
    hash_cls = hashes.SHA1 if alg == "RSA-OAEP" else hashes.SHA256
    return padding.OAEP(mgf=padding.MGF1(hash_cls()), algorithm=hash_cls(), label=None)


def _rsa_public(material: KeyMaterial) -> rsa.RSAPublicKey:
    key = material.key
    if isinstance(key, rsa.RSAPrivateKey):
        return key.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def _rsa_private(material: KeyMaterial) -> rsa.RSAPrivateKey:
    key = material.key
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _rsa_encrypt(material: KeyMaterial, alg: str, data: bytes, what: str) -> bytes:
    limit = material.size // 8 - _RSA_CIPHERS[alg]
    if len(data) > limit:
        raise InvalidInputError(
            f"The {what} is {len(data)} bytes; {alg} with a {material.size}-bit key takes at most {limit} bytes."
        )
    return _rsa_public(material).encrypt(data, _rsa_padding(alg))


def _rsa_decrypt(material: KeyMaterial, alg: str, data: bytes, what: str) -> bytes:
    expected = (material.size + 7) // 8
    if len(data) != expected:
        raise InvalidInputError(f"The {what} is {len(data)} bytes; a {material.size}-bit RSA key needs {expected}.")
    try:
        return _rsa_private(material).decrypt(data, _rsa_padding(alg))
    except ValueError:
        raise DecryptionError(f"{alg} decryption failed: wrong key or corrupted {what}.") from None


def _aes_key(material: KeyMaterial) -> bytes:
    key = material.key
    assert isinstance(key, bytes)
    return key


def _bytes_or_none(value: bytes | None) -> bytes | None:
    return None if value is None else bytes(value)


def encrypt(
    material: KeyMaterial, alg: str, plaintext: bytes, *, iv: bytes | None = None, aad: bytes | None = None
) -> EncryptResult:
    """Encrypt Key Vault's way. RSA: ``RSA1_5``, ``RSA-OAEP``, ``RSA-OAEP-256``. oct: ``A*GCM`` (12-byte ``iv``,
    generated when None; optional ``aad``; returns a 16-byte ``tag``), ``A*CBC`` (plaintext a multiple of 16 bytes)
    and ``A*CBCPAD`` (PKCS#7), with a 16-byte ``iv`` generated when None."""
    name = _check(material, "encrypt", alg)
    plaintext, iv, aad = bytes(plaintext), _bytes_or_none(iv), _bytes_or_none(aad)
    if name in _RSA_CIPHERS:
        if iv is not None or aad is not None:
            raise InvalidInputError(f"{name} takes no iv and no additional authenticated data.")
        return EncryptResult(_rsa_encrypt(material, name, plaintext, "plaintext"))
    mode = _AES_CIPHERS[name][0]
    key = _aes_key(material)
    if mode == "GCM":
        iv = os.urandom(_GCM_IV_BYTES) if iv is None else iv
        if len(iv) != _GCM_IV_BYTES:
            raise InvalidInputError(f"{name} needs a {_GCM_IV_BYTES}-byte iv, not {len(iv)} bytes.")
        sealed = AESGCM(key).encrypt(iv, plaintext, aad)
        return EncryptResult(sealed[:-_GCM_TAG_BYTES], iv=iv, tag=sealed[-_GCM_TAG_BYTES:], aad=aad)
    if aad is not None:
        raise InvalidInputError(f"{name} takes no additional authenticated data (only AES-GCM does).")
    iv = os.urandom(_BLOCK_BYTES) if iv is None else iv
    if len(iv) != _BLOCK_BYTES:
        raise InvalidInputError(f"{name} needs a {_BLOCK_BYTES}-byte iv, not {len(iv)} bytes.")
    if mode == "CBCPAD":
        padder = symmetric_padding.PKCS7(_BLOCK_BYTES * 8).padder()
        plaintext = padder.update(plaintext) + padder.finalize()
    elif len(plaintext) % _BLOCK_BYTES:
        raise InvalidInputError(
            f"{name} has no padding: the plaintext must be a multiple of 16 bytes, not {len(plaintext)} bytes."
        )
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return EncryptResult(encryptor.update(plaintext) + encryptor.finalize(), iv=iv)


def decrypt(
    material: KeyMaterial,
    alg: str,
    ciphertext: bytes,
    *,
    iv: bytes | None = None,
    aad: bytes | None = None,
    tag: bytes | None = None,
) -> bytes:
    """Decrypt what :func:`encrypt` (or Key Vault) produced; AES needs the ``iv``, AES-GCM also the ``tag``."""
    name = _check(material, "decrypt", alg)
    ciphertext, iv, aad, tag = bytes(ciphertext), _bytes_or_none(iv), _bytes_or_none(aad), _bytes_or_none(tag)
    if name in _RSA_CIPHERS:
        if iv is not None or aad is not None or tag is not None:
            raise InvalidInputError(f"{name} takes no iv, tag or additional authenticated data.")
        return _rsa_decrypt(material, name, ciphertext, "ciphertext")
    mode = _AES_CIPHERS[name][0]
    key = _aes_key(material)
    if mode == "GCM":
        if iv is None or len(iv) != _GCM_IV_BYTES:
            raise InvalidInputError(f"{name} decryption needs the {_GCM_IV_BYTES}-byte iv returned by encryption.")
        if tag is None or len(tag) != _GCM_TAG_BYTES:
            raise InvalidInputError(f"{name} decryption needs the {_GCM_TAG_BYTES}-byte tag returned by encryption.")
        try:
            return AESGCM(key).decrypt(iv, ciphertext + tag, aad)
        except InvalidTag:
            raise DecryptionError(
                f"{name} decryption failed: the tag does not match (wrong key, iv or aad, or tampered data)."
            ) from None
    if aad is not None or tag is not None:
        raise InvalidInputError(f"{name} takes no tag and no additional authenticated data (only AES-GCM does).")
    if iv is None or len(iv) != _BLOCK_BYTES:
        raise InvalidInputError(f"{name} decryption needs the {_BLOCK_BYTES}-byte iv used for encryption.")
    if len(ciphertext) % _BLOCK_BYTES or (mode == "CBCPAD" and not ciphertext):
        raise InvalidInputError(f"{name} ciphertext must be a non-empty multiple of 16 bytes, not {len(ciphertext)}.")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    plaintext = decryptor.update(ciphertext) + decryptor.finalize()
    if mode == "CBC":
        return plaintext
    unpadder = symmetric_padding.PKCS7(_BLOCK_BYTES * 8).unpadder()
    try:
        return unpadder.update(plaintext) + unpadder.finalize()
    except ValueError:
        raise DecryptionError(f"{name} decryption failed: bad padding (wrong key or iv, or tampered data).") from None


def _digest_hash(name: str, bits: int, digest: bytes) -> hashes.HashAlgorithm:
    hash_algorithm = _HASHES[bits]()
    if len(digest) != hash_algorithm.digest_size:
        raise InvalidDigestError(
            f"{name} signs a {hash_algorithm.name.upper()} digest of {hash_algorithm.digest_size} bytes; "
            f"this digest is {len(digest)} bytes."
        )
    return hash_algorithm


def _rsa_signature_padding(pss: bool, hash_algorithm: hashes.HashAlgorithm) -> padding.AsymmetricPadding:
    if pss:
        # Key Vault uses a salt as long as the hash.
        return padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size)
    return padding.PKCS1v15()


def sign(material: KeyMaterial, alg: str, digest: bytes) -> bytes:
    """Sign a precomputed ``digest``. RSA: ``RS*`` (PKCS#1 v1.5), ``PS*`` (PSS, salt = hash length). EC: ``ES256``,
    ``ES384``, ``ES512``, ``ES256K``; the signature is raw ``r || s``, each padded to the curve's length."""
    name = _check(material, "sign", alg)
    digest = bytes(digest)
    key = material.key
    if name in _RSA_SIGNATURES:
        bits, pss = _RSA_SIGNATURES[name]
        hash_algorithm = _digest_hash(name, bits, digest)
        return _rsa_private(material).sign(
            digest, _rsa_signature_padding(pss, hash_algorithm), Prehashed(hash_algorithm)
        )
    curve, bits = _EC_SIGNATURES[name]
    hash_algorithm = _digest_hash(name, bits, digest)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(key.sign(digest, ec.ECDSA(Prehashed(hash_algorithm))))
    length = CURVES[curve][1]
    return r.to_bytes(length, "big") + s.to_bytes(length, "big")


def verify(material: KeyMaterial, alg: str, digest: bytes, signature: bytes) -> bool:
    """True when ``signature`` is valid for ``digest``; False for any invalid or malformed signature."""
    name = _check(material, "verify", alg)
    digest, signature = bytes(digest), bytes(signature)
    key = material.key
    if name in _RSA_SIGNATURES:
        bits, pss = _RSA_SIGNATURES[name]
        hash_algorithm = _digest_hash(name, bits, digest)
        try:
            _rsa_public(material).verify(
                signature, digest, _rsa_signature_padding(pss, hash_algorithm), Prehashed(hash_algorithm)
            )
        except InvalidSignature:
            return False
        return True
    curve, bits = _EC_SIGNATURES[name]
    hash_algorithm = _digest_hash(name, bits, digest)
    length = CURVES[curve][1]
    if len(signature) != 2 * length:
        return False
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    der = encode_dss_signature(int.from_bytes(signature[:length], "big"), int.from_bytes(signature[length:], "big"))
    try:
        public.verify(der, digest, ec.ECDSA(Prehashed(hash_algorithm)))
    except InvalidSignature:
        return False
    return True


def wrap_key(material: KeyMaterial, alg: str, key: bytes) -> bytes:
    """Wrap ``key``. RSA: ``RSA1_5``, ``RSA-OAEP``, ``RSA-OAEP-256``. oct: ``A128KW``/``A192KW``/``A256KW`` and
    ``CKM_AES_KEY_WRAP`` (RFC 3394: ``key`` a multiple of 8 bytes, at least 16) and ``CKM_AES_KEY_WRAP_PAD``
    (RFC 5649: any non-empty length)."""
    name = _check(material, "wrapKey", alg)
    key = bytes(key)
    if name in _RSA_CIPHERS:
        return _rsa_encrypt(material, name, key, "key to wrap")
    kek = _aes_key(material)
    if name == "CKM_AES_KEY_WRAP_PAD":
        if not key:
            raise InvalidInputError(f"{name} cannot wrap an empty key.")
        return keywrap.aes_key_wrap_with_padding(kek, key)
    if len(key) < 16 or len(key) % 8:
        raise InvalidInputError(
            f"{name} (RFC 3394) wraps keys of at least 16 bytes in multiples of 8; this key is {len(key)} bytes."
        )
    return keywrap.aes_key_wrap(kek, key)


def unwrap_key(material: KeyMaterial, alg: str, wrapped: bytes) -> bytes:
    """Unwrap what :func:`wrap_key` (or Key Vault) produced; a failed integrity check raises DecryptionError."""
    name = _check(material, "unwrapKey", alg)
    wrapped = bytes(wrapped)
    if name in _RSA_CIPHERS:
        return _rsa_decrypt(material, name, wrapped, "wrapped key")
    kek = _aes_key(material)
    minimum = 16 if name == "CKM_AES_KEY_WRAP_PAD" else 24
    if len(wrapped) < minimum or len(wrapped) % 8:
        raise InvalidInputError(
            f"A {name} wrapped key is a multiple of 8 bytes, at least {minimum}; this one is {len(wrapped)} bytes."
        )
    try:
        if name == "CKM_AES_KEY_WRAP_PAD":
            return keywrap.aes_key_unwrap_with_padding(kek, wrapped)
        return keywrap.aes_key_unwrap(kek, wrapped)
    except keywrap.InvalidUnwrap:
        raise DecryptionError(f"{name} unwrap failed: integrity check failed (wrong key or tampered data).") from None
