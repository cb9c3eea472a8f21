"""The Event Grid router: authenticated by default, bounded input, and coalesced secret refreshes."""

from __future__ import annotations

import time
import warnings
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("jwt")

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient")
    from fastapi.testclient import TestClient
from kvconfig_fastapi import EVENT_GRID_APP_ID, SECRET_NEW_VERSION_CREATED, EntraIdToken, KvConfig
from pydantic import SecretStr

from kvconfig.fake import FakeKeyVault
from kvconfig.settings import KeyVaultSettings, KeyVaultSettingsConfigDict

VAULT = "https://myvault.vault.azure.net"
TOKEN = "s3cret-shared-with-event-grid"
SECRETS = {"myvault": {"db-password": "v1", "api": "a1", "smtp": "m1", "queue": "q1"}}


class Settings(KeyVaultSettings):
    model_config = KeyVaultSettingsConfigDict(env_prefix="APP_", keyvault_url=VAULT)

    db_password: SecretStr  # per-field secret db-password
    api_key: str = ""
    smtp_password: str = ""
    queue_key: str = ""


@pytest.fixture
def references(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting, secret in {"API_KEY": "api", "SMTP_PASSWORD": "smtp", "QUEUE_KEY": "queue"}.items():
        monkeypatch.setenv(f"APP_{setting}", f"@Microsoft.KeyVault(VaultName=myvault;SecretName={secret})")


def new_version(name: str) -> list[dict[str, Any]]:
    data = {"Id": f"{VAULT}/secrets/{name}/0123", "VaultName": "myvault", "ObjectType": "Secret", "ObjectName": name}
    return [{"id": "1", "eventType": SECRET_NEW_VERSION_CREATED, "subject": name, "data": data, "dataVersion": "1"}]


def app_with(kv: KvConfig[Settings], **router: Any) -> FastAPI:
    app = FastAPI(lifespan=kv.lifespan)
    app.include_router(kv.eventgrid_router(**router))
    return app


def test_the_router_refuses_to_mount_without_authentication() -> None:
    kv = KvConfig(Settings, refresh_interval=None)

    with pytest.raises(ValueError, match="allow_unauthenticated=True"):
        kv.eventgrid_router()
    with pytest.raises(ValueError, match="contradicts"):
        kv.eventgrid_router(token=TOKEN, allow_unauthenticated=True)
    with pytest.raises(ValueError, match="empty"):
        kv.eventgrid_router(token="")


@pytest.mark.keyvault_secrets(SECRETS)
def test_the_explicit_opt_out_accepts_events_from_anyone(fake_keyvault: FakeKeyVault, references: None) -> None:
    kv = KvConfig(Settings, refresh_interval=None)
    with TestClient(app_with(kv, allow_unauthenticated=True)) as client:
        assert client.post("/events/keyvault", json=new_version("api")).json()["refreshed"] is True


@pytest.mark.keyvault_secrets(SECRETS)
def test_requests_without_the_shared_secret_get_401_and_read_nothing(
    fake_keyvault: FakeKeyVault, references: None
) -> None:
    kv = KvConfig(Settings, refresh_interval=None)
    with TestClient(app_with(kv, token=TOKEN)) as client:
        reads = fake_keyvault.operation_counts["GetSecret"]
        for url in ("/events/keyvault", "/events/keyvault?token=wrong", "/events/keyvault?token=%C3%BC%E2%82%AC"):
            assert client.post(url, json=new_version("api")).status_code == 401
        non_ascii = {"X-Kvconfig-Token": "ü".encode()}
        assert client.post("/events/keyvault", json=new_version("api"), headers=non_ascii).status_code == 401
        assert client.options("/events/keyvault?token=ü").status_code == 401
        assert fake_keyvault.operation_counts["GetSecret"] == reads

        header = client.post("/events/keyvault", json=new_version("api"), headers={"X-Kvconfig-Token": TOKEN})
        assert header.json()["refreshed"] is True


@pytest.mark.keyvault_secrets(SECRETS)
def test_a_non_ascii_shared_secret_works_and_is_compared_as_bytes(
    fake_keyvault: FakeKeyVault, references: None
) -> None:
    kv = KvConfig(Settings, refresh_interval=None)
    with TestClient(app_with(kv, token="pässwörd-€")) as client:
        assert client.post("/events/keyvault?token=pässwörd-€", json=new_version("api")).status_code == 200
        assert client.post("/events/keyvault?token=passwort", json=new_version("api")).status_code == 401


@pytest.mark.keyvault_secrets(SECRETS)
def test_a_burst_of_events_reads_only_the_named_secret_at_most_once_per_interval(
    fake_keyvault: FakeKeyVault, references: None
) -> None:
    kv = KvConfig(Settings, refresh_interval=None, event_interval=0.5)
    with TestClient(app_with(kv, token=TOKEN)) as client:
        before = fake_keyvault.operation_counts["GetSecret"]
        started = time.monotonic()
        answers = []
        for n in range(50):
            fake_keyvault.set_secret("myvault", "api", f"a{n + 2}")
            answers.append(client.post(f"/events/keyvault?token={TOKEN}", json=new_version("api")).json())
        burst = time.monotonic() - started
        during = fake_keyvault.operation_counts["GetSecret"] - before

        deadline = time.monotonic() + 30
        while kv.current.api_key != "a51" and time.monotonic() < deadline:
            time.sleep(0.02)
        after = fake_keyvault.operation_counts["GetSecret"] - before
        final = kv.current

    assert answers[0] == {"refreshed": True, "ok": True, "changed": ["api_key"]}
    assert all(answer == {"refreshed": False, "scheduled": True} for answer in answers[1:])
    # One read at once, then (the burst lasting less than the interval) one trailing read of the latest version;
    # the other three secrets are not read again. Before: 50 full refreshes, 4 reads each.
    if burst < kv.event_interval:
        assert during == 1
    assert after <= 1 + int(burst / kv.event_interval) + 1
    assert final.api_key == "a51"
    assert final.smtp_password == "m1"
    assert final.db_password.get_secret_value() == "v1"


@pytest.mark.keyvault_secrets(SECRETS)
def test_an_event_for_a_secret_the_settings_do_not_use_reads_nothing(
    fake_keyvault: FakeKeyVault, references: None
) -> None:
    kv = KvConfig(Settings, refresh_interval=None)
    with TestClient(app_with(kv, token=TOKEN)) as client:
        before = fake_keyvault.operation_counts["GetSecret"]
        assert client.post(f"/events/keyvault?token={TOKEN}", json=new_version("other")).json() == {"refreshed": False}
        assert fake_keyvault.operation_counts["GetSecret"] == before


@pytest.mark.keyvault_secrets(SECRETS)
def test_oversized_and_deeply_nested_bodies_get_4xx_never_500(fake_keyvault: FakeKeyVault, references: None) -> None:
    kv = KvConfig(Settings, refresh_interval=None)
    url = f"/events/keyvault?token={TOKEN}"
    with TestClient(app_with(kv, token=TOKEN), raise_server_exceptions=False) as client:
        big = b"[" + b" " * (1024 * 1024) + b"]"
        assert client.post(url, content=big, headers={"content-type": "application/json"}).status_code == 413

        def chunks() -> Any:  # no Content-Length: the limit holds while streaming too
            for _ in range(3):
                yield b" " * (512 * 1024)

        assert client.post(url, content=chunks()).status_code == 413

        deep = b"[" * 100_000 + b"]" * 100_000
        assert client.post(url, content=deep).status_code == 400
        deep_objects = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
        assert client.post(url, content=deep_objects).status_code == 400
        assert client.post(url, content=b"\xff\xfe not json").status_code == 400
        assert client.post(url, json=[1, 2]).status_code == 400
        no_name = [{"eventType": SECRET_NEW_VERSION_CREATED, "data": {"VaultName": "myvault"}}]
        assert client.post(url, json=no_name).status_code == 400


# -- Entra ID (AAD-protected delivery) --------------------------------------------------------------------------------

TENANT = "11111111-2222-3333-4444-555555555555"
AUDIENCE = "api://kvconfig-events"


class Keys:
    """A tenant's published signing keys (a JWKS), as ``jwt.PyJWKClient`` would serve them."""

    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwks = jwt.PyJWKSet.from_dict({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]})

    def get_signing_key_from_jwt(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        return self.jwks[kid]

    def token(self, **overrides: Any) -> str:
        now = datetime.now(timezone.utc)
        claims = {
            "aud": AUDIENCE,
            "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
            "azp": EVENT_GRID_APP_ID,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(hours=1),
            **overrides,
        }
        return str(jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": "k1"}))


@pytest.mark.keyvault_secrets(SECRETS)
def test_entra_id_tokens_from_event_grid_for_the_app_are_let_in_and_others_are_not(
    fake_keyvault: FakeKeyVault, references: None
) -> None:
    keys = Keys()
    other = Keys()
    kv = KvConfig(Settings, refresh_interval=None)
    auth = EntraIdToken(TENANT, AUDIENCE, signing_keys=keys)
    url = "/events/keyvault"

    def post(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}".encode()}
        return client.post(url, json=new_version("api"), headers=headers).status_code

    with TestClient(app_with(kv, authenticate=auth), raise_server_exceptions=False) as client:
        assert post(keys.token()) == 200
        assert post(keys.token(iss=f"https://sts.windows.net/{TENANT}/", azp=None, appid=EVENT_GRID_APP_ID)) == 200

        assert client.post(url, json=new_version("api")).status_code == 401
        assert post(keys.token(aud="api://someone-else")) == 401
        assert post(keys.token(iss="https://login.microsoftonline.com/another-tenant/v2.0")) == 401
        assert post(keys.token(azp="00000000-0000-0000-0000-000000000000")) == 401
        assert post(keys.token(exp=datetime.now(timezone.utc) - timedelta(hours=1))) == 401
        assert post(other.token()) == 401  # signed by a key the tenant did not publish
        assert post(keys.token()[:-4] + "AAAA") == 401
        assert post("not.a.jwt") == 401
        assert post("ünïcode") == 401
