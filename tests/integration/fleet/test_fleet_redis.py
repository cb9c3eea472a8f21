"""The shared sealed tier against a real redis-server: single flight, nothing in clear, tampering, Redis down,
dead lease holders, invalidation across replicas. Replicas are resolvers with their own SDK clients, credentials and
key wrappers, on one in-process fake vault."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("redis")

import redis
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto.aio import CryptographyClient

from kvconfig import ResolutionError, SecretResolver
from kvconfig.crypto import AsyncAzureKeyWrapper
from kvconfig.fake import FakeAsyncTransport, FakeKeyVault, ManualClock
from kvconfig.fleet import Fleet, RedisSharedCache
from kvconfig.fleet.redis_cache import RedisSharedCache as _Shared

from .conftest import VAULT, VAULT_URL, ref

NAMES = [f"db-{i}" for i in range(6)]


def value_of(name: str, generation: int = 1) -> str:
    return f"plaintext-{name}-gen{generation}-XYZZY"


class GetCounter(FakeAsyncTransport):
    """Counts secret GETs answered 200 per secret name, and unwrapKey calls (an observer of the wire)."""

    def __init__(self, fake: FakeKeyVault, counts: Counter[str]) -> None:
        super().__init__(fake)
        self._counts = counts

    async def send(self, request: Any, **kwargs: Any) -> Any:
        response = await super().send(request, **kwargs)
        path = str(request.url).split("?")[0].split("/", 3)[3]
        if response.status_code == 404 and path.startswith("secrets/") and request.method == "GET":
            self._counts["404:" + path.split("/")[1]] += 1
        if response.status_code == 200:
            if path.startswith("secrets/") and request.method == "GET":
                self._counts["get:" + path.split("/")[1]] += 1
            if path.endswith("/unwrapkey"):
                self._counts["unwrap"] += 1
            if path.endswith("/wrapkey"):
                self._counts["wrap"] += 1
        return response


@pytest.fixture
def fake() -> FakeKeyVault:
    fake = FakeKeyVault(clock=ManualClock(1_750_000_000.0))
    for name in NAMES:
        fake.set_secret(VAULT, name, value_of(name))
    return fake


@pytest.fixture
def kek_id(fake: FakeKeyVault) -> str:
    client = KeyClient(VAULT_URL, fake.credential(), transport=fake.transport())
    key_id: str = client.create_rsa_key("fleet-kek", size=2048).id
    client.close()
    return key_id


@pytest.fixture
def counts() -> Counter[str]:
    return Counter()


@pytest.fixture
def replica(
    fake: FakeKeyVault, kek_id: str, redis_url: str, counts: Counter[str]
) -> Iterator[Callable[..., SecretResolver]]:
    """Build a replica: its own credential, SDK clients, key wrapper, Redis connection and Fleet."""
    made: list[SecretResolver] = []

    def build(url: str = redis_url, **shared_options: Any) -> SecretResolver:
        transport = lambda: GetCounter(fake, counts)  # noqa: E731
        crypto = CryptographyClient(kek_id, fake.async_credential(), transport=transport())
        # Far above a Redis command on a loaded machine (0.5 s timed out there): these replicas must not fall back.
        shared_options.setdefault("op_timeout", 10.0)
        shared = RedisSharedCache(url, AsyncAzureKeyWrapper(crypto), **shared_options)
        resolver = SecretResolver(fake.async_credential(), transport=transport, fleet=Fleet(shared=shared))
        made.append(resolver)
        return resolver

    yield build
    for resolver in made:
        resolver.close()


def settings() -> dict[str, str]:
    return {name.upper().replace("-", "_"): ref(name) for name in NAMES}


def expected(generation: int = 1) -> dict[str, str]:
    return {name.upper().replace("-", "_"): value_of(name, generation) for name in NAMES}


def resolve_concurrently(replicas: list[SecretResolver]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = [{} for _ in replicas]
    barrier = threading.Barrier(len(replicas))

    def run(index: int) -> None:
        barrier.wait()
        results[index] = dict(replicas[index].resolve(settings()))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(replicas))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def scan_redis(url: str) -> dict[bytes, bytes]:
    client = redis.Redis.from_url(url)
    try:
        return {key: client.dump(key) or b"" for key in client.scan_iter("*")}
    finally:
        client.close()


def test_replicas_share_one_read_per_secret_and_redis_holds_no_value(
    replica: Callable[..., SecretResolver], redis_url: str, counts: Counter[str]
) -> None:
    replicas = [replica() for _ in range(6)]
    results = resolve_concurrently(replicas)
    assert results == [expected()] * len(replicas)
    # Single flight across the fleet: each secret was read from the vault once.
    assert {name: counts[f"get:{name}"] for name in NAMES} == dict.fromkeys(NAMES, 1)
    # One data key: wrapped once (the SDK wraps locally with the RSA public key it fetched), and every other replica
    # unwrapped it once through the vault.
    assert counts["wrap"] <= 1
    assert counts["unwrap"] == len(replicas) - 1
    stored = scan_redis(redis_url)
    assert any(key.startswith(b"kvconfig:v:") for key in stored)
    assert b"kvconfig:datakey" in stored
    for key, dumped in stored.items():
        for name in NAMES:
            assert value_of(name).encode() not in dumped, key
            assert value_of(name).encode() not in key
    for resolver in replicas:
        health = resolver.fleet.health() if resolver.fleet else {}
        assert health["shared_cache"]["state"] == "ok"


def test_a_tampered_entry_is_never_served(
    replica: Callable[..., SecretResolver], redis_url: str, counts: Counter[str]
) -> None:
    assert dict(replica().resolve(settings())) == expected()
    client = redis.Redis.from_url(redis_url)
    version_key = next(k for k in client.scan_iter("kvconfig:v:*db-0:*"))
    blob = bytearray(client.get(version_key) or b"")
    blob[-1] ^= 1
    client.set(version_key, bytes(blob))
    client.close()
    second = replica()
    assert dict(second.resolve(settings())) == expected()
    assert counts["get:db-0"] == 2  # read from the vault again instead
    assert second.fleet is not None
    assert second.fleet.health()["shared_cache"]["rejected"] >= 1  # seen, refused, replaced


def test_redis_down_falls_back_to_the_vault_and_says_so(
    replica: Callable[..., SecretResolver], counts: Counter[str]
) -> None:
    with socket_closed_port() as port:
        resolver = replica(f"redis://127.0.0.1:{port}/0", op_timeout=0.3)
        assert dict(resolver.resolve(settings())) == expected()
    assert sum(counts[f"get:{name}"] for name in NAMES) == len(NAMES)
    assert resolver.fleet is not None
    health = resolver.fleet.health()["shared_cache"]
    assert health["state"] == "unavailable"
    assert health["fallbacks"] == len(NAMES)
    assert "XYZZY" not in repr(health)


def test_a_dead_lease_holder_frees_the_lease_by_expiry(
    replica: Callable[..., SecretResolver], redis_url: str, counts: Counter[str]
) -> None:
    resolver = replica(lease=5.0, wait=10.0)
    shared = resolver.fleet.shared if resolver.fleet else None
    assert isinstance(shared, _Shared)
    client = redis.Redis.from_url(redis_url)
    # Another replica took the lease for db-0 and died: the key is left to expire after 700 ms.
    started = time.monotonic()  # before the SET: a descheduled test thread cannot eat into the 700 ms measured
    client.set(shared.key("lease", VAULT_URL, "db-0"), b"dead-replica", px=700)
    client.close()
    assert resolver.resolve_value(ref("db-0")) == value_of("db-0")
    assert time.monotonic() - started >= 0.5
    assert counts["get:db-0"] == 1


def test_a_new_version_announced_by_one_replica_reaches_every_replica_once(
    replica: Callable[..., SecretResolver], fake: FakeKeyVault, counts: Counter[str]
) -> None:
    first, second, third = replica(), replica(), replica()
    heard: list[frozenset[str]] = []
    second.add_listener(lambda event: heard.append(event.changed))
    for resolver in (first, second, third):
        resolver.resolve(settings())
    for resolver in (second, third):  # subscribed (on their loops) by their first read
        assert resolver.fleet is not None
        assert resolver.fleet.channel is not None
        assert wait_until(resolver.fleet.channel.listening.is_set)
    fake.set_secret(VAULT, "db-3", value_of("db-3", 2))
    first.invalidate(VAULT_URL, "db-3")  # what the Event Grid webhook does on SecretNewVersionCreated
    first.refresh()
    assert first.values["DB_3"] == value_of("db-3", 2)
    assert wait_until(lambda: second.values["DB_3"] == value_of("db-3", 2))
    assert wait_until(lambda: third.values["DB_3"] == value_of("db-3", 2))
    assert heard == [frozenset({"DB_3"})]
    # One vault read of the new version for the whole fleet (the first one's two reads: before and after).
    assert counts["get:db-3"] == 2


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class socket_closed_port:
    """A loopback port nobody listens on, for as long as the block runs."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        port: int = self._sock.getsockname()[1]
        return port  # bound but not listening: connections are refused

    def __exit__(self, *args: object) -> None:
        self._sock.close()


