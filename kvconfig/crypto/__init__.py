"""kvconfig.crypto: Key Vault cryptography computed locally on JSON Web Keys, and envelope encryption.

* :func:`generate_key`, :func:`key_from_jwk`, :class:`KeyMaterial`: JWKs as Key Vault writes them.
* :func:`encrypt`, :func:`decrypt`, :func:`sign`, :func:`verify`, :func:`wrap_key`, :func:`unwrap_key`: every Key
  Vault algorithm by its service name, on :class:`KeyMaterial`.
* :class:`LocalCryptoClient`: the same with the Azure SDK ``CryptographyClient``'s method names and ``key_ops`` checks.
* :func:`encrypt_envelope` / :func:`decrypt_envelope` (and stream, async and async stream variants): AES-256-GCM
  data keys wrapped by a Key Vault key through a :class:`KeyWrapper`.

All the cryptography is done by the ``cryptography`` package. Errors are in :mod:`kvconfig.crypto.errors`.
"""

from __future__ import annotations

from ._algorithms import (
    ENCRYPTION_ALGORITHMS,
    KEY_OPERATIONS,
    KEY_WRAP_ALGORITHMS,
    SIGNATURE_ALGORITHMS,
    EncryptResult,
    decrypt,
    encrypt,
    sign,
    supported_algorithms,
    unwrap_key,
    verify,
    wrap_key,
)
from ._client import LocalCryptoClient
from ._jwk import CURVES, KEY_TYPES, JwkDict, KeyMaterial, generate_key, key_from_jwk
from ._wrappers import (
    AsyncAzureKeyWrapper,
    AsyncKeyUnwrapper,
    AsyncKeyWrapper,
    AzureKeyWrapper,
    KeyRing,
    KeyUnwrapper,
    KeyWrapper,
    LocalKeyWrapper,
)
from .envelope import (
    AsyncByteReader,
    AsyncByteWriter,
    EnvelopeHeader,
    decrypt_envelope,
    decrypt_envelope_async,
    decrypt_stream,
    decrypt_stream_async,
    encrypt_envelope,
    encrypt_envelope_async,
    encrypt_stream,
    encrypt_stream_async,
    read_envelope_header,
)
from .errors import (
    CryptoError,
    DecryptionError,
    EnvelopeError,
    EnvelopeFormatError,
    EnvelopeIntegrityError,
    EnvelopeKeyError,
    InvalidDigestError,
    InvalidInputError,
    InvalidKeyError,
    JwkError,
    KeyOperationError,
    UnsupportedAlgorithmError,
)

__all__ = [
    "CURVES",
    "ENCRYPTION_ALGORITHMS",
    "KEY_OPERATIONS",
    "KEY_TYPES",
    "KEY_WRAP_ALGORITHMS",
    "SIGNATURE_ALGORITHMS",
    "AsyncAzureKeyWrapper",
    "AsyncByteReader",
    "AsyncByteWriter",
    "AsyncKeyUnwrapper",
    "AsyncKeyWrapper",
    "AzureKeyWrapper",
    "CryptoError",
    "DecryptionError",
    "EncryptResult",
    "EnvelopeError",
    "EnvelopeFormatError",
    "EnvelopeHeader",
    "EnvelopeIntegrityError",
    "EnvelopeKeyError",
    "InvalidDigestError",
    "InvalidInputError",
    "InvalidKeyError",
    "JwkDict",
    "JwkError",
    "KeyMaterial",
    "KeyOperationError",
    "KeyRing",
    "KeyUnwrapper",
    "KeyWrapper",
    "LocalCryptoClient",
    "LocalKeyWrapper",
    "UnsupportedAlgorithmError",
    "decrypt",
    "decrypt_envelope",
    "decrypt_envelope_async",
    "decrypt_stream",
    "decrypt_stream_async",
    "encrypt",
    "encrypt_envelope",
    "encrypt_envelope_async",
    "encrypt_stream",
    "encrypt_stream_async",
    "generate_key",
    "key_from_jwk",
    "read_envelope_header",
    "sign",
    "supported_algorithms",
    "unwrap_key",
    "verify",
    "wrap_key",
]
