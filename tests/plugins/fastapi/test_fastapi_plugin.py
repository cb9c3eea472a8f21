"""kvconfig_fastapi through FastAPI's TestClient, on the fake Key Vault (patched in by ``fake_keyvault``)."""

import time
from typing import Annotated

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

import warnings

from fastapi import Depends, FastAPI

with warnings.catch_warnings():
    # Starlette >= 0.47 prefers "httpx2" for its TestClient and warns when it falls back to httpx.
    warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient")
    from fastapi.testclient import TestClient
from kvconfig_fastapi import SECRET_NEW_VERSION_CREATED, SUBSCRIPTION_VALIDATION, KvConfig
from pydantic import SecretStr

from kvconfig import ResolutionError, SecretResolver
from kvconfig.fake import FakeKeyVault
from kvconfig.settings import KeyVaultSettings, KeyVaultSettingsConfigDict

VAULT = "https://myvault.vault.azure.net"
TOKEN = "t0ken-shared-with-event-grid"


class Settings(KeyVaultSettings):
    model_config = KeyVaultSettingsConfigDict(env_prefix="APP_", keyvault_url=VAULT)

    db_password: SecretStr
    greeting: str = "hello"


def make_app(kv: KvConfig[Settings], *, token: str = TOKEN) -> FastAPI:
    app = FastAPI(lifespan=kv.lifespan)
    app.include_router(kv.health_router())
    app.include_router(kv.eventgrid_router(token=token))

    @app.get("/password")
    def password(settings: Annotated[Settings, Depends(kv.settings)]) -> dict[str, str]:
        return {"password": settings.db_password.get_secret_value(), "greeting": settings.greeting}

    return app


def new_version_event(name: str, version: str) -> dict[str, object]:
    return {
        "id": "1",
        "eventType": SECRET_NEW_VERSION_CREATED,
        "subject": name,
        "data": {
            "Id": f"{VAULT}/secrets/{name}/{version}",
            "VaultName": "myvault",
            "ObjectType": "Secret",
            "ObjectName": name,
            "Version": version,
        },
        "dataVersion": "1",
    }


@pytest.mark.keyvault_secrets({"myvault": {"db-password": "v1"}})
def test_lifespan_loads_settings_and_dependency_serves_them(fake_keyvault: FakeKeyVault) -> None:
    kv = KvConfig(Settings, refresh_interval=None)

    with TestClient(make_app(kv)) as client:
        assert client.get("/password").json() == {"password": "v1", "greeting": "hello"}
        health = client.get("/health/kvconfig").json()

    assert health["status"] == "ok"
    assert health["references"] == 1
    assert "v1" not in str(health)


@pytest.mark.keyvault_secrets({"myvault": {"db-password": "v1"}})
def test_each_start_up_loads_the_settings_again(fake_keyvault: FakeKeyVault) -> None:
    kv = KvConfig(Settings, refresh_interval=None)
    app = make_app(kv)
    with TestClient(app) as client:
        assert client.get("/password").json()["password"] == "v1"
    assert kv.health() == {"status": "not-loaded"}
    assert TestClient(app).get("/password").status_code == 503  # no lifespan: not loaded

    fake_keyvault.set_secret("myvault", "db-password", "v2")
    with TestClient(app) as client:
        assert client.get("/password").json()["password"] == "v2"
        assert client.portal.call(kv.refresh).ok  # type: ignore[union-attr]  # a lock made in this loop


