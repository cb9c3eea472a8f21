"""Sealing values for the shared cache: one AES-256 data key per namespace, wrapped by a Key Vault key.

The data key is made once, by the first replica that needs it, and stored in Redis **wrapped** (with the wrapping
key's versioned id and algorithm); every other replica unwraps it once through Key Vault and keeps it in memory.
Values are sealed with AES-256-GCM (kvconfig.crypto's ``A256GCM``), with additional data that binds each blob to its
namespace, data key, vault, secret name and version: a blob copied to another key, or altered, fails to open and
is treated as missing. Nothing here ever holds or writes a value in clear outside the process.

The record is signed by the wrapping key itself (RS256 over the SHA-256 of its namespace-bound fields): an RSA wrap
needs only the public key, so without the signature anyone able to write to Redis could store a data key of their
own choosing. A record is opened only after its signature verifies with the same Key Vault key (any version) that
wrapped it. AES key wraps (``A*KW``, ``CKM_AES_KEY_WRAP*``) authenticate themselves: only the key's holder can make
one that unwraps, so those records are not signed.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import urlsplit

from kvconfig.crypto import CryptoError, decrypt, encrypt, key_from_jwk
from kvconfig.references import KeyVaultReference
from kvconfig.resolve import CachedSecret

__all__ = [
    "DataKey",
    "RecordRefusedError",
    "SealedFormatError",
    "UnwrapSeam",
    "WrapSeam",
    "new_data_key",
    "open_data_key",
    "record_id",
    "record_summary",
    "rewrap_record",
]

_ID_BYTES = 8
_NONCE_BYTES = 12
_TAG_BYTES = 16
_MAX_RECORD = 16 * 1024
_SIGNATURE = "RS256"
# Wraps that only the key's holder can make (RFC 3394/5649 carry an integrity check): no signature needed.
_SELF_AUTHENTICATED = frozenset({"A128KW", "A192KW", "A256KW", "CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD"})


class SealedFormatError(ValueError):
    """A blob or a data key record in the shared cache is malformed or fails authentication."""


class RecordRefusedError(SealedFormatError):
    """A data key record that does not prove the wrapping key's holder made it: unsigned (for an RSA wrap), signed by
    another key, or with a signature that does not verify. It is never opened."""


class UnwrapSeam(Protocol):
    """What unwraps the data key and verifies its record's signature (kvconfig.crypto's ``LocalKeyWrapper``,
    ``KeyRing``, ``AzureKeyWrapper`` or ``AsyncAzureKeyWrapper``).

    ``verify_digest`` answers whether ``signature`` is ``key_id``'s RS256 signature of ``digest``: ``False`` for a
    key other than the unwrapper's own; it raises (``EnvelopeKeyError``) when it cannot tell, e.g. for another version
    of its key without a ``client_factory``."""

    def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> Any: ...

    def verify_digest(self, key_id: str, algorithm: str, digest: bytes, signature: bytes) -> Any: ...


class WrapSeam(UnwrapSeam, Protocol):
    """What wraps the data key (a ``KeyWrapper`` or an ``AsyncKeyWrapper``, e.g. ``AsyncAzureKeyWrapper``)."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    def wrap_key(self, key: bytes) -> Any: ...

    def sign_digest(self, digest: bytes) -> Any:
        """``(versioned key id, RS256 signature)`` of a SHA-256 digest, by the wrapping key."""


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


async def new_data_key(wrapper: WrapSeam, *, record_key: str) -> tuple[DataKey, bytes]:
    """A fresh data key and its signed record (JSON: id, wrapping key id and algorithm, wrapped key, signature) to
    store at ``record_key`` (the record is bound to it)."""
    raw = os.urandom(32)
    wrapped = await _maybe_await(wrapper.wrap_key(raw))
    key_id = os.urandom(_ID_BYTES)
    record = await _record_bytes(record_key, key_id, wrapper, bytes(wrapped))
    return DataKey(key_id, wrapper.key_id, _material(raw)), record


def _digest(record_key: str, fields: Mapping[str, str]) -> bytes:
    signed = [
        "kvconfig-datakey/1",
        record_key,
        *(fields[name] for name in ("id", "kid", "alg", "wrapped")),
    ]
    return hashlib.sha256(json.dumps(signed, separators=(",", ":")).encode()).digest()


async def _record_bytes(record_key: str, key_id: bytes, wrapper: WrapSeam, wrapped: bytes) -> bytes:
    # key_id and algorithm are read after the wrap: the Azure SDK's wrapper learns its versioned key id from it
    record = {"id": key_id.hex(), "kid": wrapper.key_id, "alg": wrapper.algorithm}
    record["wrapped"] = base64.b64encode(wrapped).decode()
    if record["alg"] not in _SELF_AUTHENTICATED:
        signed_by, signature = await _maybe_await(wrapper.sign_digest(_digest(record_key, record)))
        record.update(sig_kid=str(signed_by), sig_alg=_SIGNATURE, sig=base64.b64encode(bytes(signature)).decode())
    return json.dumps(record).encode()


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


def _key_name(key_id: str) -> tuple[str, str]:
    """``(host, name)`` of a Key Vault key id, ignoring its version (another kind of id stands for itself)."""
    split = urlsplit(key_id)
    parts = [part for part in split.path.split("/") if part]
    if split.netloc and len(parts) in (2, 3) and parts[0] == "keys":
        return split.netloc.lower(), parts[1]
    return key_id, ""


