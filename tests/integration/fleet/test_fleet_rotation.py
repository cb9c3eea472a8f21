"""Changing the shared tier's data key against a real redis-server: re-wrapping it under a new version of the
key-encryption key keeps every entry; replacing it retires the entries, and a replica still holding the old key in
memory never seals under it. Replicas are resolvers with their own SDK clients on one in-process fake vault."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

pytest.importorskip("redis")

import redis
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto.aio import CryptographyClient

from kvconfig import SecretResolver
from kvconfig.crypto import AsyncAzureKeyWrapper, LocalKeyWrapper, generate_key
from kvconfig.fake import FakeKeyVault, ManualClock
from kvconfig.fleet import DataKeyError, Fleet, RedisSharedCache
from kvconfig.fleet.rotation import rewrap_data_key
from kvconfig.fleet.sealing import secret_bytes
from kvconfig.references import parse_reference
from kvconfig.resolve import CachedSecret

from .conftest import VAULT, VAULT_URL, ref
from .test_fleet_redis import GetCounter

NAMES = [f"rot-{i}" for i in range(4)]
KEK_URL = f"{VAULT_URL}/keys/fleet-kek"
T = TypeVar("T")


def value_of(name: str) -> str:
    return f"rotation-plaintext-{name}-QUUX"


@pytest.fixture
def fake() -> FakeKeyVault:
    fake = FakeKeyVault(clock=ManualClock(1_750_000_000.0))
    for name in NAMES:
        fake.set_secret(VAULT, name, value_of(name))
    return fake


@pytest.fixture
def keys(fake: FakeKeyVault) -> Iterator[KeyClient]:
    client = KeyClient(VAULT_URL, fake.credential(), transport=fake.transport())
    client.create_rsa_key("fleet-kek", size=2048)
    yield client
    client.close()


@pytest.fixture
def counts() -> Counter[str]:
    return Counter()


def wrapper(fake: FakeKeyVault, counts: Counter[str], key_url: str = KEK_URL) -> AsyncAzureKeyWrapper:
    """A versionless key's wrapper (its current version wraps) that unwraps any version through ``client_factory``."""
    credential = fake.async_credential()

    def client(kid: str) -> CryptographyClient:
        return CryptographyClient(kid, credential, transport=GetCounter(fake, counts))

    return AsyncAzureKeyWrapper(client(key_url), client_factory=client)


@pytest.fixture
def replica(
    fake: FakeKeyVault, keys: KeyClient, redis_url: str, counts: Counter[str]
) -> Iterator[Callable[[], SecretResolver]]:
    made: list[SecretResolver] = []

    def build() -> SecretResolver:
        shared = RedisSharedCache(redis_url, wrapper(fake, counts), op_timeout=10.0)
        transport = lambda: GetCounter(fake, counts)  # noqa: E731
        resolver = SecretResolver(fake.async_credential(), transport=transport, fleet=Fleet(shared=shared))
        made.append(resolver)
        return resolver

    yield build
    for resolver in made:
        resolver.close()


def settings() -> dict[str, str]:
    return {name: ref(name) for name in NAMES}


def expected() -> dict[str, str]:
    return {name: value_of(name) for name in NAMES}


def vault_reads(counts: Counter[str]) -> int:
    return sum(counts[f"get:{name}"] for name in NAMES)


def with_cache(
    fake: FakeKeyVault, counts: Counter[str], url: str, action: Callable[[RedisSharedCache], Awaitable[T]]
) -> T:
    """Run ``action`` on a RedisSharedCache of its own (what ``kvconfig fleet rotate`` does), on a loop of its own."""

    async def run() -> T:
        cache = RedisSharedCache(url, wrapper(fake, counts))
        try:
            return await action(cache)
        finally:
            await cache.aclose()

    return asyncio.run(run())


def entries(url: str) -> dict[bytes, bytes]:
    client = redis.Redis.from_url(url)
    try:
        return {key: client.get(key) or b"" for key in client.scan_iter("kvconfig:*") if not key.endswith(b"datakey")}
    finally:
        client.close()


def shared_health(resolver: SecretResolver) -> dict[str, Any]:
    assert resolver.fleet is not None
    health: dict[str, Any] = resolver.fleet.health()["shared_cache"]
    return health


