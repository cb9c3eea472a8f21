"""The envelope format itself: header, chunk cipher, sealing and opening, and unwrapping the data key.

The public functions that use it (one-shot, streams, sync and async) are in :mod:`kvconfig.crypto.envelope`, whose
docstring describes the format.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._algorithms import KEY_WRAP_ALGORITHMS
from ._jwk import b64url_decode, b64url_encode
from ._wrappers import AsyncKeyUnwrapper, KeyUnwrapper
from .errors import (
    CryptoError,
    EnvelopeError,
    EnvelopeFormatError,
    EnvelopeIntegrityError,
    EnvelopeKeyError,
    KeyOperationError,
)

__all__ = [
    "CONTENT_ALGORITHM",
    "DEFAULT_CHUNK_SIZE",
    "FORMAT_VERSION",
    "MAGIC",
    "NONCE_BYTES",
    "PREFIX",
    "TAG_BYTES",
    "ChunkCipher",
    "EnvelopeHeader",
    "check_chunk_size",
    "new_header",
    "open",
    "parse_header",
    "parse_prefix",
    "read_envelope_header",
    "seal",
    "split",
    "unwrap",
    "unwrap_async",
]


MAGIC: Final = b"KVCE"
FORMAT_VERSION: Final = 1
CONTENT_ALGORITHM: Final = "A256GCM"
DEFAULT_CHUNK_SIZE: Final = 64 * 1024
MIN_CHUNK_SIZE: Final = 1024
MAX_CHUNK_SIZE: Final = 16 * 1024 * 1024
MAX_HEADER_BYTES: Final = 64 * 1024

PREFIX: Final = struct.Struct(">4sBI")  # magic, version, header length
TAG_BYTES: Final = 16
NONCE_BYTES: Final = 12
_DATA_KEY_BYTES: Final = 32
_MAX_CHUNKS: Final = 2**32
_HEADER_FIELDS: Final = frozenset({"key_id", "wrap_alg", "wrapped_key", "content_alg", "chunk_size", "nonce"})
# AESGCM.encrypt_into / decrypt_into write straight into a caller's buffer; older cryptography releases (the project
# accepts >= 42) lack them, and the chunks are then sealed into temporary bytes and copied into place.
_AEAD_INTO: Final = hasattr(AESGCM, "encrypt_into") and hasattr(AESGCM, "decrypt_into")


@dataclass(frozen=True)
class EnvelopeHeader:
    """An envelope's header: which key (with version) wrapped the data key, how, and how the content is chunked."""

    key_id: str
    wrap_algorithm: str
    wrapped_key: bytes
    chunk_size: int
    nonce: bytes
    content_algorithm: str = CONTENT_ALGORITHM

    def encode(self) -> bytes:
        """The envelope's prefix: magic, version, header length and the header JSON."""
        body = json.dumps(
            {
                "key_id": self.key_id,
                "wrap_alg": self.wrap_algorithm,
                "wrapped_key": b64url_encode(self.wrapped_key),
                "content_alg": self.content_algorithm,
                "chunk_size": self.chunk_size,
                "nonce": b64url_encode(self.nonce),
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode("utf-8")
        return PREFIX.pack(MAGIC, FORMAT_VERSION, len(body)) + body


def check_chunk_size(chunk_size: int) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise TypeError("chunk_size must be an int")
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE} bytes, not {chunk_size}.")


def parse_prefix(prefix: bytes) -> int:
    """Check magic and version; return the header length."""
    if len(prefix) < PREFIX.size:
        if MAGIC.startswith(prefix[: len(MAGIC)]) and prefix:
            raise EnvelopeFormatError("The envelope is truncated: it ends inside its header.")
        raise EnvelopeFormatError("Not a kvconfig envelope: too short.")
    magic, version, length = PREFIX.unpack(prefix[: PREFIX.size])
    if magic != MAGIC:
        raise EnvelopeFormatError("Not a kvconfig envelope: the magic bytes are wrong.")
    if version != FORMAT_VERSION:
        raise EnvelopeFormatError(
            f"Envelope format version {version} is not supported; this kvconfig reads version {FORMAT_VERSION}."
        )
    if not 0 < length <= MAX_HEADER_BYTES:
        raise EnvelopeFormatError(f"The envelope header length {length} is out of range.")
    return int(length)


def parse_header(body: bytes) -> EnvelopeHeader:
    try:
        fields = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EnvelopeFormatError("The envelope header is not valid JSON.") from None
    if not isinstance(fields, dict) or set(fields) != _HEADER_FIELDS:
        raise EnvelopeFormatError(f"The envelope header must have exactly the fields {sorted(_HEADER_FIELDS)}.")
    key_id, wrap_alg, content_alg = fields["key_id"], fields["wrap_alg"], fields["content_alg"]
    chunk_size, wrapped_text, nonce_text = fields["chunk_size"], fields["wrapped_key"], fields["nonce"]
    if not isinstance(key_id, str) or not key_id:
        raise EnvelopeFormatError("The envelope header's key_id must be a non-empty string.")
    if wrap_alg not in KEY_WRAP_ALGORITHMS:
        raise EnvelopeFormatError(f"The envelope header names an unknown wrap algorithm {wrap_alg!r}.")
    if content_alg != CONTENT_ALGORITHM:
        raise EnvelopeFormatError(f"The envelope header names an unknown content algorithm {content_alg!r}.")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise EnvelopeFormatError("The envelope header's chunk_size must be an integer.")
    try:
        check_chunk_size(chunk_size)
        if not isinstance(wrapped_text, str) or not isinstance(nonce_text, str):
            raise ValueError("not a string")
        wrapped_key, nonce = b64url_decode(wrapped_text), b64url_decode(nonce_text)
    except ValueError as exc:
        raise EnvelopeFormatError(f"The envelope header is malformed: {exc}") from None
    if not wrapped_key or len(nonce) != NONCE_BYTES:
        raise EnvelopeFormatError("The envelope header's wrapped_key is empty or its nonce is not 12 bytes.")
    return EnvelopeHeader(key_id, wrap_alg, wrapped_key, chunk_size, nonce, content_alg)


def read_envelope_header(blob: bytes) -> EnvelopeHeader:
    """Read an envelope's header without decrypting anything (to see which key and version sealed it)."""
    header, _ = split(blob)
    return header


def split(blob: bytes) -> tuple[EnvelopeHeader, int]:
    length = parse_prefix(bytes(blob[: PREFIX.size]))
    end = PREFIX.size + length
    if len(blob) < end:
        raise EnvelopeFormatError("The envelope is truncated: it ends inside its header.")
    return parse_header(bytes(blob[PREFIX.size : end])), end


def _check_sealed_length(index: int, length: int) -> None:
    if length < TAG_BYTES:
        if index == 0:
            raise _unopenable()
        raise EnvelopeIntegrityError(f"The envelope is truncated: chunk {index} is shorter than its tag.")


# The one error for every way the data key can fail to unwrap or chunk 0 can fail to open (no padding oracle).
_UNOPENABLE: Final = (
    "The envelope could not be opened: its data key did not unwrap and authenticate under this key "
    "(the wrong key or key version, or a tampered or truncated envelope)."
)
# Header-only decisions: they depend on nothing secret, so they may say exactly what is wrong.
_REFUSED_WRAPS: Final = frozenset({"RSA1_5"})
_PASSED_THROUGH: Final = (EnvelopeKeyError, EnvelopeFormatError, KeyOperationError)


def _unopenable() -> EnvelopeIntegrityError:
    return EnvelopeIntegrityError(_UNOPENABLE)


def _authentication_failed(index: int) -> EnvelopeIntegrityError:
    if index == 0:
        return _unopenable()
    return EnvelopeIntegrityError(
        f"Chunk {index} of the envelope failed authentication: the envelope was tampered with, truncated "
        "or reordered, or the data key was unwrapped with the wrong key."
    )


class ChunkCipher:
    """Seals and opens the chunks of one envelope (one data key, one header)."""

    def __init__(self, data_key: bytes, header: EnvelopeHeader, encoded_header: bytes) -> None:
        self._aead = AESGCM(data_key)
        self._base = int.from_bytes(header.nonce, "big")
        self._header_hash = hashlib.sha256(encoded_header).digest()
        self._into = _AEAD_INTO

    def _nonce_and_aad(self, index: int, final: bool) -> tuple[bytes, bytes]:
        if index >= _MAX_CHUNKS:
            raise EnvelopeError("An envelope holds at most 2**32 chunks; use a larger chunk_size.")
        nonce = (self._base ^ index).to_bytes(NONCE_BYTES, "big")
        return nonce, self._header_hash + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")

    def seal(self, index: int, chunk: bytes | memoryview, final: bool) -> bytes:
        nonce, aad = self._nonce_and_aad(index, final)
        return self._aead.encrypt(nonce, chunk, aad)

    def seal_into(self, index: int, chunk: memoryview, final: bool, out: memoryview) -> None:
        """Seal ``chunk`` into ``out``, which is exactly ``len(chunk) + 16`` bytes long."""
        if self._into:
            nonce, aad = self._nonce_and_aad(index, final)
            self._aead.encrypt_into(nonce, chunk, aad, out)
        else:
            out[:] = self.seal(index, chunk, final)

    def open(self, index: int, sealed: bytes | memoryview, final: bool) -> bytes:
        _check_sealed_length(index, len(sealed))
        nonce, aad = self._nonce_and_aad(index, final)
        try:
            return self._aead.decrypt(nonce, sealed, aad)
        except InvalidTag:
            pass
        raise _authentication_failed(index)  # outside the handler, like every other failure to open

    def open_into(self, index: int, sealed: memoryview, final: bool, out: memoryview) -> None:
        """Open ``sealed`` into ``out``, which is exactly ``len(sealed) - 16`` bytes long.

        On failure ``out`` may hold unauthenticated plaintext: the caller must discard it.
        """
        if not self._into:
            out[:] = self.open(index, sealed, final)
            return
        _check_sealed_length(index, len(sealed))
        nonce, aad = self._nonce_and_aad(index, final)
        try:
            self._aead.decrypt_into(nonce, sealed, aad, out)
            return
        except InvalidTag:
            pass
        raise _authentication_failed(index)  # outside the handler, like every other failure to open


def new_header(wrapped_key: bytes, key_id: str, algorithm: str, chunk_size: int, nonce: bytes) -> EnvelopeHeader:
    if not key_id:
        raise EnvelopeError("The key wrapper reported an empty key_id; an envelope must record which key wrapped it.")
    if algorithm not in KEY_WRAP_ALGORITHMS:
        raise EnvelopeError(f"The key wrapper reported an unknown wrap algorithm {algorithm!r}.")
    return EnvelopeHeader(key_id, algorithm, wrapped_key, chunk_size, nonce)


def _filled_bytes(size: int, fill: Callable[[memoryview], None]) -> bytes:
    """A new ``bytes`` of ``size`` bytes written in place by ``fill`` (given a writable view of all of it).

    One-shot results are large, so they are written once, where they will live: ``BytesIO.getbuffer()`` is a writable
    view of the BytesIO's own storage and CPython's ``getvalue()`` then hands that storage over as the ``bytes``
    without copying it. Assembling per-chunk ``bytes`` with ``b"".join`` instead costs a second full-size
    allocation and copy, which halved the throughput of a 100 MB envelope.
    """
    buffer = io.BytesIO()
    if size:
        buffer.seek(size - 1)
        buffer.write(b"\x00")
    with buffer.getbuffer() as view:
        fill(view)
    return buffer.getvalue()


def _refuse_header_algorithm(header: EnvelopeHeader) -> None:
    if header.wrap_algorithm in _REFUSED_WRAPS:
        raise EnvelopeFormatError(
            f"The envelope's data key is wrapped with {header.wrap_algorithm}, which kvconfig refuses to unwrap "
            "(PKCS#1 v1.5 padding is a padding oracle); nothing was unwrapped. Re-seal the data with RSA-OAEP-256."
        )


def _check_data_key(data_key: object) -> bytes:
    if not isinstance(data_key, (bytes, bytearray, memoryview)) or len(data_key) != _DATA_KEY_BYTES:
        raise _unopenable()
    return bytes(data_key)


def _unwrap_error(exc: Exception) -> Exception:
    """What an unwrapper's failure becomes: header-only and configuration errors as they are, the rest as one."""
    if isinstance(exc, _PASSED_THROUGH):
        return exc
    return _unopenable()


def unwrap(unwrapper: KeyUnwrapper, header: EnvelopeHeader) -> bytes:
    _refuse_header_algorithm(header)
    try:
        data_key: object = unwrapper.unwrap_key(header.key_id, header.wrap_algorithm, header.wrapped_key)
    except (CryptoError, ValueError) as exc:
        error = _unwrap_error(exc)
        if error is exc:
            raise
    else:
        return _check_data_key(data_key)
    raise error  # outside the handler: no cause or context that would tell one failure from another


async def unwrap_async(unwrapper: AsyncKeyUnwrapper, header: EnvelopeHeader) -> bytes:
    _refuse_header_algorithm(header)
    try:
        data_key: object = await unwrapper.unwrap_key(header.key_id, header.wrap_algorithm, header.wrapped_key)
    except (CryptoError, ValueError) as exc:
        error = _unwrap_error(exc)
        if error is exc:
            raise
    else:
        return _check_data_key(data_key)
    raise error  # outside the handler: no cause or context that would tell one failure from another


def seal(data_key: bytes, header: EnvelopeHeader, data: bytes) -> bytes:
    encoded = header.encode()
    cipher = ChunkCipher(data_key, header, encoded)
    source = memoryview(data).cast("B")
    chunk_size = header.chunk_size
    count = max(1, -(-len(source) // chunk_size))

    def fill(out: memoryview) -> None:
        out[: len(encoded)] = encoded
        position = len(encoded)
        for index in range(count):
            chunk = source[index * chunk_size : (index + 1) * chunk_size]
            end = position + len(chunk) + TAG_BYTES
            cipher.seal_into(index, chunk, index == count - 1, out[position:end])
            position = end

    return _filled_bytes(len(encoded) + len(source) + count * TAG_BYTES, fill)


def open(blob: bytes, header: EnvelopeHeader, body_start: int, data_key: bytes) -> bytes:
    envelope = memoryview(blob).cast("B")
    cipher = ChunkCipher(data_key, header, bytes(envelope[:body_start]))
    body = envelope[body_start:]
    frame = header.chunk_size + TAG_BYTES
    if not body:
        raise EnvelopeIntegrityError("The envelope is truncated: it has no chunks.")
    count = -(-len(body) // frame)
    _check_sealed_length(count - 1, len(body) - (count - 1) * frame)  # before sizing the plaintext from it

    def fill(out: memoryview) -> None:
        position = 0
        for index in range(count):
            sealed = body[index * frame : (index + 1) * frame]
            end = position + len(sealed) - TAG_BYTES
            cipher.open_into(index, sealed, index == count - 1, out[position:end])
            position = end

    return _filled_bytes(len(body) - count * TAG_BYTES, fill)
