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

import inspect
import os
from collections.abc import Awaitable, Callable
from typing import BinaryIO, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._sealing import (
    CONTENT_ALGORITHM,
    DEFAULT_CHUNK_SIZE,
    FORMAT_VERSION,
    MAGIC,
    NONCE_BYTES,
    PREFIX,
    TAG_BYTES,
    ChunkCipher,
    EnvelopeHeader,
    check_chunk_size,
    new_header,
    open,
    parse_header,
    parse_prefix,
    read_envelope_header,
    seal,
    split,
    unwrap,
    unwrap_async,
)
from ._wrappers import AsyncKeyUnwrapper, AsyncKeyWrapper, KeyUnwrapper, KeyWrapper
from .errors import (
    EnvelopeFormatError,
    EnvelopeIntegrityError,
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


def encrypt_envelope(data: bytes, wrapper: KeyWrapper, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> bytes:
    """Encrypt ``data`` under a fresh AES-256-GCM data key wrapped by ``wrapper``; returns the envelope bytes."""
    check_chunk_size(chunk_size)
    data_key = AESGCM.generate_key(bit_length=256)
    wrapped = wrapper.wrap_key(data_key)
    header = new_header(wrapped, wrapper.key_id, wrapper.algorithm, chunk_size, os.urandom(NONCE_BYTES))
    return seal(data_key, header, data)


def decrypt_envelope(blob: bytes, unwrapper: KeyUnwrapper) -> bytes:
    """Open an envelope; the unwrapper is asked for the key id (with version) the envelope records.

    Raises :class:`EnvelopeFormatError` for bytes that are not an envelope, :class:`EnvelopeKeyError` when the
    unwrapper has no such key, :class:`EnvelopeIntegrityError` when anything was changed or the key is wrong.
    """
    header, body_start = split(blob)
    return open(blob, header, body_start, unwrap(unwrapper, header))


async def encrypt_envelope_async(
    data: bytes, wrapper: AsyncKeyWrapper, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> bytes:
    """:func:`encrypt_envelope` with an asynchronous wrapper (such as :class:`AsyncAzureKeyWrapper`)."""
    check_chunk_size(chunk_size)
    data_key = AESGCM.generate_key(bit_length=256)
    wrapped = await wrapper.wrap_key(data_key)
    header = new_header(wrapped, wrapper.key_id, wrapper.algorithm, chunk_size, os.urandom(NONCE_BYTES))
    return seal(data_key, header, data)


async def decrypt_envelope_async(blob: bytes, unwrapper: AsyncKeyUnwrapper) -> bytes:
    """:func:`decrypt_envelope` with an asynchronous unwrapper."""
    header, body_start = split(blob)
    return open(blob, header, body_start, await unwrap_async(unwrapper, header))


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
) -> tuple[bytes, ChunkCipher]:
    """The encoded header a stream starts with, and the cipher for the chunks that follow it."""
    header = new_header(wrapped, key_id, algorithm, chunk_size, os.urandom(NONCE_BYTES))
    encoded = header.encode()
    return encoded, ChunkCipher(data_key, header, encoded)


def _header_body(body: bytes, length: int) -> EnvelopeHeader:
    if len(body) < length:
        raise EnvelopeFormatError("The envelope is truncated: it ends inside its header.")
    return parse_header(body)


def encrypt_stream(src: BinaryIO, dst: BinaryIO, wrapper: KeyWrapper, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """Encrypt ``src`` into ``dst`` chunk by chunk (memory use is about two chunks); returns the bytes written."""
    check_chunk_size(chunk_size)
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
    prefix = _read_exact(src, PREFIX.size)
    length = parse_prefix(prefix)
    body = _read_exact(src, length)
    header = _header_body(body, length)
    cipher = ChunkCipher(unwrap(unwrapper, header), header, prefix + body)
    frame = header.chunk_size + TAG_BYTES
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
    check_chunk_size(chunk_size)
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
    prefix = await _read_exact_async(src, PREFIX.size)
    length = parse_prefix(prefix)
    body = await _read_exact_async(src, length)
    header = _header_body(body, length)
    cipher = ChunkCipher(await unwrap_async(unwrapper, header), header, prefix + body)
    frame = header.chunk_size + TAG_BYTES
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