def test_startup_fails_with_every_bad_reference(fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_GREETING", "@Microsoft.KeyVault(VaultName=myvault;SecretName=missing)")
    kv = KvConfig(Settings, refresh_interval=None)

    with pytest.raises(ResolutionError) as caught, TestClient(make_app(kv)):
        pass

    settings = {failure.setting for failure in caught.value.failures}
    assert "greeting" in settings


@pytest.mark.keyvault_secrets({"myvault": {"db-password": "v1"}})
def test_background_refresh_swaps_in_new_settings_and_stops_on_shutdown(fake_keyvault: FakeKeyVault) -> None:
    kv = KvConfig(Settings, refresh_interval=0.05)
    changes: list[frozenset[str]] = []
    kv.on_change(lambda settings, outcome: changes.append(outcome.changed))

    with TestClient(make_app(kv)) as client:
        fake_keyvault.set_secret("myvault", "db-password", "v2")
        deadline = time.monotonic() + 30
        while client.get("/password").json()["password"] != "v2" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.get("/password").json()["password"] == "v2"
        assert client.get("/health/kvconfig").json()["last_refresh_ok"] is True

    assert kv._task is None
    assert changes[0] == {f"{VAULT}/secrets/db-password"}


@pytest.mark.keyvault_secrets({"myvault": {"db-password": "v1"}})
def test_failed_refresh_keeps_settings_and_reports_failing_health(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_GREETING", "@Microsoft.KeyVault(VaultName=myvault;SecretName=db-password)")
    kv = KvConfig(Settings, refresh_interval=None)

    with TestClient(make_app(kv)) as client:
        monkeypatch.setenv("APP_GREETING", "@Microsoft.KeyVault(VaultName=myvault;SecretName=gone)")
        outcome = client.portal.call(kv.refresh)  # type: ignore[union-attr]
        health = client.get("/health/kvconfig")

        assert outcome.ok is False
        assert health.status_code == 503
        assert health.json()["failures"][0]["status"] == "SecretNotFound"
        assert client.get("/password").json()["greeting"] == "v1"
    assert "v1" not in health.text


@pytest.mark.keyvault_secrets({"myvault": {"db-password": "v1"}})
def test_eventgrid_handshake_and_new_version_event_refresh_at_once(fake_keyvault: FakeKeyVault) -> None:
    with SecretResolver() as resolver:

        class Shared(Settings):
            model_config = KeyVaultSettingsConfigDict(keyvault_resolver=resolver)

        kv = KvConfig(Shared, refresh_interval=None)
        with TestClient(make_app(kv, token="t0ken")) as client:  # type: ignore[arg-type]
            validation = [{"id": "1", "eventType": SUBSCRIPTION_VALIDATION, "data": {"validationCode": "abc-123"}}]
            assert client.post("/events/keyvault?token=t0ken", json=validation).json() == {
                "validationResponse": "abc-123"
            }
            assert client.post("/events/keyvault", json=validation).status_code == 401

            options = client.options("/events/keyvault?token=t0ken", headers={"WebHook-Request-Origin": "eg.azure"})
            assert options.headers["WebHook-Allowed-Origin"] == "eg.azure"

            version = fake_keyvault.set_secret("myvault", "db-password", "v2")
            answer = client.post("/events/keyvault?token=t0ken", json=[new_version_event("db-password", version)])
            assert answer.json()["refreshed"] is True
            assert client.get("/password").json()["password"] == "v2"

            other = client.post("/events/keyvault?token=t0ken", json=[new_version_event("unrelated", version)])
            assert other.json() == {"refreshed": False}


@pytest.mark.keyvault_secrets({"myvault": {"db-password": "v1"}})
def test_new_version_event_with_a_resolver_factory_refreshes_to_the_new_version(fake_keyvault: FakeKeyVault) -> None:
    made: list[SecretResolver] = []

    def factory() -> SecretResolver:
        made.append(SecretResolver(ttl=3600))  # a cache that would hide the new version if it outlived the load
        return made[-1]

    class Factory(Settings):
        model_config = KeyVaultSettingsConfigDict(keyvault_resolver=factory)

    kv = KvConfig(Factory, refresh_interval=None)
    with TestClient(make_app(kv)) as client:  # type: ignore[arg-type]
        version = fake_keyvault.set_secret("myvault", "db-password", "v2")
        assert kv.invalidate(VAULT, "db-password") is True  # nothing to forget: no resolver outlives its load

        answer = client.post(f"/events/keyvault?token={TOKEN}", json=[new_version_event("db-password", version)])

        assert answer.json() == {"refreshed": True, "ok": True, "changed": [f"{VAULT}/secrets/db-password"]}
        assert client.get("/password").json()["password"] == "v2"
    assert len(made) == 2
    assert all(resolver.closed for resolver in made)


def test_dependency_before_start_is_service_unavailable() -> None:
    kv = KvConfig(Settings, refresh_interval=None)
    app = FastAPI()

    @app.get("/s")
    def read(settings: Annotated[Settings, Depends(kv.settings)]) -> str:
        return settings.greeting

    assert TestClient(app).get("/s").status_code == 503
    assert kv.health() == {"status": "not-loaded"}