def test_rewrap_under_a_new_key_version_keeps_every_entry_and_the_old_version_can_be_disabled(
    replica: Callable[[], SecretResolver],
    fake: FakeKeyVault,
    keys: KeyClient,
    redis_url: str,
    counts: Counter[str],
) -> None:
    first = replica()
    assert dict(first.resolve(settings())) == expected()
    old_version = keys.get_key("fleet-kek").properties.version
    new_version = keys.rotate_key("fleet-kek").properties.version
    before = entries(redis_url)

    change = with_cache(fake, counts, redis_url, lambda cache: cache.rewrap())

    assert change.wrapped_by == f"{KEK_URL}/{new_version}"
    assert change.previous_wrapped_by == f"{KEK_URL}/{old_version}"
    assert change.data_key_id == change.previous_data_key_id
    assert not change.new_data_key
    assert entries(redis_url) == before  # not one entry touched
    keys.update_key_properties("fleet-kek", old_version, enabled=False)
    reads = vault_reads(counts)
    second = replica()
    assert dict(second.resolve(settings())) == expected()
    assert vault_reads(counts) == reads  # every value came from Redis, opened with the same data key
    assert shared_health(second)["unwraps"] == 1  # through the new version: the old one is disabled
    assert shared_health(second)["state"] == "ok"


def test_rotate_data_key_drops_the_entries_and_a_replica_holding_the_old_key_seals_under_the_new_one(
    replica: Callable[[], SecretResolver], fake: FakeKeyVault, redis_url: str, counts: Counter[str]
) -> None:
    holder = replica()
    assert dict(holder.resolve(settings())) == expected()
    assert len(entries(redis_url)) == 2 * len(NAMES)  # a version and a latest pointer each

    change = with_cache(fake, counts, redis_url, lambda cache: cache.rotate_data_key())

    assert change.new_data_key
    assert change.previous_data_key_id is not None
    assert change.entries_dropped == 2 * len(NAMES)
    assert entries(redis_url) == {}
    # The holder still has the old key in memory; its refresh reads the vault (the entries are gone) and stores:
    # it must adopt the new key first, so a new replica opens every entry without a vault read.
    reads = vault_reads(counts)
    unwraps = shared_health(holder)["unwraps"]
    assert dict(holder.refresh()) == expected()
    assert vault_reads(counts) == reads + len(NAMES)
    assert shared_health(holder)["unwraps"] == unwraps + 1
    stored = entries(redis_url)
    assert stored
    assert all(blob[:8] == bytes.fromhex(change.data_key_id) for blob in stored.values())
    newcomer = replica()
    assert dict(newcomer.resolve(settings())) == expected()
    assert vault_reads(counts) == reads + len(NAMES)


def test_rotate_without_dropping_leaves_entries_that_count_as_stale_misses(
    replica: Callable[[], SecretResolver], fake: FakeKeyVault, redis_url: str, counts: Counter[str]
) -> None:
    assert dict(replica().resolve(settings())) == expected()

    change = with_cache(fake, counts, redis_url, lambda cache: cache.rotate_data_key(drop_entries=False))

    assert change.entries_dropped == 0
    assert len(entries(redis_url)) == 2 * len(NAMES)
    reads = vault_reads(counts)
    newcomer = replica()
    assert dict(newcomer.resolve(settings())) == expected()
    assert vault_reads(counts) == reads + len(NAMES)  # the old entries never open: read once each, sealed anew
    assert shared_health(newcomer)["stale"] >= len(NAMES)
    assert shared_health(newcomer)["rejected"] == 0
    assert all(blob[:8] == bytes.fromhex(change.data_key_id) for blob in entries(redis_url).values())


def test_rewrap_without_a_record_says_so(
    fake: FakeKeyVault, keys: KeyClient, redis_url: str, counts: Counter[str]
) -> None:
    with pytest.raises(DataKeyError, match="no data key record at kvconfig:datakey"):
        with_cache(fake, counts, redis_url, lambda cache: cache.rewrap())


