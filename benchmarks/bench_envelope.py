"""Envelope encryption throughput against plain single-shot AES-256-GCM of the same payload.

    python benchmarks/bench_envelope.py --size-mb 100 [--chunk-kb 64] [--repeat 3]

The envelope's data key is wrapped locally (A256KW), so the numbers measure kvconfig's chunking and framing, not a
network round trip to Key Vault (a real wrap adds one request per envelope, independent of the payload size).
Streams read from and write to memory (io.BytesIO; for the async streams, minimal async wrappers around it). The
"without encrypt_into" rows take the path used with cryptography releases that lack AESGCM.encrypt_into.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kvconfig.crypto import (
    LocalKeyWrapper,
    decrypt_envelope,
    decrypt_stream,
    decrypt_stream_async,
    encrypt_envelope,
    encrypt_stream,
    encrypt_stream_async,
    generate_key,
)
from kvconfig.crypto import envelope as envelope_module


class AsyncLocalWrapper:
    """The local wrapper behind the async wrapper protocol."""

    def __init__(self, wrapper: LocalKeyWrapper) -> None:
        self._wrapper = wrapper
        self.key_id = wrapper.key_id
        self.algorithm = wrapper.algorithm

    async def wrap_key(self, key: bytes) -> bytes:
        return self._wrapper.wrap_key(key)

    async def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes:
        return self._wrapper.unwrap_key(key_id, algorithm, wrapped)


class AsyncBytesIO:
    """``async read`` / ``async write`` over an io.BytesIO."""

    def __init__(self, data: bytes = b"") -> None:
        self._buffer = io.BytesIO(data)

    async def read(self, size: int) -> bytes:
        return self._buffer.read(size)

    async def write(self, data: bytes) -> int:
        return self._buffer.write(data)


def without_encrypt_into(action: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        saved = envelope_module._AEAD_INTO
        envelope_module._AEAD_INTO = False
        try:
            return action()
        finally:
            envelope_module._AEAD_INTO = saved

    return run


def best_of(repeat: int, action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=100.0, help="payload size in MiB (default 100)")
    parser.add_argument("--chunk-kb", type=int, default=64, help="envelope chunk size in KiB (default 64)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept (default 3)")
    args = parser.parse_args()

    size = int(args.size_mb * 1024 * 1024)
    chunk = args.chunk_kb * 1024
    data = os.urandom(size)
    mib = size / (1024 * 1024)
    wrapper = LocalKeyWrapper(generate_key("oct"), "bench-kek")

    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    aead = AESGCM(key)
    sealed_plain = aead.encrypt(nonce, data, None)
    envelope = encrypt_envelope(data, wrapper, chunk_size=chunk)
    assert decrypt_envelope(envelope, wrapper) == data

    def stream_encrypt() -> None:
        encrypt_stream(io.BytesIO(data), io.BytesIO(), wrapper, chunk_size=chunk)

    def stream_decrypt() -> None:
        decrypt_stream(io.BytesIO(envelope), io.BytesIO(), wrapper)

    async_wrapper = AsyncLocalWrapper(wrapper)

    def async_stream_encrypt() -> None:
        asyncio.run(encrypt_stream_async(AsyncBytesIO(data), AsyncBytesIO(), async_wrapper, chunk_size=chunk))

    def async_stream_decrypt() -> None:
        asyncio.run(decrypt_stream_async(AsyncBytesIO(envelope), AsyncBytesIO(), async_wrapper))

    def bytes_encrypt() -> None:
        encrypt_envelope(data, wrapper, chunk_size=chunk)

    def bytes_decrypt() -> None:
        decrypt_envelope(envelope, wrapper)

    rows = [
        ("AES-256-GCM single shot, encrypt", best_of(args.repeat, lambda: aead.encrypt(nonce, data, None))),
        ("AES-256-GCM single shot, decrypt", best_of(args.repeat, lambda: aead.decrypt(nonce, sealed_plain, None))),
        ("envelope, encrypt (bytes)", best_of(args.repeat, bytes_encrypt)),
        ("envelope, decrypt (bytes)", best_of(args.repeat, bytes_decrypt)),
        ("envelope, encrypt (bytes, no encrypt_into)", best_of(args.repeat, without_encrypt_into(bytes_encrypt))),
        ("envelope, decrypt (bytes, no decrypt_into)", best_of(args.repeat, without_encrypt_into(bytes_decrypt))),
        ("envelope, encrypt (stream)", best_of(args.repeat, stream_encrypt)),
        ("envelope, decrypt (stream)", best_of(args.repeat, stream_decrypt)),
        ("envelope, encrypt (async stream)", best_of(args.repeat, async_stream_encrypt)),
        ("envelope, decrypt (async stream)", best_of(args.repeat, async_stream_decrypt)),
    ]
    overhead = len(envelope) - size
    print(f"payload {mib:.1f} MiB, chunk {args.chunk_kb} KiB, best of {args.repeat}; overhead {overhead} bytes")
    for name, seconds in rows:
        print(f"  {name:<44} {mib / seconds:9.1f} MiB/s")
    baseline = {"encrypt": rows[0][1], "decrypt": rows[1][1]}
    for name, seconds in rows[2:]:
        operation = "encrypt" if "encrypt" in name else "decrypt"
        print(f"  ratio {name:<42} {baseline[operation] / seconds:5.2f}x the single-shot {operation} throughput")


if __name__ == "__main__":
    main()
