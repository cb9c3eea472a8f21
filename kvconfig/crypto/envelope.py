"""Envelope encryption: a fresh AES-256-GCM data key per message, wrapped by a key-encryption key (Key Vault or local).

Format (version 1; docs/crypto.md has the full table)::

    "KVCE" | version (1 byte) | header length (uint32 BE) | header (UTF-8 JSON) | chunk 0 | chunk 1 | ... | chunk n-1

The header records the key id **with its version**, the wrap algorithm, the wrapped data key, the content algorithm
(``A256GCM``), the chunk size and a random 12-byte base nonce. Each chunk is ``AES-256-GCM(data key)`` of up to
``chunk_size`` plaintext bytes, ciphertext followed by its 16-byte tag; every chunk but the last holds exactly
``chunk_size`` bytes and the last may be shorter (an empty payload still has one, empty, chunk).
Chunk ``i`` uses nonce ``base_nonce XOR i`` (as a 96-bit big-endian integer) and associated data
``SHA-256(magic..header) | i (uint64 BE) | final (1 byte: 1 for the last chunk, else 0)``, so changing the header,
reordering, dropping or appending chunks, or cutting the envelope at a chunk boundary is detected.

Nothing in the header is authenticated until chunk 0 opens, so the header never chooses how the data key is
unwrapped: the unwrapper uses its own configured algorithm (RSA1_5 is refused outright), and every failure to unwrap
the data key or to open chunk 0 raises the same :class:`EnvelopeIntegrityError` with the same message, so no error
tells a good padding from a bad one. An envelope proves integrity, not who sealed it: anyone with the public key can
seal one.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import os
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import BinaryIO, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._algorithms import KEY_WRAP_ALGORITHMS
from ._jwk import b64url_decode, b64url_encode
from ._wrappers import AsyncKeyUnwrapper, AsyncKeyWrapper, KeyUnwrapper, KeyWrapper
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
    "AsyncByteReader",
    "AsyncByteWriter",
    "EnvelopeHeader",
    "decrypt_envelope",
    "decrypt_envelope_async",
    "decrypt_stream",
    "decrypt_stream_async",
    "encrypt_envelope",
    "encrypt_envelope_async",
    "encrypt_stream",
    "encrypt_stream_async",
    "read_envelope_header",
]

MAGIC: Final = b"KVCE"
FORMAT_VERSION: Final = 1
CONTENT_ALGORITHM: Final = "A256GCM"
DEFAULT_CHUNK_SIZE: Final = 64 * 1024
MIN_CHUNK_SIZE: Final = 1024
MAX_CHUNK_SIZE: Final = 16 * 1024 * 1024
MAX_HEADER_BYTES: Final = 64 * 1024

_PREFIX: Final = struct.Struct(">4sBI")  # magic, version, header length
_TAG_BYTES: Final = 16
_NONCE_BYTES: Final = 12
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
        return _PREFIX.pack(MAGIC, FORMAT_VERSION, len(body)) + body


def _check_chunk_size(chunk_size: int) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise TypeError("chunk_size must be an int")
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE} bytes, not {chunk_size}.")


def _parse_prefix(prefix: bytes) -> int:
    """Check magic and version; return the header length."""
    if len(prefix) < _PREFIX.size:
        if MAGIC.startswith(prefix[: len(MAGIC)]) and prefix:
            raise EnvelopeFormatError("The envelope is truncated: it ends inside its header.")
        raise EnvelopeFormatError("Not a kvconfig envelope: too short.")
    magic, version, length = _PREFIX.unpack(prefix[: _PREFIX.size])
    if magic != MAGIC:
        raise EnvelopeFormatError("Not a kvconfig envelope: the magic bytes are wrong.")
    if version != FORMAT_VERSION:
        raise EnvelopeFormatError(
            f"Envelope format version {version} is not supported; this kvconfig reads version {FORMAT_VERSION}."
        )
    if not 0 < length <= MAX_HEADER_BYTES:
        raise EnvelopeFormatError(f"The envelope header length {length} is out of range.")
    return int(length)


def _parse_header(body: bytes) -> EnvelopeHeader:
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
        _check_chunk_size(chunk_size)
        if not isinstance(wrapped_text, str) or not isinstance(nonce_text, str):
            raise ValueError("not a string")
        wrapped_key, nonce = b64url_decode(wrapped_text), b64url_decode(nonce_text)
    except ValueError as exc:
        raise EnvelopeFormatError(f"The envelope header is malformed: {exc}") from None
    if not wrapped_key or len(nonce) != _NONCE_BYTES:
        raise EnvelopeFormatError("The envelope header's wrapped_key is empty or its nonce is not 12 bytes.")
    return EnvelopeHeader(key_id, wrap_alg, wrapped_key, chunk_size, nonce, content_alg)


def read_envelope_header(blob: bytes) -> EnvelopeHeader:
    """Read an envelope's header without decrypting anything (to see which key and version sealed it)."""
    header, _ = _split(blob)
    return header


