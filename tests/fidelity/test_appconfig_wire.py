"""The fake App Configuration store at the wire, through the official client's ``send_request`` (signed requests):
api-version handling, bounds, unknown routes and methods (PATCH of a key-value included), and seeding/dumping."""

from __future__ import annotations

import base64
import json

import pytest
from azure.appconfiguration import AzureAppConfigurationClient
from azure.core.rest import HttpRequest

from kvconfig.fake.appconfig import FakeAppConfiguration
from kvconfig.fake.appconfig.seed import AppConfigSeedError

from .appconfig_support import STORE as APPCONFIG_STORE
from .appconfig_support import StoreUnderTest

STORE = "wire-store"


@pytest.fixture
def fake() -> FakeAppConfiguration:
    return FakeAppConfiguration()


@pytest.fixture
def client(fake: FakeAppConfiguration) -> AzureAppConfigurationClient:
    return AzureAppConfigurationClient.from_connection_string(fake.connection_string(STORE), transport=fake.transport())


def _problem(response: object) -> dict[str, object]:
    problem = json.loads(response.text())  # type: ignore[attr-defined]
    assert isinstance(problem, dict)
    return problem


def test_missing_api_version_is_a_400_problem(client: AzureAppConfigurationClient) -> None:
    response = client.send_request(HttpRequest("GET", "/kv"))
    assert response.status_code == 400
    assert _problem(response)["title"] == "API version is not specified"


def test_unknown_api_version_is_a_400_problem(client: AzureAppConfigurationClient) -> None:
    response = client.send_request(HttpRequest("GET", "/kv?api-version=1999-01-01"))
    assert response.status_code == 400
    assert _problem(response)["title"] == "Unsupported API version"


def test_older_api_version_1_0_is_served(client: AzureAppConfigurationClient, fake: FakeAppConfiguration) -> None:
    fake.set(STORE, "k", "v")
    response = client.send_request(HttpRequest("GET", "/kv?api-version=1.0"))
    assert response.status_code == 200
    assert [item["key"] for item in response.json()["items"]] == ["k"]


def test_invalid_continuation_token_is_a_400(client: AzureAppConfigurationClient) -> None:
    response = client.send_request(HttpRequest("GET", "/kv?api-version=1.0&after=%%%not-base64"))
    assert response.status_code == 400


@pytest.mark.parametrize(
    "position",
    [["k-1", None], ["k-1x", None], ["k-1", "nolabel"], {"key": "k-1"}, ["k-1"], [1, None], [["k-1"], None]],
)
def test_a_continuation_token_naming_no_listed_key_value_gives_an_empty_page(
    client: AzureAppConfigurationClient, fake: FakeAppConfiguration, position: object
) -> None:
    for index in range(3):
        fake.set(STORE, f"k-{index}", str(index))
    token = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
    response = client.send_request(HttpRequest("GET", f"/kv?api-version=1.0&after={token}"))
    assert response.status_code == 200
    keys = [item["key"] for item in response.json()["items"]]
    assert keys == (["k-2"] if position == ["k-1", None] else [])


def test_request_body_over_a_mebibyte_is_refused_with_413(client: AzureAppConfigurationClient) -> None:
    request = HttpRequest(
        "PUT",
        "/kv/big?api-version=1.0",
        content="{" + " " * (1024 * 1024 + 1) + "}",
        headers={"Content-Type": "application/vnd.microsoft.appconfig.kv+json"},
    )
    assert client.send_request(request).status_code == 413


def test_body_that_is_not_a_json_object_is_a_400(client: AzureAppConfigurationClient) -> None:
    for body in ("[1]", "{not json", '{"value": 3}', '{"tags": {"a": 1}}'):
        request = HttpRequest(
            "PUT", "/kv/k?api-version=1.0", content=body, headers={"Content-Type": "application/json"}
        )
        assert client.send_request(request).status_code == 400, body


def test_wrong_content_type_is_a_415(client: AzureAppConfigurationClient) -> None:
    request = HttpRequest("PUT", "/kv/k?api-version=1.0", content="{}", headers={"Content-Type": "text/plain"})
    assert client.send_request(request).status_code == 415


def test_unknown_path_is_404_and_wrong_method_is_405_with_allow(client: AzureAppConfigurationClient) -> None:
    assert client.send_request(HttpRequest("GET", "/nowhere?api-version=1.0")).status_code == 404
    wrong = client.send_request(HttpRequest("POST", "/kv?api-version=1.0"))
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "GET, HEAD")


async def test_patch_of_a_key_value_is_405_as_the_service_has_no_such_operation(store: StoreUnderTest) -> None:
    # Neither the REST spec (1.0 to 2026-04-01) nor the SDK has PATCH /kv/{key}: key-values are updated with PUT.
    store.fake.set(APPCONFIG_STORE, "k", "before")
    patch = HttpRequest("PATCH", "/kv/k?api-version=2023-11-01", json={"value": "v"})
    answer = await store.call(store.client.send_request, patch)
    assert (answer.status_code, answer.headers["Allow"]) == (405, "DELETE, GET, HEAD, PUT")
    assert store.fake.get(APPCONFIG_STORE, "k").value == "before"


def test_unknown_host_is_a_dns_failure_in_strict_mode() -> None:
    from azure.core.exceptions import ServiceRequestError

    fake = FakeAppConfiguration(strict=True)
    connection_string = fake.connection_string(STORE).replace(STORE, "other-store")
    with (
        AzureAppConfigurationClient.from_connection_string(
            connection_string, transport=fake.transport(), retry_total=0
        ) as client,
        pytest.raises(ServiceRequestError),
    ):
        client.get_configuration_setting("k")


def test_seed_and_dump_round_trip(fake: FakeAppConfiguration) -> None:
    seed = {
        STORE: [
            {"key": "a", "value": "1"},
            {"key": "a", "value": "2", "label": "prod", "tags": {"t": "x"}},
            {"key": "json", "value": {"nested": True}},
            {"key": "db", "secret_uri": "https://v1.vault.azure.net/secrets/db"},
        ]
    }
    fake.seed(seed)
    dumped = fake.dump()[STORE]
    assert dumped[0] == {"key": "a", "value": "1"}
    assert dumped[1] == {"key": "a", "value": "2", "label": "prod", "tags": {"t": "x"}}
    assert dumped[2]["content_type"].startswith("application/vnd.microsoft.appconfig.keyvaultref+json")
    assert dumped[3] == {"key": "json", "value": '{"nested": true}', "content_type": "application/json"}
    again = FakeAppConfiguration()
    again.seed(fake.dump())
    assert again.dump() == fake.dump()


@pytest.mark.parametrize(
    "bad",
    [[], {"s": "not a list"}, {"s": [{"value": "no key"}]}, {"s": [{"key": "k", "colour": "red"}]}],
)
def test_bad_seed_entries_raise_a_clear_error(fake: FakeAppConfiguration, bad: object) -> None:
    with pytest.raises(AppConfigSeedError):
        fake.seed(bad)  # type: ignore[arg-type]


def test_key_value_repr_never_shows_the_value(fake: FakeAppConfiguration) -> None:
    item = fake.set(STORE, "k", "s3cret-value")
    assert "s3cret-value" not in repr(item)
