"""The fleet built from environment variables against a real redis-server and the fake vault (patched in, as an
app meets it): it resolves through the sealed tier, and closing the resolver closes what the function opened (the
Redis connections, the key clients, the credential it made) but not a credential the caller gave."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("redis")

import redis
from azure.identity.aio import DefaultAzureCredential
from azure.keyvault.keys.crypto.aio import CryptographyClient

from kvconfig import SecretResolver
from kvconfig.fake import FakeKeyVault
from kvconfig.fleet import VaultBudget, fleet_from_environment, resolver_from_environment

from .conftest import VAULT_URL, patched_vault_with_kek, ref

VALUE = "environment-fleet-plaintext-QUUX"


@pytest.fixture
def fake() -> Iterator[FakeKeyVault]:
    with patched_vault_with_kek(VALUE) as fake:
        yield fake


@pytest.fixture
def closed(fake: FakeKeyVault, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[object]]:
    """Which SDK key clients and credentials were closed (their own close still runs). Set after the fake's patch,
    which gives each credential made under it a close of its own, and undone before the patch ends."""
    seen: dict[str, list[object]] = {"key clients": [], "credentials": []}
    close_client, init_credential = CryptographyClient.close, DefaultAzureCredential.__init__

    async def client_closing(self: CryptographyClient) -> None:
        seen["key clients"].append(self)
        await close_client(self)

    def credential_made(self: DefaultAzureCredential, *args: Any, **kwargs: Any) -> None:
        init_credential(self, *args, **kwargs)
        own_close = self.close

        async def credential_closing() -> None:
            seen["credentials"].append(self)
            await own_close()

        self.close = credential_closing  # type: ignore[method-assign]

    monkeypatch.setattr(CryptographyClient, "close", client_closing)
    monkeypatch.setattr(DefaultAzureCredential, "__init__", credential_made)
    return seen


def connections(admin: redis.Redis) -> int:
    return int(admin.info("clients")["connected_clients"])


def settle(admin: redis.Redis, expected: int) -> int:
    """Redis counts a closed connection once it has read the close: wait a little for it."""
    deadline = time.monotonic() + 30
    while connections(admin) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return connections(admin)


def test_a_resolver_from_the_environment_shares_redis_and_closes_what_it_opened(
    fake: FakeKeyVault, redis_url: str, closed: dict[str, list[object]]
) -> None:
    environ = {
        "KVCONFIG_REDIS_URL": redis_url,
        "KVCONFIG_REDIS_KEK": f"{VAULT_URL}/keys/fleet-kek",
        "KVCONFIG_REDIS_NAMESPACE": "orders.prod",
        "KVCONFIG_FLEET_REPLICAS": "40",
    }
    admin = redis.Redis.from_url(redis_url)
    baseline = connections(admin)
    first = resolver_from_environment(environ=environ)
    second = resolver_from_environment(environ=environ)
    assert first is not None
    assert second is not None
    try:
        assert first.resolve_value(ref("db")) == VALUE
        assert second.resolve_value(ref("db")) == VALUE
        assert connections(admin) > baseline
        assert admin.exists("orders.prod:datakey")
        health = [resolver.fleet.health()["shared_cache"] for resolver in (first, second)]  # type: ignore[attr-defined]
        assert [(tier["vault_reads"], tier["hits"]) for tier in health] == [(1, 0), (0, 1)]
        assert first.fleet.budget.rate == VaultBudget.share_of(replicas=40).rate  # type: ignore[attr-defined]
    finally:
        first.close()
        second.close()

    assert settle(admin, baseline) == baseline
    assert len(closed["key clients"]) >= 2  # each resolver's key client (and any version it opened)
    assert len(closed["credentials"]) == 2  # the DefaultAzureCredential each one made
    admin.close()


def test_a_credential_the_caller_gives_is_used_and_left_open(
    fake: FakeKeyVault, redis_url: str, closed: dict[str, list[object]]
) -> None:
    credential = fake.async_credential()
    environ = {"KVCONFIG_REDIS_URL": redis_url, "KVCONFIG_REDIS_KEK": f"{VAULT_URL}/keys/fleet-kek"}
    with SecretResolver(credential, fleet=fleet_from_environment(credential, environ=environ)) as resolver:
        assert resolver.resolve_value(ref("db")) == VALUE

    assert closed["key clients"]
    assert credential not in closed["credentials"]
