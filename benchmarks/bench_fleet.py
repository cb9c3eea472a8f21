"""Fleet start-up: N replicas resolving M references each from one throttled vault, without and with the Redis tier.

    python benchmarks/bench_fleet.py --replicas 1000 --refs 40

Each replica is an independent SecretResolver with its own SDK clients and credential. The vault is the in-process
fake at its documented limits (4,000 secret reads and 4,000 RSA-2048 operations per 10 seconds), 10 ms per request.
Time is SIMULATED: every replica runs on one VirtualTimeLoop (kvconfig.fake.simulation) whose clock the fake shares,
so waits (latency, Retry-After, budget tokens, lease polls) cost no real time; CPU work is not timed. The resolvers'
async core runs on that loop directly (their sync facade would give each its own loop thread and its own time).

- direct: every replica reads the vault, each under its share of the vault's limit (VaultBudget.share_of) and a
  start-up deadline (Fleet(startup=...)). Bound: N x M reads at the vault's limit.
- shared: the same, plus the sealed Redis tier (fakeredis: one in-process server shared by the replicas; a real
  redis-server is what the test suite uses). Each replica's KEK client is built from the key's public JWK (what a
  deployment ships in its config), so the SDK does not GET the key; the data key is unwrapped once per replica.

vault_tx counts authenticated requests the vault answered (429s included); the 401 challenges that precede each SDK
client's first request carry no token and are reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from typing import Any

from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto.aio import CryptographyClient

from kvconfig import SecretResolver
from kvconfig.crypto import AsyncAzureKeyWrapper
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.simulation import SimulatedAsyncTransport, VirtualClock, VirtualTimeLoop
from kvconfig.fleet import Fleet, RedisSharedCache, StartupPolicy, VaultBudget

VAULT = "fleetvault"
VAULT_URL = f"https://{VAULT}.vault.azure.net"
LIMIT, WINDOW = 4000, 10.0
DEADLINE = 900.0


class Counting(SimulatedAsyncTransport):
    def __init__(self, fake: FakeKeyVault, statuses: Counter[int]) -> None:
        super().__init__(fake)
        self._statuses = statuses

    async def send(self, request: Any, **kwargs: Any) -> Any:
        response = await super().send(request, **kwargs)
        self._statuses[response.status_code] += 1
        return response


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(replicas: int, refs: int, *, shared: bool, latency: float) -> dict[str, Any]:
    import fakeredis

    clock = VirtualClock(start=1_750_000_000.0)
    loop = VirtualTimeLoop(clock)
    fake = FakeKeyVault(clock=clock, latency=latency)
    for i in range(refs):
        fake.set_secret(VAULT, f"secret-{i:03d}", f"value-{i:03d}-do-not-leak")
    keys = KeyClient(VAULT_URL, fake.credential(), transport=fake.transport())
    kek = keys.create_rsa_key("fleet-kek", size=2048)
    keys.close()
    fake.throttle(VAULT)  # the documented limits, from here on
    statuses: Counter[int] = Counter()
    server = fakeredis.FakeServer()
    settings = {f"S{i:03d}": f"@Microsoft.KeyVault(VaultName={VAULT};SecretName=secret-{i:03d})" for i in range(refs)}

    def replica() -> SecretResolver:
        budget = VaultBudget.share_of(
            replicas, limit=LIMIT, window=WINDOW, burst=2 if shared else 1, clock=clock.monotonic
        )
        tier = None
        if shared:
            crypto = CryptographyClient(
                kek,
                fake.async_credential(),
                transport=Counting(fake, statuses),
                per_retry_policies=Fleet(budget=budget).client_policies(),
            )
            tier = RedisSharedCache(
                lambda: fakeredis.aioredis.FakeRedis(server=server),
                AsyncAzureKeyWrapper(crypto),
                clock=clock.monotonic,
                wait=DEADLINE,
                # fakeredis expires keys on the real clock, and the simulation spends real CPU time between a lease
                # and its release (thousands of replicas share two cores): a real-time lease sized for 10 ms reads
                # would expire mid-simulation and let a second replica lead the same fetch.
                lease=600.0,
            )
        fleet = Fleet(
            startup=StartupPolicy(deadline=DEADLINE), budget=budget, shared=tier, listen=False, clock=clock.monotonic
        )
        return SecretResolver(
            fake.async_credential(),
            transport=lambda: Counting(fake, statuses),
            fleet=fleet,
            clock=clock.now,
            monotonic=clock.monotonic,
        )

    resolvers = [replica() for _ in range(replicas)]

    async def start(resolver: SecretResolver) -> float | None:
        report, _notes = await resolver._resolve_report(settings, {}, {})  # the async core, on this loop
        ok = not report.failures and dict(report.values) == {k: f"value-{k[1:]}-do-not-leak" for k in settings}
        return loop.time() if ok else None

    async def main() -> list[float | None]:
        try:
            return await asyncio.gather(*(start(r) for r in resolvers))
        finally:
            for resolver in resolvers:
                await resolver._clients.aclose()
                resolver.close()

    cpu = time.process_time()
    outcome = loop.run_until_complete(main())
    loop.close()
    ready = [t for t in outcome if t is not None]
    tiers = [r.fleet.shared.health() for r in resolvers if r.fleet is not None and r.fleet.shared is not None]
    shared_counts = {k: sum(h[k] for h in tiers) for k in ("hits", "vault_reads", "fallbacks", "rejected", "unwraps")}
    challenges = statuses.pop(401, 0)
    return {
        "failed": sum(1 for t in outcome if t is None),
        "p50": statistics.median(ready) if ready else float("nan"),
        "p99": percentile(ready, 0.99),
        "vault_tx": sum(statuses.values()),
        "throttled": statuses.get(429, 0),
        "challenges": challenges,
        "simulated_s": clock.elapsed,
        "cpu_s": time.process_time() - cpu,
        "tier": shared_counts,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=1000)
    parser.add_argument("--refs", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.01, help="seconds per vault request (default 10 ms)")
    args = parser.parse_args(argv)
    n, m = args.replicas, args.refs
    bound = n * m / (LIMIT / WINDOW)
    print(
        f"SIMULATED time: {n} replicas x {m} references, one vault at {LIMIT}/{WINDOW:g} s, "
        f"{args.latency * 1000:g} ms per request; throughput bound {bound:.1f} s"
    )
    results = {}
    for mode in ("direct", "shared"):
        r = results[mode] = run(n, m, shared=mode == "shared", latency=args.latency)
        print(
            f"{mode:>6}: failed={r['failed']} p50_ready_s={r['p50']:.2f} p99_ready_s={r['p99']:.2f} "
            f"vault_tx={r['vault_tx']} throttled_429={r['throttled']} challenges_401={r['challenges']} "
            f"simulated_s={r['simulated_s']:.1f} cpu_s={r['cpu_s']:.1f}"
        )
        if mode == "shared":
            print("        Redis tier, summed over replicas: " + " ".join(f"{k}={v}" for k, v in r["tier"].items()))
    d, s = results["direct"], results["shared"]
    print(
        f"direct p99 / bound = {d['p99'] / bound:.3f} (goal <= 1.2); shared vault_tx = {s['vault_tx']} "
        f"(goal <= M + N = {m + n}); shared p99 = {s['p99']:.2f} s (goal < 2)"
    )
    print(
        f"fleet: replicas={n} refs={m} failed={d['failed'] + s['failed']} p99_ready_s={d['p99']:.2f} "
        f"vault_tx={d['vault_tx']} bound_s={bound:.1f} shared_p99_ready_s={s['p99']:.2f} "
        f"shared_vault_tx={s['vault_tx']}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
