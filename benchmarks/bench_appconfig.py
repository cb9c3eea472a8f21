"""``load()`` of the official App Configuration provider on a store of N key-values, M of them Key Vault references,
with a fixed latency per request on both fakes (App Configuration and Key Vault), side by side in one run.

Contenders, interleaved round by round (median of ``--rounds``; each round starts with the next contender, and the
garbage collector runs before every timed load; one untimed load of each comes first):

1. ``provider``: ``azure.appconfiguration.provider.load`` resolving references itself (``keyvault_credential`` and
   ``keyvault_client_configs`` with the fake vault's transport): one ``get_secret`` after another;
2. ``kvconfig``: ``kvconfig.appconfig.load``, the same provider with kvconfig's resolver as its ``secret_resolver``
   (a fresh ``SecretResolver`` per round: no kvconfig cache carried between rounds); each page's references start
   resolving when the page arrives, while later pages are listed (``pipeline=True``, the default);
3. ``kvconfig_batch``: the same with ``pipeline=False``: every reference resolved in one round at the provider's first
   secret request (what kvconfig did before pipelining).

``--layout`` places the references: ``last`` (the default and the issue's first measurement) gives them keys that
sort after every plain key (``app:secret:*`` after ``app:plain:*``), so they all arrive on the last page and nothing
can overlap the listing; ``spread`` interleaves them (every N-th key of ``app:item:*``), as a store whose secrets sit
next to their plain settings (``app:db:host``, ``app:db:password``) does.

Also measured, as the bound of any speedup: ``floor``, the same ``load()`` of a store of N plain key-values (no
reference at all): listing and the SDK's own work on N settings, which both contenders pay.

Every round starts cold: the Key Vault SDK's process-wide challenge cache is cleared, so both pay the 401 challenge.
Both list the store the same way (pages of 100 key-values); the difference is how the references are resolved.

    python benchmarks/bench_appconfig.py [--settings 500] [--references 50] [--latency 0.020] [--rounds 5]
                                         [--layout last|spread]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping

from azure.appconfiguration.provider import load as provider_load
from azure.keyvault.secrets._shared import http_challenge_cache

from kvconfig import SecretResolver
from kvconfig.appconfig import load as kvconfig_load
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.appconfig import FakeAppConfiguration

STORE = "benchstore"
PLAIN_STORE = "benchplain"
VAULT = "benchvault"
VAULT_URL = f"https://{VAULT}.vault.azure.net"


def _reference_keys(settings: int, references: int, layout: str) -> tuple[list[str], list[str]]:
    """(reference keys, plain keys) for the layout."""
    if layout == "last":
        return [f"app:secret:{i:04d}" for i in range(references)], [
            f"app:plain:{i:04d}" for i in range(settings - references)
        ]
    step = settings // references
    chosen = {i * step for i in range(references)}
    keys = [f"app:item:{i:04d}" for i in range(settings)]
    return [k for i, k in enumerate(keys) if i in chosen], [k for i, k in enumerate(keys) if i not in chosen]


def arrange(
    settings: int, references: int, latency: float, layout: str = "last"
) -> tuple[FakeKeyVault, FakeAppConfiguration]:
    keyvault = FakeKeyVault(latency=latency)
    appconfig = FakeAppConfiguration(keyvault=keyvault, latency=latency)
    reference_keys, plain_keys = _reference_keys(settings, references, layout)
    for index, key in enumerate(reference_keys):
        keyvault.set_secret(VAULT, f"secret-{index}", f"value-{index}")
        appconfig.set_secret_reference(STORE, key, f"{VAULT_URL}/secrets/secret-{index}")
    for index, key in enumerate(plain_keys):
        appconfig.set(STORE, key, f"plain-{index}")
    for index in range(settings):
        appconfig.set(PLAIN_STORE, f"app:secret:{index:04d}", f"value-{index}")
    return keyvault, appconfig


def _check(config: Mapping[str, object], settings: int) -> None:
    values = dict(config)
    assert len(values) == settings, len(values)
    assert "value-0" in values.values()


def run_provider(keyvault: FakeKeyVault, appconfig: FakeAppConfiguration, settings: int) -> float:
    http_challenge_cache.clear()
    started = time.perf_counter()
    config = provider_load(
        connection_string=appconfig.connection_string(STORE),
        transport=appconfig.transport(),
        replica_discovery_enabled=False,
        keyvault_credential=keyvault.credential(),
        keyvault_client_configs={f"{VAULT_URL}/": {"transport": keyvault.transport()}},
    )
    elapsed = time.perf_counter() - started
    _check(config, settings)
    config.close()
    return elapsed


def run_floor(appconfig: FakeAppConfiguration, settings: int) -> float:
    started = time.perf_counter()
    config = provider_load(
        connection_string=appconfig.connection_string(PLAIN_STORE),
        transport=appconfig.transport(),
        replica_discovery_enabled=False,
    )
    elapsed = time.perf_counter() - started
    _check(config, settings)
    config.close()
    return elapsed


def run_kvconfig(
    keyvault: FakeKeyVault, appconfig: FakeAppConfiguration, settings: int, *, pipeline: bool = True
) -> float:
    http_challenge_cache.clear()
    # Timed from before the resolver is made, as the provider's own SecretClient is made inside its load().
    started = time.perf_counter()
    with SecretResolver(keyvault.async_credential(), transport=keyvault.async_transport) as resolver:
        config = kvconfig_load(
            connection_string=appconfig.connection_string(STORE),
            transport=appconfig.transport(),
            replica_discovery_enabled=False,
            resolver=resolver,
            pipeline=pipeline,
        )
        elapsed = time.perf_counter() - started
        _check(config, settings)
        config.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", type=int, default=500)
    parser.add_argument("--references", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.020)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--layout", choices=["last", "spread"], default="last")
    args = parser.parse_args(argv)
    if not 0 < args.references <= args.settings:
        parser.error("--references must be between 1 and --settings.")
    keyvault, appconfig = arrange(args.settings, args.references, args.latency, args.layout)
    print(
        f"python {platform.python_version()} on {platform.machine()}; {args.settings} key-values, "
        f"{args.references} Key Vault references ({args.layout}), {args.latency * 1000:.0f} ms per request, "
        f"{args.rounds} rounds; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    runs: dict[str, list[float]] = {"floor": [], "provider": [], "kvconfig": [], "kvconfig_batch": []}
    gets: dict[str, int] = {}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    contenders: dict[str, Callable[[], float]] = {
        "floor": lambda: run_floor(appconfig, args.settings),
        "provider": lambda: run_provider(keyvault, appconfig, args.settings),
        "kvconfig": lambda: run_kvconfig(keyvault, appconfig, args.settings),
        "kvconfig_batch": lambda: run_kvconfig(keyvault, appconfig, args.settings, pipeline=False),
    }
    names = list(contenders)
    for name in names:  # one untimed load each first: imports and first-use caches are no contender's cost
        contenders[name]()
    for round_index in range(args.rounds):
        # Each round starts with a different contender (none always runs right after another's garbage), and every
        # run starts from a collected heap.
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            before = keyvault.operation_counts["GetSecret"]
            cpu_started = time.process_time()
            runs[name].append(contenders[name]())
            cpu[name].append(time.process_time() - cpu_started)
            gets[name] = keyvault.operation_counts["GetSecret"] - before
    provider_runs, kvconfig_runs = runs["provider"], runs["kvconfig"]
    batch_runs, floor_runs = runs["kvconfig_batch"], runs["floor"]
    provider_gets, kvconfig_gets = gets["provider"], gets["kvconfig"]
    provider_s = statistics.median(provider_runs)
    kvconfig_s = statistics.median(kvconfig_runs)
    batch_s = statistics.median(batch_runs)
    print(f"provider rounds: {' '.join(f'{t:.3f}' for t in provider_runs)} ({provider_gets} GetSecret each)")
    print(f"kvconfig rounds: {' '.join(f'{t:.3f}' for t in kvconfig_runs)} ({kvconfig_gets} GetSecret each)")
    print(
        f"kvconfig without pipelining: {' '.join(f'{t:.3f}' for t in batch_runs)} "
        f"(median {batch_s:.3f} s, speedup {provider_s / batch_s:.1f}x)"
    )
    floor_s = statistics.median(floor_runs)
    print(
        f"floor (the same load without references): {floor_s:.3f} s, so no resolver can exceed "
        f"{provider_s / floor_s:.1f}x here"
    )
    above_provider, above_kvconfig = provider_s - floor_s, kvconfig_s - floor_s
    if above_kvconfig > 0:
        print(
            f"above the floor (the references' part): provider {above_provider:.3f} s, kvconfig {above_kvconfig:.3f} s "
            f"({above_provider / above_kvconfig:.1f}x)"
        )
    # CPU time depends far less on what else the machine runs than wall time does: on an idle machine a load takes
    # about its latency plus its CPU.
    print(
        "CPU per load (this process, every thread, closing included): "
        + ", ".join(f"{name} {statistics.median(times):.3f} s" for name, times in cpu.items())
    )
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"appconfig: provider_s={provider_s:.3f} kvconfig_s={kvconfig_s:.3f} speedup={provider_s / kvconfig_s:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
