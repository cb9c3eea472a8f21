"""The FastAPI Event Grid router feeding the Redis invalidation channel: an authenticated ``SecretNewVersionCreated``
POST on one replica refreshes that secret on every replica, once; routine refreshes announce nothing. Replicas are
FastAPI apps with their own ``KvConfig``, resolver, SDK clients, key wrapper and Redis connection, against a real
redis-server and one in-process fake vault."""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

pytest.importorskip("redis")
pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto.aio import CryptographyClient
from fastapi import Depends, FastAPI

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient")
    from fastapi.testclient import TestClient
from kvconfig_fastapi import SECRET_NEW_VERSION_CREATED, KvConfig, RefreshOutcome
from pydantic import SecretStr

from kvconfig import SecretResolver
from kvconfig.crypto import AsyncAzureKeyWrapper
from kvconfig.fake import FakeAsyncTransport, FakeKeyVault
from kvconfig.fleet import Fleet, RedisSharedCache
from kvconfig.settings import KeyVaultSettings, KeyVaultSettingsConfigDict

from .conftest import VAULT, VAULT_URL, ref

TOKEN = "event-grid-shared-secret-0123"


class SecretGets(FakeAsyncTransport):
    """Counts the secret GETs the vault answered 200, per secret name (an observer of the wire)."""

    def __init__(self, fake: FakeKeyVault, counts: Counter[str]) -> None:
        super().__init__(fake)
        self._counts = counts

    async def send(self, request: Any, **kwargs: Any) -> Any:
        response = await super().send(request, **kwargs)
        path = str(request.url).split("?")[0].split("/", 3)[3]
        if response.status_code == 200 and request.method == "GET" and path.startswith("secrets/"):
            self._counts[path.split("/")[1]] += 1
        return response


class Replica:
    """One replica: a FastAPI app whose ``KvConfig`` shares a fleet resolver, and what its listeners heard."""

    def __init__(self, fake: FakeKeyVault, kek_id: str, redis_url: str, counts: Counter[str]) -> None:
        transport = lambda: SecretGets(fake, counts)  # noqa: E731
        crypto = CryptographyClient(kek_id, fake.async_credential(), transport=transport())
        shared = RedisSharedCache(redis_url, AsyncAzureKeyWrapper(crypto), op_timeout=10.0)
        self.resolver = SecretResolver(fake.async_credential(), transport=transport, fleet=Fleet(shared=shared))

        class Settings(KeyVaultSettings):
            model_config = KeyVaultSettingsConfigDict(env_prefix="APP_", keyvault_resolver=self.resolver)

            db_password: SecretStr
            api_key: SecretStr

        self.kv = KvConfig(Settings, refresh_interval=None, event_interval=0)
        self.changes: list[frozenset[str]] = []
        self.kv.on_change(lambda _settings, outcome: self.changes.append(outcome.changed))
        self.app = FastAPI(lifespan=self.kv.lifespan)
        self.app.include_router(self.kv.eventgrid_router(token=TOKEN))
        kv = self.kv

        @self.app.get("/password")
        def password(settings: Any = Depends(kv.settings)) -> dict[str, str]:  # noqa: B008
            return {"password": settings.db_password.get_secret_value()}

    def received(self) -> int:
        assert self.resolver.fleet is not None
        count: int = self.resolver.fleet.health()["invalidations_received"]
        return count

    def listening(self) -> bool:
        fleet = self.resolver.fleet
        return isinstance(fleet, Fleet) and fleet.channel is not None and fleet.channel.listening.is_set()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeKeyVault:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "db-password", "generation-1-XYZZY")
    fake.set_secret(VAULT, "api-key", "api-key-XYZZY")
    monkeypatch.setenv("APP_DB_PASSWORD", ref("db-password"))
    monkeypatch.setenv("APP_API_KEY", ref("api-key"))
    return fake


@pytest.fixture
def replicas(fake: FakeKeyVault, redis_url: str) -> Iterator[tuple[list[Replica], list[TestClient], Counter[str]]]:
    keys = KeyClient(VAULT_URL, fake.credential(), transport=fake.transport())
    kek_id = keys.create_rsa_key("fleet-kek", size=2048).id
    keys.close()
    assert kek_id is not None
    counts: Counter[str] = Counter()
    made = [Replica(fake, kek_id, redis_url, counts) for _ in range(3)]
    with ExitStack() as stack:
        clients = [stack.enter_context(TestClient(replica.app)) for replica in made]
        for replica in made:
            stack.callback(replica.resolver.close)
        assert wait_until(lambda: all(replica.listening() for replica in made))
        yield made, clients, counts


def new_version_event(name: str, version: str) -> list[dict[str, object]]:
    data = {"Id": f"{VAULT_URL}/secrets/{name}/{version}", "VaultName": VAULT, "ObjectName": name, "Version": version}
    return [{"id": "1", "eventType": SECRET_NEW_VERSION_CREATED, "subject": name, "data": data, "dataVersion": "1"}]


def test_a_new_version_event_on_one_replica_refreshes_that_secret_on_every_replica_once(
    replicas: tuple[list[Replica], list[TestClient], Counter[str]], fake: FakeKeyVault
) -> None:
    made, clients, counts = replicas
    assert counts == {"db-password": 1, "api-key": 1}  # single flight at start-up, across the three
    version = fake.set_secret(VAULT, "db-password", "generation-2-XYZZY")

    answer = clients[0].post(f"/events/keyvault?token={TOKEN}", json=new_version_event("db-password", version))

    assert answer.json() == {"refreshed": True, "ok": True, "changed": ["db_password"]}
    assert clients[0].get("/password").json() == {"password": "generation-2-XYZZY"}
    for client in clients[1:]:
        assert wait_until(lambda c=client: c.get("/password").json() == {"password": "generation-2-XYZZY"})
    time.sleep(0.3)  # time for any echo or second refresh to show
    assert [replica.changes for replica in made] == [[frozenset({"db_password"})]] * 3
    assert [replica.received() for replica in made] == [0, 1, 1]  # the announcement, heard once by the others
    # One read of the new version for the whole fleet; the secret that did not change was not read again.
    assert counts == {"db-password": 2, "api-key": 1}


def test_an_unauthenticated_event_announces_nothing(
    replicas: tuple[list[Replica], list[TestClient], Counter[str]], fake: FakeKeyVault
) -> None:
    made, clients, counts = replicas
    version = fake.set_secret(VAULT, "db-password", "generation-2-XYZZY")

    answer = clients[0].post("/events/keyvault?token=wrong", json=new_version_event("db-password", version))

    assert answer.status_code == 401
    time.sleep(0.3)
    assert [replica.received() for replica in made] == [0, 0, 0]
    assert all(client.get("/password").json() == {"password": "generation-1-XYZZY"} for client in clients)
    assert counts == {"db-password": 1, "api-key": 1}


def test_a_routine_refresh_announces_nothing_to_the_other_replicas(
    replicas: tuple[list[Replica], list[TestClient], Counter[str]],
) -> None:
    made, clients, _counts = replicas

    outcome: RefreshOutcome = clients[0].portal.call(made[0].kv.refresh)  # what the background refresh does

    assert outcome.ok
    time.sleep(0.3)
    assert [replica.received() for replica in made] == [0, 0, 0]


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