def _split(blob: bytes) -> tuple[EnvelopeHeader, int]:
    length = _parse_prefix(bytes(blob[: _PREFIX.size]))
    end = _PREFIX.size + length
    if len(blob) < end:
        raise EnvelopeFormatError("The envelope is truncated: it ends inside its header.")
    return _parse_header(bytes(blob[_PREFIX.size : end])), end


def _check_sealed_length(index: int, length: int) -> None:
    if length < _TAG_BYTES:
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


class _ChunkCipher:
    """Seals and opens the chunks of one envelope (one data key, one header)."""

    def __init__(self, data_key: bytes, header: EnvelopeHeader, encoded_header: bytes) -> None:
        self._aead = AESGCM(data_key)
        self._base = int.from_bytes(header.nonce, "big")
        self._header_hash = hashlib.sha256(encoded_header).digest()
        self._into = _AEAD_INTO

    def _nonce_and_aad(self, index: int, final: bool) -> tuple[bytes, bytes]:
        if index >= _MAX_CHUNKS:
            raise EnvelopeError("An envelope holds at most 2**32 chunks; use a larger chunk_size.")
        nonce = (self._base ^ index).to_bytes(_NONCE_BYTES, "big")
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


def _new_header(wrapped_key: bytes, key_id: str, algorithm: str, chunk_size: int, nonce: bytes) -> EnvelopeHeader:
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


def _unwrap(unwrapper: KeyUnwrapper, header: EnvelopeHeader) -> bytes:
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


async def _unwrap_async(unwrapper: AsyncKeyUnwrapper, header: EnvelopeHeader) -> bytes:
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


