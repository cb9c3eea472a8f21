"""The example apps with the Redis tier on (``KVCONFIG_REDIS_URL``, ``KVCONFIG_REDIS_KEK``), against a real
redis-server: the settings are served, Redis holds no secret (nor its base64), the health shows the tier, and a second
replica resolves without one vault read of a secret.

Replicas are fresh copies of the example module (their own settings class, resolver, SDK clients, key wrapper and
Redis connection) on one fake vault patched in by the test; the Django replicas are processes, each with its own fake
vault seeded from ``examples/vault.json``, which pins the key-encryption key so that they unwrap each other's data
key as the replicas of one real vault do.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("redis")

import redis

from kvconfig.fake import FakeKeyVault

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "vault.json"
KEK = "https://contoso-app.vault.azure.net/keys/kvconfig-kek"
SECRETS = ("correct-horse-battery-staple", "sk-test-4f9a2c", "django-insecure-example-only-0123456789")
API_KEY_REF = "@Microsoft.KeyVault(VaultName=contoso-app;SecretName=api-key)"


def base64_forms(secret: str) -> set[bytes]:
    """Every base64 (standard and URL-safe) run that encodes the secret wherever it sits in a longer blob."""
    forms = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret.encode())
        core = encoded[4 if shift else 0 : -4]  # the groups holding only the secret's own bytes
        forms |= {core, core.replace(b"+", b"-").replace(b"/", b"_")}
    return forms


def assert_redis_holds_no_secret(url: str) -> int:
    """Scan every key: no secret, nor its base64, in a key or a value. Returns how many keys Redis holds."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter("*"))
        for key in keys:
            stored = key + (client.dump(key) or b"")
            for secret in SECRETS:
                assert secret.encode() not in stored, key
                for form in base64_forms(secret):
                    assert form not in stored, key
        return len(keys)
    finally:
        client.close()


def secret_gets(fake: FakeKeyVault) -> int:
    """Secrets the vault served (a probe for a secret that does not exist, 404, is not one: none is shared)."""
    return len(fake.audit.records(operation="SecretGet", status=200))


def replica(name: str, path: Path) -> ModuleType:
    """A fresh copy of an example module under a name of its own: one replica."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def redis_tier(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("KVCONFIG_REDIS_URL", redis_url)
    monkeypatch.setenv("KVCONFIG_REDIS_KEK", KEK)
    monkeypatch.delenv("KVCONFIG_FAKE_SEED", raising=False)
    return redis_url


@pytest.fixture
def fake() -> Iterator[FakeKeyVault]:
    """The one vault of the replicas, seeded from the examples' seed and patched in."""
    fake = FakeKeyVault()
    fake.seed(SEED)
    with fake.patch():
        yield fake


# -- FastAPI ---------------------------------------------------------------------------------------------------------


def fastapi_client() -> Any:
    pytest.importorskip("fastapi")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient")
        from fastapi.testclient import TestClient
    return TestClient


