"""Async envelope streams: chunk-by-chunk reading and writing, the shared format, errors, asyncio streams."""

from __future__ import annotations

import asyncio
import io
import os
import socket

import pytest

from kvconfig.crypto import (
    EnvelopeFormatError,
    EnvelopeIntegrityError,
    EnvelopeKeyError,
    LocalKeyWrapper,
    decrypt_envelope,
    decrypt_stream,
    decrypt_stream_async,
    encrypt_envelope,
    encrypt_stream,
    encrypt_stream_async,
    generate_key,
)

V1 = "https://vault.vault.azure.net/keys/kek/11111111111111111111111111111111"
V2 = "https://vault.vault.azure.net/keys/kek/22222222222222222222222222222222"
CHUNK = 1024
DEFAULT_FRAME = 64 * 1024 + 16


class AsyncLocalWrapper:
    """An :class:`AsyncKeyWrapper` over a local key (what an app with its own async key service would write)."""

    def __init__(self, wrapper: LocalKeyWrapper) -> None:
        self._wrapper = wrapper
        self.key_id = wrapper.key_id
        self.algorithm = wrapper.algorithm

    async def wrap_key(self, key: bytes) -> bytes:
        await asyncio.sleep(0)
        return self._wrapper.wrap_key(key)

    async def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes:
        await asyncio.sleep(0)
        return self._wrapper.unwrap_key(key_id, algorithm, wrapped)


class AsyncMemoryReader:
    """``async read(size)`` over bytes, at most ``limit`` bytes per call (like a socket); records what was asked."""

    def __init__(self, data: bytes, limit: int) -> None:
        self._source = io.BytesIO(data)
        self.limit = limit
        self.largest_request = 0
        self.delivered = 0

    async def read(self, size: int) -> bytes:
        assert size > 0, "the whole stream was requested"
        self.largest_request = max(self.largest_request, size)
        await asyncio.sleep(0)
        piece = self._source.read(min(size, self.limit))
        self.delivered += len(piece)
        return piece


class AsyncMemoryWriter:
    """``async write(data) -> int`` (aiofiles' shape); records each write and how much the source had delivered."""

    def __init__(self, source: AsyncMemoryReader | None = None) -> None:
        self._sink = io.BytesIO()
        self._source = source
        self.writes: list[tuple[int, int]] = []  # (bytes written, bytes the source had delivered by then)

    async def write(self, data: bytes) -> int:
        await asyncio.sleep(0)
        self.writes.append((len(data), self._source.delivered if self._source else 0))
        return self._sink.write(data)

    def getvalue(self) -> bytes:
        return self._sink.getvalue()


class DrainingWriter:
    """``write(data)`` buffers and ``async drain()`` flushes, as ``asyncio.StreamWriter`` does."""

    def __init__(self) -> None:
        self.buffered = 0
        self.largest_buffer = 0
        self.drains = 0
        self.received = bytearray()

    def write(self, data: bytes) -> None:
        self.received += data
        self.buffered += len(data)
        self.largest_buffer = max(self.largest_buffer, self.buffered)

    async def drain(self) -> None:
        await asyncio.sleep(0)
        self.drains += 1
        self.buffered = 0


@pytest.fixture(scope="module")
def local() -> LocalKeyWrapper:
    return LocalKeyWrapper(generate_key("oct"), V1)


@pytest.fixture
def wrapper(local: LocalKeyWrapper) -> AsyncLocalWrapper:
    return AsyncLocalWrapper(local)


async def test_async_stream_round_trip_reads_and_writes_chunk_by_chunk(
    local: LocalKeyWrapper, wrapper: AsyncLocalWrapper
) -> None:
    data = os.urandom(3 * 1024 * 1024 + 123)
    source = AsyncMemoryReader(data, limit=10_000)
    sealed = AsyncMemoryWriter(source)
    written = await encrypt_stream_async(source, sealed, wrapper)
    blob = sealed.getvalue()
    assert written == len(blob)
    assert source.largest_request == 64 * 1024
    assert max(size for size, _ in sealed.writes) == DEFAULT_FRAME
    # Sealed chunks leave while the source is still being read: the payload is never held whole.
    assert sealed.writes[1][1] < len(data) // 2
    assert decrypt_envelope(blob, local) == data  # the one-shot functions read the same format

    reader = AsyncMemoryReader(blob, limit=7_000)
    opened = AsyncMemoryWriter(reader)
    assert await decrypt_stream_async(reader, opened, wrapper) == len(data)
    assert reader.largest_request <= DEFAULT_FRAME
    assert opened.writes[0][1] < len(blob) // 2
    assert opened.getvalue() == data


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 4 * CHUNK])
async def test_async_and_sync_streams_open_each_others_envelopes(
    local: LocalKeyWrapper, wrapper: AsyncLocalWrapper, size: int
) -> None:
    data = os.urandom(size)
    sealed = AsyncMemoryWriter()
    await encrypt_stream_async(AsyncMemoryReader(data, CHUNK), sealed, wrapper, chunk_size=CHUNK)
    assert len(sealed.getvalue()) == len(encrypt_envelope(data, local, chunk_size=CHUNK))
    opened = io.BytesIO()
    decrypt_stream(io.BytesIO(sealed.getvalue()), opened, local)
    assert opened.getvalue() == data

    from_sync = io.BytesIO()
    encrypt_stream(io.BytesIO(data), from_sync, local, chunk_size=CHUNK)
    opened_async = AsyncMemoryWriter()
    written = await decrypt_stream_async(AsyncMemoryReader(from_sync.getvalue(), 999), opened_async, wrapper)
    assert written == size
    assert opened_async.getvalue() == data


