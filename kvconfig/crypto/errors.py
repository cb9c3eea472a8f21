"""Errors raised by :mod:`kvconfig.crypto`.

Every class derives from :class:`CryptoError` (itself a :class:`kvconfig.errors.KvConfigError`)::

    CryptoError
    ├── UnsupportedAlgorithmError (also ValueError)  unknown algorithm, or one that does not fit the key
    │                                                (wrong key type, curve or size for the algorithm)
    ├── InvalidKeyError (also ValueError)            unusable key material or key parameters
    │   └── JwkError                                 a malformed JSON Web Key (missing/bad member, wrong length)
    ├── InvalidInputError (also ValueError)          a bad argument: wrong length, missing iv/tag, text too long
    │   └── InvalidDigestError                       the digest length does not match the signature algorithm
    ├── KeyOperationError                            the key may not do this: not in ``key_ops``, or no private part
    ├── DecryptionError                              decryption or unwrapping failed (tag mismatch, bad padding, ...)
    └── EnvelopeError                                an envelope could not be opened
        ├── EnvelopeFormatError (also ValueError)    not an envelope: bad magic, unknown version, truncated header
        ├── EnvelopeKeyError                         no key to unwrap the data key for the recorded key id, or a key id
        │                                            that is malformed or not on a trusted host (nothing was sent)
        └── EnvelopeIntegrityError                   tampered, truncated or reordered data, or the wrong key (one error
                                                     for every unwrap or chunk-0 failure: no padding oracle)

A server (the fake Key Vault) can map the families to the service's answers without reading messages:
``UnsupportedAlgorithmError``, ``InvalidKeyError`` and ``InvalidInputError`` are request errors (400 BadParameter),
``DecryptionError`` is a failed operation on good input, ``KeyOperationError`` is an operation the key forbids.

Messages never contain plaintext, ciphertext or key material; they name the algorithm, the key type and lengths.
"""

from __future__ import annotations

from kvconfig.errors import KvConfigError

__all__ = [
    "CryptoError",
    "DecryptionError",
    "EnvelopeError",
    "EnvelopeFormatError",
    "EnvelopeIntegrityError",
    "EnvelopeKeyError",
    "InvalidDigestError",
    "InvalidInputError",
    "InvalidKeyError",
    "JwkError",
    "KeyOperationError",
    "UnsupportedAlgorithmError",
]


class CryptoError(KvConfigError):
    """Base class of every error raised by :mod:`kvconfig.crypto`."""


class UnsupportedAlgorithmError(CryptoError, ValueError):
    """The algorithm is unknown, not available for this operation, or does not fit the key's type, curve or size."""


class InvalidKeyError(CryptoError, ValueError):
    """Key material or key generation parameters are unusable (unknown key type or curve, unsupported size...)."""


class JwkError(InvalidKeyError):
    """A JSON Web Key is malformed: a member is missing, of the wrong type, not base64url, or of the wrong length."""


class InvalidInputError(CryptoError, ValueError):
    """An operation's input is malformed: wrong length, missing or unexpected iv/tag/aad, plaintext too long."""


class InvalidDigestError(InvalidInputError):
    """The digest's length does not match the hash of the signature algorithm (32, 48 or 64 bytes)."""


class KeyOperationError(CryptoError):
    """The key may not perform the operation: it is not listed in ``key_ops``, or the private part is missing."""


class DecryptionError(CryptoError):
    """Decryption or unwrapping failed: authentication tag mismatch, bad padding, or the wrong key."""


class EnvelopeError(CryptoError):
    """An envelope could not be opened."""


class EnvelopeFormatError(EnvelopeError, ValueError):
    """The bytes are not a kvconfig envelope this version can read: bad magic, unknown version, malformed header."""


class EnvelopeKeyError(EnvelopeError):
    """The unwrapper has no key for the key id recorded in the envelope, or may not reach it (untrusted host)."""


class EnvelopeIntegrityError(EnvelopeError):
    """The envelope was tampered with, truncated or reordered, or the data key was wrapped by another key."""