def test_fastapi_replicas_share_the_sealed_redis_tier(
    redis_tier: str, fake: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_client = fastapi_client()
    monkeypatch.setenv("APP_API_KEY", API_KEY_REF)
    monkeypatch.delenv("APP_EVENTGRID_TOKEN", raising=False)
    path = ROOT / "examples" / "fastapi_app" / "app.py"
    replicas = [replica("fastapi_replica_1", path), replica("fastapi_replica_2", path)]
    served, healths, reads = [], [], []
    try:
        for module in replicas:
            with test_client(module.app) as client:
                served.append(client.get("/").json())
                healths.append(client.get("/health/kvconfig").json())
            assert module.resolver.closed  # by the app's lifespan, with its Redis client, key clients and credential
            reads.append(secret_gets(fake))
    finally:
        for module in replicas:
            module.Settings.model_config["keyvault_resolver"].close()

    assert served == [{"greeting": "hello", "db_password_length": 28, "api_key_set": True}] * 2
    assert reads[0] > 0
    assert reads[1] == reads[0]  # the second replica read every secret from Redis
    assert [health["fleet"]["shared_cache"]["state"] for health in healths] == ["ok", "ok"]
    # db-password and api-key from Redis; the per-field probe for a "greeting" secret (absent: 404) is not shared
    assert healths[1]["fleet"]["shared_cache"]["hits"] == 2
    assert assert_redis_holds_no_secret(redis_tier) > 1
    for health in healths:
        assert not any(secret in json.dumps(health) for secret in SECRETS)


def test_fastapi_app_with_its_own_fake_seed_uses_redis(redis_tier: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline as the docstring runs it: KVCONFIG_FAKE_SEED, a real Redis, the key from the seed."""
    test_client = fastapi_client()
    monkeypatch.setenv("KVCONFIG_FAKE_SEED", str(SEED))
    monkeypatch.setenv("APP_API_KEY", API_KEY_REF)
    module = replica("fastapi_seeded", ROOT / "examples" / "fastapi_app" / "app.py")
    try:
        with test_client(module.app) as client:
            index = client.get("/").json()
            health = client.get("/health/kvconfig").json()
    finally:
        module.Settings.model_config["keyvault_resolver"].close()

    assert index["db_password_length"] == 28
    assert health["fleet"]["shared_cache"]["state"] == "ok"
    assert health["fleet"]["shared_cache"]["vault_reads"] >= 2
    assert assert_redis_holds_no_secret(redis_tier) > 1


# -- Flask -----------------------------------------------------------------------------------------------------------


def test_flask_replicas_share_the_sealed_redis_tier(redis_tier: str, fake: FakeKeyVault) -> None:
    pytest.importorskip("flask")
    path = ROOT / "examples" / "flask_app" / "app.py"
    served, healths, reads = [], [], []
    for name in ("flask_replica_1", "flask_replica_2"):
        module = replica(name, path)
        app = module.create_app()
        try:
            client = app.test_client()
            served.append(client.get("/").json)
            healths.append(client.get("/health").json)
            reads.append(secret_gets(fake))
        finally:
            module.kv.state(app).resolver.close()

    assert served == [{"db_password_length": 28}] * 2
    assert reads[0] > 0
    assert reads[1] == reads[0]
    assert [health["fleet"]["shared_cache"]["state"] for health in healths] == ["ok", "ok"]
    assert healths[1]["fleet"]["shared_cache"]["hits"] >= 1
    assert assert_redis_holds_no_secret(redis_tier) > 1


# -- Django ----------------------------------------------------------------------------------------------------------

DJANGO_REPLICA = """
import json, os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "examples", "django_app"))
os.environ["DJANGO_SETTINGS_MODULE"] = "example_site.settings"
from kvconfig.fake import FakeKeyVault
fake = FakeKeyVault()
fake.seed(os.environ["KVCONFIG_FAKE_SEED"])
with fake.patch():
    import django
    from django.conf import settings
    from django.test import Client
    django.setup()
    health = Client().get("/health").json()
    settings.KVCONFIG_RESOLVER.close()
print(json.dumps({
    "health": health,
    "secret_gets": len(fake.audit.records(operation="SecretGet", status=200)),
    "password_length": len(settings.DATABASES["default"]["PASSWORD"]),
}))
"""


def test_django_replicas_in_two_processes_share_the_sealed_redis_tier(redis_tier: str) -> None:
    pytest.importorskip("django")
    environment = {**os.environ, "KVCONFIG_FAKE_SEED": str(SEED)}
    runs = []
    for _replica in range(2):
        done = subprocess.run(
            [sys.executable, "-c", DJANGO_REPLICA],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert not any(secret in done.stdout + done.stderr for secret in SECRETS)
        runs.append(json.loads(done.stdout.splitlines()[-1]))

    assert [run["password_length"] for run in runs] == [28, 28]
    assert runs[0]["secret_gets"] == 3
    assert runs[1]["secret_gets"] == 0  # its own vault was never asked: every value came from Redis
    assert [run["health"]["fleet"]["shared_cache"]["state"] for run in runs] == ["ok", "ok"]
    assert runs[1]["health"]["fleet"]["shared_cache"]["hits"] == 3
    assert assert_redis_holds_no_secret(redis_tier) > 1
