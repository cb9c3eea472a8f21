"""The control API's App Configuration seed refuses two names of one store (a bare name and its host, or two cases of
one name) with 400 and seeds nothing, rather than letting the later list replace the earlier silently."""

from __future__ import annotations

import json

import pytest

from kvconfig.fake.appconfig import FakeAppConfiguration
from kvconfig.fake.core.wire import FakeRequest
from kvconfig.fake.serve.control_requests import Refused
from kvconfig.fake.serve.store_control import StoreControl


@pytest.mark.parametrize("other", ["CONTOSO-CONFIG", "contoso-config.azconfig.localhost:8443"])
def test_two_names_of_one_store_are_refused_and_nothing_is_seeded(other: str) -> None:
    stores = FakeAppConfiguration()
    control = StoreControl(stores, stores.add_loopback_port(8443))
    seed = {"contoso-config": [{"key": "a", "value": "1"}], other: [{"key": "b", "value": "2"}]}
    request = FakeRequest("POST", "https://localhost:8443/_kvconfig/appconfig/seed", {}, json.dumps(seed).encode())

    with pytest.raises(Refused) as caught:
        control.handle("POST", ["seed"], request)

    assert (caught.value.status, caught.value.code) == (400, "BadSeed")
    assert "contoso-config.azconfig.localhost:8443" in caught.value.message
    assert [store.items for store in stores.stores] in ([], [{}])


def test_a_combined_seed_with_a_bad_store_name_loads_no_vault_either() -> None:
    from kvconfig.fake import FakeKeyVault
    from kvconfig.fake.serve.control_api import ControlApi

    fake, stores = FakeKeyVault(), FakeAppConfiguration()
    api = ControlApi(fake, stores=StoreControl(stores, stores.add_loopback_port(8443)))
    seed = {"vaults": {"shop.vault.azure.net": {"secrets": {"db": "s3cret"}}}, "appconfig": {"x": []}}
    headers = {"Content-Type": "application/json"}
    request = FakeRequest("POST", "https://localhost:8443/_kvconfig/seed", headers, json.dumps(seed).encode())

    answer = api.handle(request, "127.0.0.1")

    assert answer is not None
    assert answer.status == 400
    assert fake.vaults == []
    assert stores.stores == []