async def test_async_decrypt_detects_truncation_tampering_and_wrong_keys(
    local: LocalKeyWrapper, wrapper: AsyncLocalWrapper
) -> None:
    blob = encrypt_envelope(os.urandom(3 * CHUNK), local, chunk_size=CHUNK)
    start = len(blob) - 3 * (CHUNK + 16)

    async def open_(envelope: bytes, unwrapper: AsyncLocalWrapper = wrapper) -> bytes:
        sink = AsyncMemoryWriter()
        await decrypt_stream_async(AsyncMemoryReader(envelope, 4096), sink, unwrapper)
        return sink.getvalue()

    for cut in (start, start + CHUNK + 16, start + 2 * (CHUNK + 16), start + 7, len(blob) - 1):
        with pytest.raises(EnvelopeIntegrityError):
            await open_(blob[:cut])
    tampered = bytearray(blob)
    tampered[start + CHUNK + 20] ^= 0x01
    with pytest.raises(EnvelopeIntegrityError, match="Chunk 1"):
        await open_(bytes(tampered))
    for cut in (0, 5, start - 1):
        with pytest.raises(EnvelopeFormatError):
            await open_(blob[:cut])
    with pytest.raises(EnvelopeFormatError, match="magic"):
        await open_(b"PK\x03\x04" + blob[4:])
    with pytest.raises(EnvelopeKeyError):
        await open_(blob, AsyncLocalWrapper(LocalKeyWrapper(generate_key("oct"), V2)))
    with pytest.raises(EnvelopeIntegrityError):
        await open_(blob, AsyncLocalWrapper(LocalKeyWrapper(generate_key("oct"), V1)))


async def test_a_sink_whose_write_only_buffers_is_drained_after_every_write(wrapper: AsyncLocalWrapper) -> None:
    data = os.urandom(10 * CHUNK)
    sink = DrainingWriter()
    written = await encrypt_stream_async(AsyncMemoryReader(data, CHUNK), sink, wrapper, chunk_size=CHUNK)
    assert written == len(sink.received)
    assert sink.drains == 11  # the header, then ten chunks
    assert sink.largest_buffer == CHUNK + 16
    opened = DrainingWriter()
    assert await decrypt_stream_async(AsyncMemoryReader(bytes(sink.received), 500), opened, wrapper) == len(data)
    assert bytes(opened.received) == data
    assert opened.largest_buffer == CHUNK


async def test_asyncio_streams_over_a_socket_pair(local: LocalKeyWrapper, wrapper: AsyncLocalWrapper) -> None:
    data = os.urandom(2 * 1024 * 1024 + 5)  # larger than the socket buffers: drain() has to wait for the reader
    left, right = socket.socketpair()
    _, writer = await asyncio.open_connection(sock=left)
    reader, peer_writer = await asyncio.open_connection(sock=right)
    source = asyncio.StreamReader()
    source.feed_data(data)
    source.feed_eof()

    async def send() -> int:
        try:
            return await encrypt_stream_async(source, writer, wrapper)
        finally:
            writer.close()
            await writer.wait_closed()

    async def receive() -> bytes:
        opened = io.BytesIO()

        class Sink:
            async def write(self, chunk: bytes) -> int:
                return opened.write(chunk)

        await decrypt_stream_async(reader, Sink(), wrapper)
        return opened.getvalue()

    try:
        written, received = await asyncio.gather(send(), receive())
    finally:
        peer_writer.close()
        await peer_writer.wait_closed()
    assert received == data
    assert written == len(encrypt_envelope(data, local))


async def test_async_stream_chunk_size_is_validated(wrapper: AsyncLocalWrapper) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        await encrypt_stream_async(AsyncMemoryReader(b"x", 1), AsyncMemoryWriter(), wrapper, chunk_size=10)
