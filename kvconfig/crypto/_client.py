"""LocalCryptoClient: the Azure SDK's CryptographyClient method names, computed locally from a JSON Web Key.

Unlike ``CryptographyClient.from_jwk`` it implements every Key Vault algorithm (AES-GCM, plain CBC, CKM wraps
included) and fails with a typed :class:`kvconfig.crypto.errors.CryptoError` instead of falling back to the service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Union

from . import _algorithms
from ._algorithms import EncryptResult
from ._jwk import KeyMaterial, key_from_jwk
from .errors import JwkError, KeyOperationError

if TYPE_CHECKING:
    from azure.keyvault.keys import JsonWebKey, KeyVaultKey

__all__ = ["LocalCryptoClient"]

KeySource = Union[Mapping[str, object], "JsonWebKey", "KeyVaultKey", KeyMaterial]

_JWK_FIELDS = ("kid", "kty", "key_ops", "n", "e", "d", "dp", "dq", "qi", "p", "q", "k", "crv", "x", "y")


def _jwk_dict_from_sdk(key: object) -> dict[str, object]:
    """Turn an azure-keyvault-keys ``JsonWebKey`` or ``KeyVaultKey`` into a JWK mapping (imported lazily)."""
    try:
        from azure.keyvault.keys import JsonWebKey, KeyVaultKey
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise TypeError(
            f"Cannot build a LocalCryptoClient from {type(key).__name__}: pass a JWK mapping, or install "
            "azure-keyvault-keys to pass its JsonWebKey or KeyVaultKey."
        ) from None
    kid: str | None = None
    if isinstance(key, KeyVaultKey):
        kid = key.id
        key = key.key
    if not isinstance(key, JsonWebKey):
        raise TypeError(
            f"Cannot build a LocalCryptoClient from {type(key).__name__}; expected a JWK mapping, "
            "azure.keyvault.keys.JsonWebKey or KeyVaultKey."
        )
    fields: dict[str, object] = {}
    for name in _JWK_FIELDS:
        value = getattr(key, name, None)
        if value is None:
            continue
        # KeyType, KeyCurveName and KeyOperation are str enums
        value = [getattr(op, "value", op) for op in value] if name == "key_ops" else getattr(value, "value", value)
        fields[name] = value
    if kid is not None:
        fields["kid"] = kid
    return fields


class LocalCryptoClient:
    """Performs Key Vault cryptographic operations locally, with the SDK ``CryptographyClient``'s method names.

    Build it from a JWK mapping (wire form: base64url members), an ``azure.keyvault.keys.JsonWebKey`` or
    ``KeyVaultKey``, or a :class:`KeyMaterial` (then ``key_id``/``key_ops`` are given as keywords). Algorithms may
    be strings or the SDK's ``EncryptionAlgorithm``/``KeyWrapAlgorithm``/``SignatureAlgorithm`` enums.

    ``key_ops``: when the JWK lists operations, only those are allowed (:class:`KeyOperationError` otherwise); a JWK
    without ``key_ops`` allows every operation its key type supports. Private operations (decrypt, unwrap, sign)
    need the private part. Results: encrypt returns :class:`EncryptResult`, verify a bool, the others bytes.
    """

    def __init__(self, key: KeySource, *, key_id: str | None = None, key_ops: Iterable[str] | None = None) -> None:
        jwk_ops: object = None
        if isinstance(key, KeyMaterial):
            material = key
        else:
            jwk = key if isinstance(key, Mapping) else _jwk_dict_from_sdk(key)
            material = key_from_jwk(jwk)
            kid = jwk.get("kid")
            key_id = key_id if key_id is not None else (kid if isinstance(kid, str) else None)
            jwk_ops = jwk.get("key_ops")
        if key_ops is None and jwk_ops is not None:
            if not isinstance(jwk_ops, Iterable):  # pragma: no cover - key_from_jwk already checked it
                raise JwkError("The JSON Web Key member 'key_ops' must be a list of strings.")
            key_ops = [str(op) for op in jwk_ops]
        self._material = material
        self._key_id = key_id
        self._key_ops = None if key_ops is None else frozenset(str(getattr(op, "value", op)) for op in key_ops)

    def __repr__(self) -> str:
        return f"LocalCryptoClient(key_id={self._key_id!r}, key={self._material!r})"

    @property
    def key_id(self) -> str | None:
        """The key's identifier (the JWK's ``kid`` or the ``KeyVaultKey``'s id), if known."""
        return self._key_id

    @property
    def key_material(self) -> KeyMaterial:
        return self._material

    @property
    def key_ops(self) -> frozenset[str] | None:
        """The operations the key allows, or None when the JWK does not restrict them."""
        return self._key_ops

    def _allow(self, operation: str) -> None:
        if self._key_ops is not None and operation not in self._key_ops:
            allowed = ", ".join(sorted(self._key_ops)) or "none"
            raise KeyOperationError(f"This key does not allow the {operation!r} operation (key_ops: {allowed}).")

    def supported_algorithms(self, operation: str) -> frozenset[str]:
        """Algorithms ``operation`` accepts for this key (empty when ``key_ops`` forbids the operation)."""
        if self._key_ops is not None and operation not in self._key_ops:
            return frozenset()
        return _algorithms.supported_algorithms(self._material, operation)

    def encrypt(
        self,
        algorithm: str,
        plaintext: bytes,
        *,
        iv: bytes | None = None,
        additional_authenticated_data: bytes | None = None,
    ) -> EncryptResult:
        self._allow("encrypt")
        return _algorithms.encrypt(self._material, algorithm, plaintext, iv=iv, aad=additional_authenticated_data)

    def decrypt(
        self,
        algorithm: str,
        ciphertext: bytes,
        *,
        iv: bytes | None = None,
        authentication_tag: bytes | None = None,
        additional_authenticated_data: bytes | None = None,
    ) -> bytes:
        self._allow("decrypt")
        return _algorithms.decrypt(
            self._material, algorithm, ciphertext, iv=iv, aad=additional_authenticated_data, tag=authentication_tag
        )

    def wrap_key(self, algorithm: str, key: bytes) -> bytes:
        self._allow("wrapKey")
        return _algorithms.wrap_key(self._material, algorithm, key)

    def unwrap_key(self, algorithm: str, encrypted_key: bytes) -> bytes:
        self._allow("unwrapKey")
        return _algorithms.unwrap_key(self._material, algorithm, encrypted_key)

    def sign(self, algorithm: str, digest: bytes) -> bytes:
        self._allow("sign")
        return _algorithms.sign(self._material, algorithm, digest)

    def verify(self, algorithm: str, digest: bytes, signature: bytes) -> bool:
        self._allow("verify")
        return _algorithms.verify(self._material, algorithm, digest, signature)
