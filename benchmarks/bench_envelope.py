"""Envelope encryption throughput against plain single-shot AES-256-GCM of the same payload.

    python benchmarks/bench_envelope.py --size-mb 100 [--chunk-kb 64] [--repeat 3]

The envelope's data key is wrapped locally (A256KW), so the numbers measure kvconfig's chunking and framing, not a
network round trip to Key Vault (a real wrap adds one request per envelope, independent of the payload size).
"""

from __future__ import annotations

import argparse
import io
import os
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kvconfig.crypto import (
    LocalKeyWrapper,
    decrypt_envelope,
    decrypt_stream,
    encrypt_envelope,
    encrypt_stream,
    generate_key,
)


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

    rows = [
        ("AES-256-GCM single shot, encrypt", best_of(args.repeat, lambda: aead.encrypt(nonce, data, None))),
        ("AES-256-GCM single shot, decrypt", best_of(args.repeat, lambda: aead.decrypt(nonce, sealed_plain, None))),
        ("envelope, encrypt (bytes)", best_of(args.repeat, lambda: encrypt_envelope(data, wrapper, chunk_size=chunk))),
        ("envelope, decrypt (bytes)", best_of(args.repeat, lambda: decrypt_envelope(envelope, wrapper))),
        ("envelope, encrypt (stream)", best_of(args.repeat, stream_encrypt)),
        ("envelope, decrypt (stream)", best_of(args.repeat, stream_decrypt)),
    ]
    overhead = len(envelope) - size
    print(f"payload {mib:.1f} MiB, chunk {args.chunk_kb} KiB, best of {args.repeat}; overhead {overhead} bytes")
    for name, seconds in rows:
        print(f"  {name:<36} {mib / seconds:9.1f} MiB/s")
    baseline = {"encrypt": rows[0][1], "decrypt": rows[1][1]}
    for name, seconds in rows[2:]:
        operation = "encrypt" if "encrypt" in name else "decrypt"
        print(f"  ratio {name:<30} {baseline[operation] / seconds:6.2f}x the single-shot {operation} throughput")


if __name__ == "__main__":
    main()
