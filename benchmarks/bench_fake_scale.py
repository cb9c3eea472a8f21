"""How the fake's cost grows with the vault: listing every secret, and one ``get_secret``, at 1,000 / 10,000 / 100,000
objects, through the official SecretClient on the in-process transport.

    python benchmarks/bench_fake_scale.py [--sizes 1000,10000,100000] [--gets 2000]

Each vault holds ``n`` secrets, ``n // 10`` keys with three versions each, and ``n // 10`` soft-deleted secrets (so
the deleted index and the purge sweep are in play). The vault is filled through the fake's state API (filling it
through HTTP would measure the fill, not the fake). Then:

* ``list_all_s``: wall time of iterating ``client.list_properties_of_secrets()`` to the end (n / 25 pages), the
  better of two runs (the SDK's model parsing is most of it);
* ``get_us``: per-call time of ``client.get_secret`` on a secret in the middle of the vault: the best of seven
  batches of ``--gets / 7`` calls, after a warm-up.

All vaults are built first, and the rounds alternate between sizes, so a shared machine's drift hits all alike.
* ``bytes_per_secret``: growth of traced memory (``tracemalloc``) while adding the vault's secrets, divided by n
  (each secret: a 32-character name, one version with a 40-character value, tags, content type).

The last line is ``fake_scale: n=<largest> list_all_s=<t> list_ratio=<t(largest)/t(previous)> get_ratio=<get(largest)
/get(smallest)> bytes_per_secret=<b>``. Goals: list_ratio <= 12 for a tenfold vault (linear), get_ratio <= 1.3.
"""

from __future__ import annotations

import argparse
import gc
import platform
import time
import tracemalloc

import azure.keyvault.secrets
from azure.keyvault.secrets import SecretClient

from kvconfig.fake import FakeKeyVault, SequentialIds
from kvconfig.fake.core.state import Attributes, SecretVersion

VAULT = "https://scale.vault.azure.net"
NOW = 1_750_000_000


def _fill(fake: FakeKeyVault, n: int) -> int:
    """Fill the vault; the bytes traced memory grew by while adding the n live secrets."""
    vault = fake.vault(VAULT)
    ids = SequentialIds()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for index in range(n):
        name = f"secret-{index:025d}"
        obj = vault.secrets.get_or_create(name)
        version = ids.new_version()
        obj.add(
            version,
            SecretVersion(
                version=version,
                value=f"value-{index:034d}",
                attributes=Attributes(created=NOW, updated=NOW),
                content_type="text/plain",
                tags={"team": "a"},
            ),
        )
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    for index in range(n // 10):
        name = f"deleted-{index:024d}"
        obj = vault.secrets.get_or_create(name)
        version = ids.new_version()
        obj.add(version, SecretVersion(version, "gone", Attributes(created=NOW, updated=NOW)))
        vault.secrets.delete(name, now=NOW, retention_days=90, soft=True)
    # Keys with versions, made through their wing's HTTP operations would dominate the fill; the state is the same.
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for index in range(n // 10):
        for _ in range(3):
            fake.handle(
                "POST",
                f"{VAULT}/keys/key-{index:07d}/create?api-version=7.6",
                auth,
                b'{"kty": "oct", "key_size": 256}',
            )
    return grown


def _list_all(client: SecretClient, n: int) -> float:
    started = time.perf_counter()
    listed = sum(1 for _ in client.list_properties_of_secrets())
    assert listed == n, (listed, n)
    return time.perf_counter() - started


def _gets(client: SecretClient, target: str, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        client.get_secret(target)
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--gets", type=int, default=2000)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"azure-keyvault-secrets {azure.keyvault.secrets.__version__}"
    )
    # Every vault is built first and the rounds alternate between them, so drift in the (shared) machine's speed
    # hits every size alike; each size keeps its best round.
    clients: dict[int, tuple[SecretClient, str]] = {}
    grown: dict[int, float] = {}
    for n in sizes:
        fake = FakeKeyVault()
        grown[n] = _fill(fake, n) / n
        client = SecretClient(VAULT, fake.credential(), transport=fake.transport())
        target = f"secret-{n // 2:025d}"
        client.get_secret(target)  # warm-up: challenge, token, route memo, the expiry watch's first look
        clients[n] = (client, target)
    lists: dict[int, list[float]] = {n: [] for n in sizes}
    gets: dict[int, list[float]] = {n: [] for n in sizes}
    batch = max(args.gets // 7, 1)
    for _ in range(7):
        for n in sizes:
            gets[n].append(_gets(*clients[n], batch))
    for _ in range(2):
        for n in sizes:
            lists[n].append(_list_all(clients[n][0], n))
    for n in sizes:
        clients[n][0].close()
        print(
            f"n={n:>7}  list_all={min(lists[n]):8.3f} s  get_secret={min(gets[n]) * 1e6:7.1f} us  "
            f"bytes/secret={grown[n]:7.0f}"
        )
    largest, previous, smallest = sizes[-1], sizes[-2] if len(sizes) > 1 else sizes[-1], sizes[0]
    list_ratio = min(lists[largest]) / min(lists[previous])
    get_ratio = min(gets[largest]) / min(gets[smallest])
    print(
        f"fake_scale: n={largest} list_all_s={min(lists[largest]):.3f} list_ratio={list_ratio:.2f} "
        f"get_ratio={get_ratio:.2f} bytes_per_secret={grown[largest]:.0f}"
    )


if __name__ == "__main__":
    main()
