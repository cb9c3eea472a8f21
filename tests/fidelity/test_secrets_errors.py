"""The service's refusals as the official SecretClient raises them: disabled secrets, bad names, oversized values,
unknown or missing api-versions."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from .support import VaultUnderTest


async def test_get_secret_disabled_raises_forbidden_secret_disabled(kv: VaultUnderTest) -> None:
    name = kv.name()
    secret = await kv.set(name, "v", enabled=False)
    assert secret.properties.enabled is False
    for version in (None, secret.properties.version):
        with pytest.raises(HttpResponseError) as caught:
            await kv.call(kv.client.get_secret, name, version)
        assert caught.value.status_code == 403
        assert caught.value.error is not None
        assert caught.value.error.code == "Forbidden"
        assert caught.value.error.innererror == {"code": "SecretDisabled"}
        assert caught.value.error.message == "Operation get is not allowed on a disabled secret."


async def test_disabled_secret_is_still_listed_and_can_be_enabled_again(kv: VaultUnderTest) -> None:
    name = kv.name()
    await kv.set(name, "v")
    await kv.call(kv.client.update_secret_properties, name, enabled=False)
    listed = {item.name: item for item in await kv.collect(kv.client.list_properties_of_secrets())}
    assert listed[name].enabled is False
    await kv.call(kv.client.update_secret_properties, name, enabled=True)
    assert (await kv.call(kv.client.get_secret, name)).value == "v"


@pytest.mark.parametrize(
    "name", ["a_b", "x" * 128, "dots.not.allowed", "space here"], ids=["underscore", "128-chars", "dots", "space"]
)
async def test_set_secret_with_invalid_name_raises_bad_parameter(kv: VaultUnderTest, name: str) -> None:
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(kv.client.set_secret, name, "v")
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "BadParameter"


async def test_set_secret_with_127_character_name_succeeds(kv: VaultUnderTest) -> None:
    name = kv.name("n")
    name = name + "x" * (127 - len(name))
    assert (await kv.set(name, "v")).name == name


@pytest.mark.parametrize(
    "value",
    ["a" * 25_600, "é" * 12_800],
    ids=["25600-ascii-bytes", "25600-utf8-bytes"],
)
async def test_set_secret_value_of_25600_bytes_succeeds(kv: VaultUnderTest, value: str) -> None:
    name = kv.name()
    await kv.set(name, value)
    assert (await kv.call(kv.client.get_secret, name)).value == value


@pytest.mark.parametrize(
    "value",
    ["a" * 25_601, "é" * 12_800 + "a", "€" * 8_534],
    ids=["25601-ascii-bytes", "25601-utf8-bytes", "25602-utf8-bytes-8534-chars"],
)
async def test_set_secret_value_over_25600_bytes_raises_bad_parameter(kv: VaultUnderTest, value: str) -> None:
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(kv.client.set_secret, kv.name(), value)
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "BadParameter"


async def test_unknown_api_version_gets_the_service_400(kv: VaultUnderTest) -> None:
    response = await kv.call(kv.client.send_request, HttpRequest("GET", "/secrets?api-version=9.9"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadParameter"
    assert "9.9" in error["message"]


async def test_missing_api_version_gets_400(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    response = fake.handle("GET", f"{kv.vault_url}/secrets", {"Authorization": f"Bearer {token}"})
    assert response.status == 400
    body = response.json()
    assert isinstance(body, dict)
    assert body["error"]["code"] == "BadParameter"
    assert "api-version" in body["error"]["message"]


async def test_every_sdk_api_version_is_accepted_by_send_request(kv: VaultUnderTest) -> None:
    from azure.keyvault.secrets import ApiVersion

    for version in ApiVersion:
        response = await kv.call(
            kv.client.send_request, HttpRequest("GET", f"/secrets?api-version={version.value}&maxresults=1")
        )
        assert response.status_code == 200, version
