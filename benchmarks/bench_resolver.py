"""Start-up resolution of N Key Vault references on the fake at a fixed latency per request, side by side in one run.

Contenders, interleaved round by round (median of ``--rounds``):

1. kvconfig ``SecretResolver`` (a fresh resolver per round: no kvconfig cache), over the official async SDK with
   ``transport=fake.async_transport()``;
2. a sequential loop over the sync SDK's ``SecretClient.get_secret`` on ``fake.transport()``;
3. pydantic-settings' ``AzureKeyVaultSettingsSource`` on an N-field settings class (field ``s_1`` <-> secret ``s-1``
   through ``dash_to_underscore=True``). It builds its own ``SecretClient`` with the SDK's default transport and
   ``DefaultAzureCredential``, so it runs under ``fake.patch()``; the patched ``send`` goes through the fake's
   transport, which spends the same latency per request.

Every run starts "cold": the SDK's process-wide challenge cache is cleared first, so each contender pays the 401
challenge on its first request to the vault, as a freshly started process does. kvconfig is also measured "warm"
(challenge cached, as for a second resolver in the same process).

Also measured: a fully cached resolve of ``--cached-settings`` settings (no request at all), and the CPU cost per
request of the SDK pipeline plus the in-process fake (latency 0), which the bound below does not include.

    python benchmarks/bench_resolver.py [--secrets 100] [--latency 0.010] [--concurrency 32] [--rounds 5]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets._shared import http_challenge_cache

from kvconfig import SecretResolver
from kvconfig.fake import FakeKeyVault

VAULT = "benchvault"
VAULT_URL = f"https://{VAULT}.vault.azure.net"


def _cold() -> None:
    """Forget the SDK's process-wide cache of Key Vault challenges, as a new process would have."""
    http_challenge_cache.clear()


def run_kvconfig(fake: FakeKeyVault, settings: dict[str, str], concurrency: int, *, cold: bool = True) -> float:
    if cold:
        _cold()
    with SecretResolver(fake.async_credential(), transport=fake.async_transport, concurrency=concurrency) as resolver:
        started = time.perf_counter()
        resolved = resolver.resolve(settings)
        elapsed = time.perf_counter() - started
    assert resolved["S1"] == "value-1"
    return elapsed


def run_sequential_sdk(fake: FakeKeyVault, names: list[str]) -> float:
    _cold()
    with SecretClient(VAULT_URL, fake.credential(), transport=fake.transport()) as client:
        started = time.perf_counter()
        values = [client.get_secret(name).value for name in names]
        elapsed = time.perf_counter() - started
    assert values[0] == "value-1"
    return elapsed


def make_settings_class(count: int) -> type[Any]:
    from pydantic_settings import BaseSettings

    annotations = {f"s_{index}": str for index in range(1, count + 1)}
    return type("BenchSettings", (BaseSettings,), {"__annotations__": annotations})


def run_pydantic_settings(fake: FakeKeyVault, settings_cls: type[Any]) -> float:
    from azure.identity import DefaultAzureCredential
    from pydantic_settings import AzureKeyVaultSettingsSource

    _cold()
    with fake.patch():
        started = time.perf_counter()
        source = AzureKeyVaultSettingsSource(settings_cls, VAULT_URL, DefaultAzureCredential(), dash_to_underscore=True)
        values = source()
        elapsed = time.perf_counter() - started
    assert values["s_1"] == "value-1", values.get("s_1")
    assert len(values) == len(settings_cls.model_fields)
    return elapsed


def measure_cached(fake: FakeKeyVault, count: int, repeats: int) -> tuple[float, int]:
    """Median seconds of a resolve of ``count`` settings served entirely from the cache, and requests it made."""
    latency, fake.latency = fake.latency, 0.0
    for index in range(count):
        fake.set_secret(VAULT, f"c-{index}", f"cached-{index}")
    settings = {f"C{index}": f"@Microsoft.KeyVault(VaultName={VAULT};SecretName=c-{index})" for index in range(count)}
    try:
        with SecretResolver(fake.async_credential(), transport=fake.async_transport, ttl=3600) as resolver:
            resolver.resolve(settings)
            before = sum(fake.operation_counts.values())
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                resolver.resolve(settings)
                times.append(time.perf_counter() - started)
            requests = sum(fake.operation_counts.values()) - before
    finally:
        fake.latency = latency
    return statistics.median(times), requests