def _seal(data_key: bytes, header: EnvelopeHeader, data: bytes) -> bytes:
    encoded = header.encode()
    cipher = _ChunkCipher(data_key, header, encoded)
    source = memoryview(data).cast("B")
    chunk_size = header.chunk_size
    count = max(1, -(-len(source) // chunk_size))

    def fill(out: memoryview) -> None:
        out[: len(encoded)] = encoded
        position = len(encoded)
        for index in range(count):
            chunk = source[index * chunk_size : (index + 1) * chunk_size]
            end = position + len(chunk) + _TAG_BYTES
            cipher.seal_into(index, chunk, index == count - 1, out[position:end])
            position = end

    return _filled_bytes(len(encoded) + len(source) + count * _TAG_BYTES, fill)


def _open(blob: bytes, header: EnvelopeHeader, body_start: int, data_key: bytes) -> bytes:
    envelope = memoryview(blob).cast("B")
    cipher = _ChunkCipher(data_key, header, bytes(envelope[:body_start]))
    body = envelope[body_start:]
    frame = header.chunk_size + _TAG_BYTES
    if not body:
        raise EnvelopeIntegrityError("The envelope is truncated: it has no chunks.")
    count = -(-len(body) // frame)
    _check_sealed_length(count - 1, len(body) - (count - 1) * frame)  # before sizing the plaintext from it

    def fill(out: memoryview) -> None:
        position = 0
        for index in range(count):
            sealed = body[index * frame : (index + 1) * frame]
            end = position + len(sealed) - _TAG_BYTES
            cipher.open_into(index, sealed, index == count - 1, out[position:end])
            position = end

    return _filled_bytes(len(body) - count * _TAG_BYTES, fill)


def encrypt_envelope(data: bytes, wrapper: KeyWrapper, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> bytes:
    """Encrypt ``data`` under a fresh AES-256-GCM data key wrapped by ``wrapper``; returns the envelope bytes."""
    _check_chunk_size(chunk_size)
    data_key = AESGCM.generate_key(bit_length=256)
    wrapped = wrapper.wrap_key(data_key)
    header = _new_header(wrapped, wrapper.key_id, wrapper.algorithm, chunk_size, os.urandom(_NONCE_BYTES))
    return _seal(data_key, header, data)


def decrypt_envelope(blob: bytes, unwrapper: KeyUnwrapper) -> bytes:
    """Open an envelope; the unwrapper is asked for the key id (with version) the envelope records.

    Raises :class:`EnvelopeFormatError` for bytes that are not an envelope, :class:`EnvelopeKeyError` when the
    unwrapper has no such key, :class:`EnvelopeIntegrityError` when anything was changed or the key is wrong.
    """
    header, body_start = _split(blob)
    return _open(blob, header, body_start, _unwrap(unwrapper, header))


async def encrypt_envelope_async(
    data: bytes, wrapper: AsyncKeyWrapper, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> bytes:
    """:func:`encrypt_envelope` with an asynchronous wrapper (such as :class:`AsyncAzureKeyWrapper`)."""
    _check_chunk_size(chunk_size)
    data_key = AESGCM.generate_key(bit_length=256)
    wrapped = await wrapper.wrap_key(data_key)
    header = _new_header(wrapped, wrapper.key_id, wrapper.algorithm, chunk_size, os.urandom(_NONCE_BYTES))
    return _seal(data_key, header, data)


async def decrypt_envelope_async(blob: bytes, unwrapper: AsyncKeyUnwrapper) -> bytes:
    """:func:`decrypt_envelope` with an asynchronous unwrapper."""
    header, body_start = _split(blob)
    return _open(blob, header, body_start, await _unwrap_async(unwrapper, header))


def _read_exact(src: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, fewer only at end of stream (pipes and sockets may return short reads)."""
    first = src.read(size)
    if first is None or len(first) == size or not first:
        return first or b""
    parts = [first]
    remaining = size - len(first)
    while remaining:
        more = src.read(remaining)
        if not more:
            break
        parts.append(more)
        remaining -= len(more)
    return b"".join(parts)


def _begin_stream(
    data_key: bytes, wrapped: bytes, key_id: str, algorithm: str, chunk_size: int
) -> tuple[bytes, _ChunkCipher]:
    """The encoded header a stream starts with, and the cipher for the chunks that follow it."""
    header = _new_header(wrapped, key_id, algorithm, chunk_size, os.urandom(_NONCE_BYTES))
    encoded = header.encode()
    return encoded, _ChunkCipher(data_key, header, encoded)


def _header_body(body: bytes, length: int) -> EnvelopeHeader:
    if len(body) < length:
        raise EnvelopeFormatError("The envelope is truncated: it ends inside its header.")
    return _parse_header(body)


def encrypt_stream(src: BinaryIO, dst: BinaryIO, wrapper: KeyWrapper, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """Encrypt ``src`` into ``dst`` chunk by chunk (memory use is about two chunks); returns the bytes written."""
    _check_chunk_size(chunk_size)
    data_key = AESGCM.generate_key(bit_length=256)
    wrapped = wrapper.wrap_key(data_key)
    encoded, cipher = _begin_stream(data_key, wrapped, wrapper.key_id, wrapper.algorithm, chunk_size)
    written = dst.write(encoded) or 0
    current = _read_exact(src, chunk_size)
    index = 0
    while True:
        following = _read_exact(src, chunk_size) if len(current) == chunk_size else b""
        final = not following
        written += dst.write(cipher.seal(index, current, final)) or 0
        if final:
            return written
        current, index = following, index + 1


def decrypt_stream(src: BinaryIO, dst: BinaryIO, unwrapper: KeyUnwrapper) -> int:
    """Decrypt an envelope from ``src`` into ``dst`` chunk by chunk; returns the plaintext bytes written.

    Each chunk is authenticated before it is written, but truncation can only be detected at the end: if this
    raises, discard whatever was written to ``dst``.
    """
    prefix = _read_exact(src, _PREFIX.size)
    length = _parse_prefix(prefix)
    body = _read_exact(src, length)
    header = _header_body(body, length)
    cipher = _ChunkCipher(_unwrap(unwrapper, header), header, prefix + body)
    frame = header.chunk_size + _TAG_BYTES
    current = _read_exact(src, frame)
    if not current:
        raise EnvelopeIntegrityError("The envelope is truncated: it has no chunks.")
    written = 0
    index = 0
    while True:
        following = _read_exact(src, frame) if len(current) == frame else b""
        final = not following
        written += dst.write(cipher.open(index, current, final)) or 0
        if final:
            return written
        current, index = following, index + 1


class AsyncByteReader(Protocol):
    """An asynchronous source of bytes: ``asyncio.StreamReader``, an aiofiles file opened ``"rb"``, ...

    ``await read(size)`` returns at most ``size`` bytes, and ``b""`` only at the end of the stream.
    """

    def read(self, size: int, /) -> Awaitable[bytes]: ...


class AsyncByteWriter(Protocol):
    """An asynchronous sink of bytes: an aiofiles file opened ``"wb"``, ``asyncio.StreamWriter``, ...

    When ``write(data)`` returns an awaitable (aiofiles) it is awaited. When it does not (``asyncio.StreamWriter``,
    whose ``write`` only buffers), the sink's ``async drain()``, if it has one, is awaited after every write, so a
    slow consumer holds the producer back instead of letting the sink's buffer grow to the whole payload.
    """

    def write(self, data: bytes, /) -> object: ...


async def _read_exact_async(src: AsyncByteReader, size: int) -> bytes:
    """Read ``size`` bytes, fewer only at end of stream (``StreamReader.read`` returns what has arrived)."""
    parts: list[bytes] = []
    remaining = size
    while remaining:
        more = await src.read(remaining)
        if not more:
            break
        parts.append(more)
        remaining -= len(more)
    return parts[0] if len(parts) == 1 else b"".join(parts)


async def _write_async(dst: AsyncByteWriter, data: bytes) -> int:
    result = dst.write(data)
    if inspect.isawaitable(result):
        result = await result
    else:
        drain: Callable[[], Awaitable[object]] | None = getattr(dst, "drain", None)
        if drain is not None:
            await drain()
    return result if isinstance(result, int) and not isinstance(result, bool) else len(data)


async def encrypt_stream_async(
    src: AsyncByteReader, dst: AsyncByteWriter, wrapper: AsyncKeyWrapper, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> int:
    """:func:`encrypt_stream` for asynchronous streams and an asynchronous wrapper (such as
    :class:`AsyncAzureKeyWrapper`); holds about two chunks in memory and returns the bytes written.

    The output is the same envelope :func:`decrypt_envelope` and :func:`decrypt_stream` open. If this raises or
    is cancelled, ``dst`` holds an incomplete envelope: discard it.
    """
    _check_chunk_size(chunk_size)
    data_key = AESGCM.generate_key(bit_length=256)
    wrapped = await wrapper.wrap_key(data_key)
    encoded, cipher = _begin_stream(data_key, wrapped, wrapper.key_id, wrapper.algorithm, chunk_size)
    written = await _write_async(dst, encoded)
    current = await _read_exact_async(src, chunk_size)
    index = 0
    while True:
        following = await _read_exact_async(src, chunk_size) if len(current) == chunk_size else b""
        final = not following
        written += await _write_async(dst, cipher.seal(index, current, final))
        if final:
            return written
        current, index = following, index + 1


async def decrypt_stream_async(src: AsyncByteReader, dst: AsyncByteWriter, unwrapper: AsyncKeyUnwrapper) -> int:
    """:func:`decrypt_stream` for asynchronous streams and an asynchronous unwrapper; returns the plaintext bytes
    written.

    Each chunk is authenticated before it is written, but truncation can only be detected at the end: if this
    raises (or is cancelled), discard whatever was written to ``dst``.
    """
    prefix = await _read_exact_async(src, _PREFIX.size)
    length = _parse_prefix(prefix)
    body = await _read_exact_async(src, length)
    header = _header_body(body, length)
    cipher = _ChunkCipher(await _unwrap_async(unwrapper, header), header, prefix + body)
    frame = header.chunk_size + _TAG_BYTES
    current = await _read_exact_async(src, frame)
    if not current:
        raise EnvelopeIntegrityError("The envelope is truncated: it has no chunks.")
    written = 0
    index = 0
    while True:
        following = await _read_exact_async(src, frame) if len(current) == frame else b""
        final = not following
        written += await _write_async(dst, cipher.open(index, current, final))
        if final:
            return written
        current, index = following, index + 1
