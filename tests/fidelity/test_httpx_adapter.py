"""The httpx adapter: raw Key Vault REST calls through ``httpx.Client``/``AsyncClient``, ``httpx.MockTransport``-style
mounting and ``respx``."""

from __future__ import annotations

import sys

import httpx
import pytest
import respx

from kvconfig.fake import FakeKeyVault

VAULT = "https://rawrest.vault.azure.net"


def _bearer(fake: FakeKeyVault) -> dict[str, str]:
    return {"Authorization": f"Bearer {fake.credential().get_token('https://vault.azure.net/.default').token}"}


def test_httpx_client_without_token_gets_the_challenge() -> None:
    fake = FakeKeyVault()
    with httpx.Client(transport=fake.httpx_transport()) as client:
        response = client.get(f"{VAULT}/secrets?api-version=7.5")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer authorization="https://login.microsoftonline.com/')
    assert response.json()["error"]["code"] == "Unauthorized"


def test_httpx_client_sets_gets_and_lists_secrets_over_raw_rest() -> None:
    fake = FakeKeyVault()
    with httpx.Client(transport=fake.httpx_transport(), headers=_bearer(fake)) as client:
        put = client.put(f"{VAULT}/secrets/raw?api-version=7.5", json={"value": "v", "tags": {"a": "b"}})
        assert put.status_code == 200
        assert put.headers["content-type"] == "application/json; charset=utf-8"
        created = put.json()
        assert created["value"] == "v"
        assert created["id"].startswith(f"{VAULT}/secrets/raw/")
        got = client.get(f"{VAULT}/secrets/raw/?api-version=7.5")
        assert got.json()["id"] == created["id"]
        listed = client.get(f"{VAULT}/secrets?api-version=7.5&maxresults=1").json()
        assert listed == {
            "value": [
                {
                    "id": f"{VAULT}/secrets/raw",
                    "attributes": created["attributes"],
                    "tags": {"a": "b"},
                }
            ],
            "nextLink": None,
        }
        purge = client.delete(f"{VAULT}/deletedsecrets/raw?api-version=7.5")
        assert purge.status_code == 404
    assert fake.get_secret_value(VAULT, "raw") == "v"


def test_httpx_client_missing_api_version_gets_400() -> None:
    fake = FakeKeyVault()
    with httpx.Client(transport=fake.httpx_transport(), headers=_bearer(fake)) as client:
        response = client.get(f"{VAULT}/secrets")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadParameter"


def test_httpx_client_unimplemented_route_gets_501() -> None:
    fake = FakeKeyVault()
    unimplemented = [route for route in fake.routes.routes if route.handler is None and route.method == "GET"]
    if not unimplemented:
        pytest.skip("every GET route is implemented")
    path = unimplemented[0].template.replace("{version?}", "").replace("{version}", "0" * 32)
    path = path.replace("{name}", "x1").replace("{issuer}", "x1")
    with httpx.Client(transport=fake.httpx_transport(), headers=_bearer(fake)) as client:
        response = client.get(f"{VAULT}{path}?api-version=7.5")
    assert response.status_code == 501
    assert response.json()["error"]["code"] == "FakeVaultNotImplemented"
    assert "x-kvconfig-not-implemented" not in response.headers


def test_httpx_transport_turns_injected_connection_faults_into_httpx_errors() -> None:
    fake = FakeKeyVault()
    with httpx.Client(transport=fake.httpx_transport(), headers=_bearer(fake)) as client:
        fake.inject_fault(error="timeout")
        with pytest.raises(httpx.ReadTimeout):
            client.get(f"{VAULT}/secrets?api-version=7.5")
        fake.inject_fault(error="drop")
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(f"{VAULT}/secrets?api-version=7.5")
    strict = FakeKeyVault(strict=True)
    with httpx.Client(transport=strict.httpx_transport()) as client, pytest.raises(httpx.ConnectError):
        client.get(f"{VAULT}/secrets?api-version=7.5")


async def test_async_httpx_client_serves_the_fake() -> None:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "s1", "async-raw")
    async with httpx.AsyncClient(transport=fake.async_httpx_transport(), headers=_bearer(fake)) as client:
        response = await client.get(f"{VAULT}/secrets/s1/?api-version=2025-07-01")
    assert response.json()["value"] == "async-raw"


def test_respx_routes_vault_hosts_to_the_fake() -> None:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "s1", "via-respx")
    with respx.mock(assert_all_called=True) as router:
        router.route(host__regex=r".+\.vault\.azure\.net").mock(side_effect=fake.httpx_transport())
        other = router.get("https://example.com/").respond(204)
        with httpx.Client(headers=_bearer(fake)) as client:
            response = client.get(f"{VAULT}/secrets/s1/?api-version=7.5")
            assert client.get("https://example.com/").status_code == 204
    assert response.status_code == 200
    assert response.json()["value"] == "via-respx"
    assert other.call_count == 1


async def test_respx_routes_async_httpx_calls_to_the_fake() -> None:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "s1", "async-respx")
    with respx.mock() as router:
        router.route(host__regex=r".+\.vault\.azure\.net").mock(side_effect=fake.httpx_transport())
        async with httpx.AsyncClient(headers=_bearer(fake)) as client:
            response = await client.get(f"{VAULT}/secrets/s1/?api-version=7.5")
    assert response.json()["value"] == "async-respx"


def test_httpx_mock_transport_can_wrap_the_fake() -> None:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "s1", "mock-transport")
    with httpx.Client(transport=httpx.MockTransport(fake.httpx_transport()), headers=_bearer(fake)) as client:
        assert client.get(f"{VAULT}/secrets/s1/?api-version=7.5").json()["value"] == "mock-transport"


def test_httpx_transport_without_httpx_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "kvconfig.fake.serve.httpx_transport")  # restored at teardown

    with pytest.raises(ModuleNotFoundError, match=r"pip install 'kvconfig\[httpx\]'"):
        FakeKeyVault().httpx_transport()