def median_of(runs: list[float]) -> float:
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secrets", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.010)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cached-settings", type=int, default=1000)
    parser.add_argument("--skip-pydantic", action="store_true", help="leave pydantic-settings out")
    args = parser.parse_args(argv)

    count, latency, concurrency = args.secrets, args.latency, args.concurrency
    fake = FakeKeyVault(latency=latency)
    names = [f"s-{index}" for index in range(1, count + 1)]
    for index, name in enumerate(names, start=1):
        fake.set_secret(VAULT, name, f"value-{index}")
    settings = {
        f"S{index}": f"@Microsoft.KeyVault(VaultName={VAULT};SecretName={name})" for index, name in enumerate(names, 1)
    }
    settings_cls = None if args.skip_pydantic else make_settings_class(count)

    # The CPU floor: the same resolution with no latency at all (SDK pipeline + in-process fake, per request).
    fake.latency = 0.0
    run_kvconfig(fake, settings, concurrency)
    cpu = median_of([run_kvconfig(fake, settings, concurrency, cold=False) for _ in range(3)])
    fake.latency = latency

    contenders: dict[str, Callable[[], float]] = {
        "kvconfig SecretResolver (cold)": lambda: run_kvconfig(fake, settings, concurrency),
        "kvconfig SecretResolver (warm challenge)": lambda: run_kvconfig(fake, settings, concurrency, cold=False),
        "sequential sync SDK get_secret loop": lambda: run_sequential_sdk(fake, names),
    }
    if settings_cls is not None:
        contenders["pydantic-settings AzureKeyVaultSettingsSource"] = lambda: run_pydantic_settings(fake, settings_cls)
    runs: dict[str, list[float]] = {name: [] for name in contenders}
    requests: dict[str, int] = {}
    for _round in range(args.rounds):
        for name, contender in contenders.items():
            before = fake.operation_counts.copy()
            runs[name].append(contender())
            requests[name] = sum((fake.operation_counts - before).values())

    bound = math.ceil(count / concurrency) * latency
    cold_bound = bound + latency  # the first request to a vault meets the 401 challenge: one more round trip
    medians = {name: median_of(times) for name, times in runs.items()}
    kv_cold = medians["kvconfig SecretResolver (cold)"]
    kv_warm = medians["kvconfig SecretResolver (warm challenge)"]
    cached, cached_requests = measure_cached(fake, args.cached_settings, repeats=20)

    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}")
    print(
        f"{count} secrets, {count} settings, latency {latency * 1000:.1f} ms per request, concurrency {concurrency}, "
        f"{args.rounds} interleaved rounds (median)"
    )
    print()
    print("| contender | median | requests | vs kvconfig (cold) |")
    print("|---|---:|---:|---:|")
    for name, value in medians.items():
        print(f"| {name} | {value * 1000:.1f} ms | {requests[name]} | {value / kv_cold:.2f}x |")
    print()
    print(
        f"bound ceil(N/concurrency) x latency = {bound * 1000:.1f} ms; with the challenge round trip "
        f"{cold_bound * 1000:.1f} ms"
    )
    print(
        f"kvconfig cold / bound with challenge = {kv_cold / cold_bound:.2f}x; cold / bound = {kv_cold / bound:.2f}x; "
        f"warm / bound = {kv_warm / bound:.2f}x"
    )
    print(
        f"CPU floor (latency 0): {cpu * 1000:.1f} ms for {count} requests = {cpu / count * 1e6:.0f} us per request "
        "(SDK pipeline + the in-process fake, all on one event loop)"
    )
    floor = max(cold_bound, cpu)
    print(f"kvconfig cold / max(bound with challenge, CPU floor) = {kv_cold / floor:.2f}x")
    if settings_cls is not None:
        pyd = medians["pydantic-settings AzureKeyVaultSettingsSource"]
        print(f"pydantic-settings / kvconfig (cold) = {pyd / kv_cold:.1f}x")
    print(
        f"fully cached resolve of {args.cached_settings} settings: {cached * 1000:.2f} ms = "
        f"{cached / args.cached_settings * 1e6:.1f} us per setting, {cached_requests} requests"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
