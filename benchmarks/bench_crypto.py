"""RS256 and ES256 sign through the official CryptographyClient on the fake, against ``cryptography`` alone.

    python benchmarks/bench_crypto.py [--rounds 7] [--ops 200]

Each round signs ``--ops`` SHA-256 digests the SDK way (``CryptographyClient.sign``: a POST through azure-core's
pipeline, the fake's router, token check and JSON wire format, with ``cryptography`` doing the signing) and then
with ``cryptography`` directly on the same private key (the floor). Rounds interleave the two so that drift in the
machine's speed hits both alike; the median round is reported, with the ratio SDK-on-fake / floor.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import time
from collections.abc import Callable

import azure.keyvault.keys
import cryptography
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.keys.store import key_material

VAULT = "https://bench.vault.azure.net"


def ops_per_second(ops: int, action: Callable[[bytes], object], digests: list[bytes]) -> float:
    start = time.perf_counter()
    for index in range(ops):
        action(digests[index % len(digests)])
    return ops / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds; the median is kept (default 7)")
    parser.add_argument("--ops", type=int, default=200, help="signatures per round and contender (default 200)")
    args = parser.parse_args()

    fake = FakeKeyVault()
    credential = fake.credential()
    client = KeyClient(VAULT, credential, transport=fake.transport())
    digests = [hashlib.sha256(os.urandom(32)).digest() for _ in range(64)]
    print(
        f"python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"azure-keyvault-keys {azure.keyvault.keys.__version__}; {args.rounds} rounds x {args.ops} signatures"
    )
    print(f"{'algorithm':<10}{'SDK on fake (ops/s)':>22}{'cryptography (ops/s)':>24}{'ratio':>9}")
    for alg, create in (
        ("RS256", lambda: client.create_rsa_key("bench-rsa", size=2048)),
        ("ES256", lambda: client.create_ec_key("bench-ec", curve="P-256")),
    ):
        key = create()
        crypto = CryptographyClient(key, credential, transport=fake.transport())
        private = key_material(fake.vault(VAULT), key.name).key

        def floor(digest: bytes, private: object = private) -> bytes:
            if isinstance(private, rsa.RSAPrivateKey):
                return private.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
            assert isinstance(private, ec.EllipticCurvePrivateKey)
            return private.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))

        def through_sdk(digest: bytes, crypto: CryptographyClient = crypto, alg: str = alg) -> object:
            return crypto.sign(SignatureAlgorithm(alg), digest)

        through_sdk(digests[0])  # warm-up: the first request answers the 401 challenge
        sdk_rates, floor_rates = [], []
        for _ in range(args.rounds):
            sdk_rates.append(ops_per_second(args.ops, through_sdk, digests))
            floor_rates.append(ops_per_second(args.ops, floor, digests))
        sdk, base = statistics.median(sdk_rates), statistics.median(floor_rates)
        print(f"{alg:<10}{sdk:>22,.0f}{base:>24,.0f}{sdk / base:>8.2f}x")
        crypto.close()
    client.close()


if __name__ == "__main__":
    main()