def test_a_record_changed_during_the_rewrap_is_not_overwritten(redis_url: str) -> None:
    local = LocalKeyWrapper(generate_key("RSA", size=2048), "https://contoso.vault.azure.net/keys/local/v1")
    client = redis.Redis.from_url(redis_url)

    class Racing:
        """A wrapper during whose wrap another rotation stores its record (a real concurrent write to Redis)."""

        key_id, algorithm = local.key_id, local.algorithm

        def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes:
            return local.unwrap_key(key_id, algorithm, wrapped)

        def wrap_key(self, key: bytes) -> bytes:
            client.set("kvconfig:datakey", b'{"written": "by another rotation"}')
            return local.wrap_key(key)

        def sign_digest(self, digest: bytes) -> tuple[str, bytes]:
            return local.sign_digest(digest)

        def verify_digest(self, key_id: str, algorithm: str, digest: bytes, signature: bytes) -> bool:
            return local.verify_digest(key_id, algorithm, digest, signature)

    async def run() -> None:
        cache = RedisSharedCache(redis_url, local)
        try:
            await cache.data_key()  # the first replica makes the record
            await rewrap_data_key(cache.client, cache.record_key, local, Racing())
        finally:
            await cache.aclose()

    with pytest.raises(DataKeyError, match="changed while it was being replaced; nothing was written"):
        asyncio.run(run())
    assert client.get("kvconfig:datakey") == b'{"written": "by another rotation"}'
    client.close()


def test_replicas_refreshing_together_after_a_rotation_all_seal_under_the_new_key(
    replica: Callable[[], SecretResolver], fake: FakeKeyVault, redis_url: str, counts: Counter[str]
) -> None:
    holders = [replica() for _ in range(4)]
    for holder in holders:
        assert dict(holder.resolve(settings())) == expected()
    change = with_cache(fake, counts, redis_url, lambda cache: cache.rotate_data_key())
    reads = vault_reads(counts)

    barrier = threading.Barrier(len(holders))
    results: list[dict[str, Any]] = [{} for _ in holders]

    def refresh(index: int) -> None:
        barrier.wait()
        results[index] = dict(holders[index].refresh())

    threads = [threading.Thread(target=refresh, args=(i,)) for i in range(len(holders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert results == [expected()] * len(holders)
    assert vault_reads(counts) == reads + len(NAMES)  # still one read per secret for the fleet, under the lease
    assert all(blob[:8] == bytes.fromhex(change.data_key_id) for blob in entries(redis_url).values())
    assert sum(shared_health(holder)["state"] == "ok" for holder in holders) == len(holders)


def test_a_replica_still_holding_the_retired_key_never_opens_entries_planted_under_it(redis_url: str) -> None:
    """The data key was replaced because it leaked: whoever holds it writes entries under it into Redis. A replica
    that has not met the new key yet still has the old one in memory; it must not trust it (nor a 'missing' marker
    sealed under it), since the record no longer names it."""
    wrapper = LocalKeyWrapper(generate_key("RSA", size=2048), "https://contoso.vault.azure.net/keys/local/v1")
    reference = parse_reference(ref("planted"))
    host, name = "contoso.vault.azure.net", "planted"

    async def fetch() -> CachedSecret:
        return CachedSecret(vault_url=VAULT_URL, name=name, version="v1", value="from-the-vault")

    async def run() -> tuple[list[str], dict[str, Any]]:
        replica, rotator = RedisSharedCache(redis_url, wrapper), RedisSharedCache(redis_url, wrapper)
        try:
            assert (await replica.get_or_fetch(reference, fetch)).value == "from-the-vault"
            leaked = await replica.data_key()
            await rotator.rotate_data_key()
            planted = CachedSecret(vault_url=VAULT_URL, name=name, version="evil", value="planted-value")
            writes = {
                replica.key("latest", reference): leaked.seal("kvconfig", "latest", (host, name), b"evil"),
                replica.key("v", reference, version="evil"): leaked.seal(
                    "kvconfig", "value", (host, name, "evil"), secret_bytes(planted)
                ),
            }
            await replica.client.mset(writes)  # type: ignore[arg-type]
            first = (await replica.get_or_fetch(reference, fetch)).value
            marker = leaked.seal("kvconfig", "missing", (host, name, "-"), b"404")
            await replica.client.delete(replica.key("latest", reference))
            await replica.client.set(replica.key("missing", reference), marker)
            second = (await replica.get_or_fetch(reference, fetch)).value
            return [first, second], replica.health()
        finally:
            await replica.aclose()
            await rotator.aclose()

    values, health = asyncio.run(run())
    assert values == ["from-the-vault", "from-the-vault"]
    assert health["stale"] >= 2
    assert health["missing_hits"] == 0
