"""Sealing values for the shared cache: one AES-256 data key per namespace, wrapped by a Key Vault key.

The data key is made once, by the first replica that needs it, and stored in Redis **wrapped** (with the wrapping
key's versioned id and algorithm); every other replica unwraps it once through Key Vault and keeps it in memory.
Values are sealed with AES-256-GCM (kvconfig.crypto's ``A256GCM``), with additional data that binds each blob to its
namespace, data key, vault, secret name and version: a blob copied to another key, or altered, fails to open and
is treated as missing. Nothing here ever holds or writes a value in clear outside the process.
"""

from __future__ import annotations

import base64
import inspect
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kvconfig.crypto import CryptoError, decrypt, encrypt, key_from_jwk

__all__ = ["DataKey", "SealedFormatError", "UnwrapSeam", "WrapSeam", "new_data_key", "open_data_key"]

_ID_BYTES = 8
_NONCE_BYTES = 12
_TAG_BYTES = 16
_MAX_RECORD = 16 * 1024


class SealedFormatError(ValueError):
    """A blob or a data key record in the shared cache is malformed or fails authentication."""


class UnwrapSeam(Protocol):
    """What unwraps the data key (a ``KeyUnwrapper`` or an ``AsyncKeyUnwrapper`` of kvconfig.crypto)."""

    def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> Any: ...


class WrapSeam(UnwrapSeam, Protocol):
    """What wraps the data key (a ``KeyWrapper`` or an ``AsyncKeyWrapper``, e.g. ``AsyncAzureKeyWrapper``)."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    def wrap_key(self, key: bytes) -> Any: ...


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


@dataclass(frozen=True)
class DataKey:
    """An unwrapped data key in memory: ``key_id`` names the record, never the key bytes."""

    key_id: bytes
    wrapped_by: str
    _material: Any = field(repr=False)

    def _aad(self, namespace: str, purpose: str, parts: tuple[str, ...]) -> bytes:
        return json.dumps([namespace, purpose, self.key_id.hex(), *parts]).encode()

    def seal(self, namespace: str, purpose: str, parts: tuple[str, ...], plaintext: bytes) -> bytes:
        """``key id || nonce || ciphertext || tag``, bound to (namespace, purpose, parts)."""
        result = encrypt(self._material, "A256GCM", plaintext, aad=self._aad(namespace, purpose, parts))
        return self.key_id + (result.iv or b"") + result.ciphertext + (result.tag or b"")

    def open(self, namespace: str, purpose: str, parts: tuple[str, ...], blob: bytes) -> bytes:
        """The plaintext of a blob sealed by :meth:`seal` for the same binding, or :class:`SealedFormatError`."""
        if len(blob) < _ID_BYTES + _NONCE_BYTES + _TAG_BYTES or blob[:_ID_BYTES] != self.key_id:
            raise SealedFormatError("The blob was not sealed under this data key.")
        iv = blob[_ID_BYTES : _ID_BYTES + _NONCE_BYTES]
        body, tag = blob[_ID_BYTES + _NONCE_BYTES : -_TAG_BYTES], blob[-_TAG_BYTES:]
        try:
            return decrypt(self._material, "A256GCM", body, iv=iv, tag=tag, aad=self._aad(namespace, purpose, parts))
        except CryptoError:
            raise SealedFormatError("The blob failed authentication.") from None


def blob_key_id(blob: bytes) -> bytes:
    return blob[:_ID_BYTES]


def _material(raw: bytes) -> Any:
    return key_from_jwk({"kty": "oct", "k": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()})


async def new_data_key(wrapper: WrapSeam) -> tuple[DataKey, bytes]:
    """A fresh data key and its record (JSON: id, wrapping key id and algorithm, wrapped key) to store."""
    raw = os.urandom(32)
    wrapped = await _maybe_await(wrapper.wrap_key(raw))
    key_id = os.urandom(_ID_BYTES)
    record = {
        "id": key_id.hex(),
        "kid": wrapper.key_id,
        "alg": wrapper.algorithm,
        "wrapped": base64.b64encode(bytes(wrapped)).decode(),
    }
    return DataKey(key_id, wrapper.key_id, _material(raw)), json.dumps(record).encode()


def _parse_record(record: bytes) -> Mapping[str, str]:
    if len(record) > _MAX_RECORD:
        raise SealedFormatError("The data key record is too large.")
    try:
        parsed = json.loads(record)
    except ValueError:
        raise SealedFormatError("The data key record is not JSON.") from None
    if not isinstance(parsed, dict) or not all(isinstance(parsed.get(k), str) for k in ("id", "kid", "alg", "wrapped")):
        raise SealedFormatError("The data key record lacks id, kid, alg or wrapped.")
    return parsed


async def open_data_key(record: bytes, unwrapper: UnwrapSeam) -> DataKey:
    """Unwrap a stored data key record (one Key Vault unwrap)."""
    parsed = _parse_record(record)
    try:
        key_id = bytes.fromhex(parsed["id"])
        wrapped = base64.b64decode(parsed["wrapped"], validate=True)
    except ValueError:
        raise SealedFormatError("The data key record is not encoded as expected.") from None
    if len(key_id) != _ID_BYTES:
        raise SealedFormatError("The data key record's id has the wrong length.")
    raw = bytes(await _maybe_await(unwrapper.unwrap_key(parsed["kid"], parsed["alg"], wrapped)))
    if len(raw) != 32:
        raise SealedFormatError("The unwrapped data key is not 32 bytes.")
    return DataKey(key_id, parsed["kid"], _material(raw))