async def _verify(record_key: str, parsed: Mapping[str, Any], unwrapper: UnwrapSeam) -> None:
    """Refuse a record its wrapping key did not sign (RecordRefusedError), before anything is unwrapped."""
    if parsed["alg"] in _SELF_AUTHENTICATED:
        if getattr(unwrapper, "algorithm", parsed["alg"]) not in _SELF_AUTHENTICATED:
            raise RecordRefusedError("The data key record names an AES key wrap; this replica's key signs its records.")
        return
    signed_by, algorithm, encoded = (parsed.get(name) for name in ("sig_kid", "sig_alg", "sig"))
    if not (isinstance(signed_by, str) and isinstance(encoded, str)) or algorithm != _SIGNATURE:
        raise RecordRefusedError(f"The data key record is not signed with {_SIGNATURE} by its wrapping key.")
    if _key_name(signed_by) != _key_name(parsed["kid"]):
        raise RecordRefusedError("The data key record is signed by another key than the one that wrapped it.")
    try:
        signature = base64.b64decode(encoded, validate=True)
        valid = await _maybe_await(
            unwrapper.verify_digest(signed_by, _SIGNATURE, _digest(record_key, parsed), signature)
        )
    except ValueError:  # undecodable; a key the replica cannot ask (EnvelopeKeyError) is an error, not a refusal
        valid = False
    if valid is not True:
        raise RecordRefusedError("The data key record's signature is invalid or not by this replica's key.")


async def _unwrap_record(
    record: bytes, unwrapper: UnwrapSeam, record_key: str
) -> tuple[Mapping[str, str], bytes, bytes]:
    """The parsed record, its id and the unwrapped key bytes (one signature check, one Key Vault unwrap)."""
    parsed = _parse_record(record)
    try:
        key_id = bytes.fromhex(parsed["id"])
        wrapped = base64.b64decode(parsed["wrapped"], validate=True)
    except ValueError:
        raise SealedFormatError("The data key record is not encoded as expected.") from None
    if len(key_id) != _ID_BYTES:
        raise SealedFormatError("The data key record's id has the wrong length.")
    await _verify(record_key, parsed, unwrapper)
    raw = bytes(await _maybe_await(unwrapper.unwrap_key(parsed["kid"], parsed["alg"], wrapped)))
    if len(raw) != 32:
        raise SealedFormatError("The unwrapped data key is not 32 bytes.")
    return parsed, key_id, raw


async def open_data_key(record: bytes, unwrapper: UnwrapSeam, *, record_key: str) -> DataKey:
    """Verify and unwrap the data key record stored at ``record_key``; RecordRefusedError when it is not signed by
    its wrapping key (nothing is unwrapped then)."""
    parsed, key_id, raw = await _unwrap_record(record, unwrapper, record_key)
    return DataKey(key_id, parsed["kid"], _material(raw))


async def rewrap_record(record: bytes, unwrapper: UnwrapSeam, wrapper: WrapSeam, *, record_key: str) -> bytes:
    """The same data key (same id: every sealed entry stays readable) wrapped again and signed by ``wrapper``: the
    record is verified and unwrapped under the key it names, then wrapped under ``wrapper``'s key (typically its new
    version). A record that fails verification is refused, never laundered into a signed one."""
    _parsed, key_id, raw = await _unwrap_record(record, unwrapper, record_key)
    wrapped = await _maybe_await(wrapper.wrap_key(raw))
    return await _record_bytes(record_key, key_id, wrapper, bytes(wrapped))


def record_summary(record: bytes) -> dict[str, str]:
    """What a record says of itself, without unwrapping: ``id`` (hex), ``kid`` (the wrapping key) and ``alg``."""
    parsed = _parse_record(record)
    return {"id": parsed["id"], "kid": parsed["kid"], "alg": parsed["alg"]}


def record_id(record: bytes | None) -> str | None:
    """The data key id a record names (unverified: only compared with a blob's), or ``None``."""
    if record is None:
        return None
    try:
        parsed = json.loads(record)
    except ValueError:
        return None
    identifier = parsed.get("id") if isinstance(parsed, dict) else None
    return identifier if isinstance(identifier, str) else None


# -- what a sealed entry holds: one secret version's value and attributes, as JSON --------------------------------


def _stamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(float(value), tz=timezone.utc) if isinstance(value, int | float) else None


def secret_bytes(secret: CachedSecret) -> bytes:
    """The plaintext a sealed entry holds (sealed before it leaves the process)."""
    return json.dumps(
        {
            "value": secret.value,
            "enabled": secret.enabled,
            "nbf": _stamp(secret.not_before),
            "exp": _stamp(secret.expires_on),
            "ct": secret.content_type,
        }
    ).encode()


def secret_from(plain: bytes, ref: KeyVaultReference, version: str) -> CachedSecret | None:
    """The secret of an opened entry, or ``None`` when it does not hold one."""
    try:
        data = json.loads(plain)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("value"), str):
        return None
    content_type = data.get("ct")
    return CachedSecret(
        vault_url=ref.vault_url,
        name=ref.name,
        version=version,
        value=data["value"],
        enabled=data.get("enabled") is not False,
        not_before=_when(data.get("nbf")),
        expires_on=_when(data.get("exp")),
        content_type=content_type if isinstance(content_type, str) else None,
    )