def _statuses(resolver: SecretResolver, settings: dict[str, str]) -> dict[str, str]:
    with pytest.raises(ResolutionError) as raised:
        resolver.resolve(settings)
    return {failure.setting: failure.status for failure in raised.value.failures}


def test_a_name_the_vault_does_not_hold_is_read_once_for_the_fleet_and_forgotten_on_a_new_version(
    replica: Callable[..., SecretResolver], redis_url: str, counts: Counter[str], fake: FakeKeyVault
) -> None:
    wanted = {"ABSENT": ref("absent"), "DB_0": ref("db-0")}
    replicas = [replica() for _ in range(4)]
    for resolver in replicas:
        assert _statuses(resolver, wanted) == {"ABSENT": "SecretNotFound"}
    assert counts["404:absent"] == 1  # the first replica's read; the others met the sealed marker
    hits = [resolver.fleet.health()["shared_cache"]["missing_hits"] for resolver in replicas if resolver.fleet]
    assert sorted(hits) == [0, 1, 1, 1]
    marker = [key for key in scan_redis(redis_url) if key.startswith(b"kvconfig:missing:")]
    assert len(marker) == 1
    # A new version announced on the channel (what the Event Grid webhook does) drops the marker at once.
    fake.set_secret(VAULT, "absent", "now-here-XYZZY")
    replicas[0].invalidate(VAULT_URL, "absent")
    assert wait_until(lambda: not [key for key in scan_redis(redis_url) if key.startswith(b"kvconfig:missing:")])
    assert replicas[1].resolve_value(ref("absent")) == "now-here-XYZZY"


def test_a_planted_missing_marker_cannot_hide_a_secret(
    replica: Callable[..., SecretResolver], redis_url: str, counts: Counter[str]
) -> None:
    resolver = replica()
    shared = resolver.fleet.shared if resolver.fleet else None
    assert isinstance(shared, _Shared)
    client = redis.Redis.from_url(redis_url)
    client.set(shared.key("missing", VAULT_URL, "db-0"), b"\x00" * 40, px=60_000)
    client.close()
    assert resolver.resolve_value(ref("db-0")) == value_of("db-0")
    assert counts["get:db-0"] == 1
