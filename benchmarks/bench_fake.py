"""``get_secret`` throughput through the official SecretClient: on the fake, against a canned-response transport.

    python benchmarks/bench_fake.py [--rounds 9] [--ops 2000] [--async-ops 2000] [--profile FILE]

The floor is the same SDK client on a bare azure-core transport that answers every request with one prepared 200
SecretBundle (after the usual 401 challenge for a request without a token): everything the SDK spends per call,
nothing a service could spend. The fake adds its whole service path: vault lookup, token verification, api-version
check, route match, state under the vault's lock, JSON rendering. Rounds alternate fake / floor so that drift in the
machine's speed hits both alike; the median round of each is reported, with the ratio fake / floor (goal: >= 0.80).
The async client is measured the same way (sequential awaits on one event loop). ``--profile FILE`` writes a cProfile
of the sync fake's loop instead.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import platform
import statistics
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

import azure.core
import azure.keyvault.secrets
from azure.core.pipeline.transport import AsyncHttpTransport, HttpTransport
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.rest._http_response_impl_async import AsyncHttpResponseImpl
from azure.core.utils import CaseInsensitiveDict
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from kvconfig.fake import FakeKeyVault

VAULT = "https://bench.vault.azure.net"
NAME = "bench-secret"
VALUE = "s3cret-" + "x" * 40
VERSION = "0123456789abcdef0123456789abcdef"

_BUNDLE = json.dumps(
    {
        "value": VALUE,
        "id": f"{VAULT}/secrets/{NAME}/{VERSION}",
        "attributes": {
            "enabled": True,
            "created": 1700000000,
            "updated": 1700000000,
            "recoverableDays": 90,
            "recoveryLevel": "Recoverable+Purgeable",
        },
    },
    separators=(",", ":"),
).encode()
_CHALLENGE = json.dumps({"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer token."}})
# A recorded answer carries the service's headers; the fake sends the same set, so both sides parse alike.
_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Type": "application/json; charset=utf-8",
    "x-ms-keyvault-service-version": "1.9.0.0",
    "x-ms-request-id": "00000000-0000-0000-0000-000000000001",
    "x-ms-keyvault-region": "westus",
    "x-ms-keyvault-network-info": "conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;",
}
_CHALLENGE_HEADERS = {
    **_HEADERS,
    "WWW-Authenticate": 'Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47",'
    ' resource="https://vault.azure.net"',
}


class _Closeable:
    def close(self) -> None:
        pass


def _canned(request: Any) -> tuple[int, str, dict[str, str], bytes]:
    if "Authorization" not in request.headers:
        return 401, "Unauthorized", _CHALLENGE_HEADERS, _CHALLENGE.encode()
    return 200, "OK", _HEADERS, _BUNDLE


class CannedTransport(HttpTransport):  # type: ignore[type-arg]
    """The floor: answers every request with one prepared SecretBundle (401 + challenge without a token)."""

    def send(self, request: Any, **kwargs: Any) -> HttpResponseImpl:
        status, reason, headers, body = _canned(request)

        def stream(**_: Any) -> Iterator[bytes]:
            yield body

        response = HttpResponseImpl(
            request=request,
            internal_response=_Closeable(),
            status_code=status,
            reason=reason,
            content_type=headers["Content-Type"],
            headers=CaseInsensitiveDict(headers),
            stream_download_generator=stream,
        )
        response._content = body
        return response

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> CannedTransport:
        return self

    def __exit__(self, *args: object) -> None:
        pass


class _AsyncCloseable:
    async def close(self) -> None:
        pass


class AsyncCannedTransport(AsyncHttpTransport):  # type: ignore[type-arg]
    """The async floor."""

    async def send(self, request: Any, **kwargs: Any) -> AsyncHttpResponseImpl:
        status, reason, headers, body = _canned(request)

        async def stream(**_: Any) -> AsyncIterator[bytes]:
            yield body

        response = AsyncHttpResponseImpl(
            request=request,
            internal_response=_AsyncCloseable(),
            status_code=status,
            reason=reason,
            content_type=headers["Content-Type"],
            headers=CaseInsensitiveDict(headers),
            stream_download_generator=stream,
        )
        response._content = body
        return response

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> AsyncCannedTransport:
        return self

    async def __aexit__(self, *args: object) -> None:
        pass


def _rate(ops: int, call: Callable[[], object]) -> float:
    start = time.perf_counter()
    for _ in range(ops):
        call()
    return ops / (time.perf_counter() - start)


async def _async_rate(ops: int, call: Callable[[], Coroutine[Any, Any, object]]) -> float:
    start = time.perf_counter()
    for _ in range(ops):
        await call()
    return ops / (time.perf_counter() - start)


def _report(label: str, fake_rates: list[float], floor_rates: list[float]) -> None:
    fake, floor = statistics.median(fake_rates), statistics.median(floor_rates)
    print(f"{label:<7}{fake:>18,.0f}{floor:>20,.0f}{fake / floor:>9.2f}")


def bench_sync(rounds: int, ops: int, fake: FakeKeyVault) -> None:
    with (
        SecretClient(VAULT, fake.credential(), transport=fake.transport()) as on_fake,
        SecretClient(VAULT, fake.credential(), transport=CannedTransport()) as on_floor,
    ):
        assert on_fake.get_secret(NAME).value == VALUE
        assert on_floor.get_secret(NAME).value == VALUE
        fake_rates, floor_rates = [], []
        for _ in range(rounds):
            fake_rates.append(_rate(ops, lambda: on_fake.get_secret(NAME)))
            floor_rates.append(_rate(ops, lambda: on_floor.get_secret(NAME)))
    _report("sync", fake_rates, floor_rates)


async def bench_async(rounds: int, ops: int, fake: FakeKeyVault) -> None:
    async with (
        secrets_aio.SecretClient(VAULT, fake.async_credential(), transport=fake.async_transport()) as on_fake,
        secrets_aio.SecretClient(VAULT, fake.async_credential(), transport=AsyncCannedTransport()) as on_floor,
    ):
        assert (await on_fake.get_secret(NAME)).value == VALUE
        assert (await on_floor.get_secret(NAME)).value == VALUE
        fake_rates, floor_rates = [], []
        for _ in range(rounds):
            fake_rates.append(await _async_rate(ops, lambda: on_fake.get_secret(NAME)))
            floor_rates.append(await _async_rate(ops, lambda: on_floor.get_secret(NAME)))
    _report("async", fake_rates, floor_rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds; the median is kept (default 9)")
    parser.add_argument("--ops", type=int, default=2000, help="sync get_secret calls per round and contender")
    parser.add_argument("--async-ops", type=int, default=2000, help="async get_secret calls per round and contender")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the sync fake loop to FILE and stop")
    args = parser.parse_args()

    fake = FakeKeyVault()
    fake.set_secret(VAULT, NAME, VALUE, version=VERSION)
    if args.profile:
        with SecretClient(VAULT, fake.credential(), transport=fake.transport()) as client:
            client.get_secret(NAME)
            cProfile.runctx(
                "for _ in range(ops): client.get_secret(NAME)",
                {},
                {"ops": args.ops, "client": client, "NAME": NAME},
                args.profile,
            )
        print(f"profile written to {args.profile}")
        return
    print(
        f"python {platform.python_version()}, azure-core {azure.core.__version__}, "
        f"azure-keyvault-secrets {azure.keyvault.secrets.__version__}; {args.rounds} rounds x "
        f"{args.ops} sync / {args.async_ops} async get_secret calls per contender"
    )
    print(f"{'client':<7}{'fake (ops/s)':>18}{'canned floor (ops/s)':>20}{'ratio':>9}")
    bench_sync(args.rounds, args.ops, fake)
    asyncio.run(bench_async(args.rounds, args.async_ops, fake))


if __name__ == "__main__":
    main()
