"""The vault firewall through the official SecretClient: allow lists, default action, the client address."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from kvconfig.fake import FakeKeyVault, Identity

from .access_support import client_for
from .support import VaultUnderTest


async def test_firewall_admits_listed_addresses_and_denies_others(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    fake.set_secret(kv.vault_url, "s1", "v1")
    vault = fake.vault(kv.vault_url)
    vault.set_network_rules(default_action="Deny", ip_rules=["10.0.0.0/24"])
    inside = client_for(kv, Identity("app", client_ip="10.0.0.5"))
    outside = client_for(kv, Identity("app", client_ip="203.0.113.9"))

    assert (await kv.call(inside.get_secret, "s1")).value == "v1"
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(outside.get_secret, "s1")
    error = caught.value
    assert error.status_code == 403
    assert error.error is not None
    assert error.error.innererror == {"code": "ForbiddenByFirewall"}
    lines = error.error.message.split("\r\n")
    assert lines[0] == "Client address is not authorized and caller is not a trusted service."
    assert lines[1] == "Client address: 203.0.113.9"
    assert lines[2].startswith("Caller: appid=")
    assert lines[3] == f"Vault: {vault.name};location=westus"


async def test_default_action_allow_admits_everyone(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    fake.set_secret(kv.vault_url, "s1", "v1")
    fake.vault(kv.vault_url).set_network_rules(default_action="Allow")
    client = client_for(kv, Identity("app", client_ip="198.51.100.1"))
    assert (await kv.call(client.get_secret, "s1")).value == "v1"


def test_forwarded_for_header_gives_the_client_address_of_the_loopback_emulator() -> None:
    fake = FakeKeyVault()
    vault = fake.create_vault("fwd-vault", network_rules={"ip_rules": ["192.0.2.0/24"]})
    token = fake.credential(Identity("app", client_ip="198.51.100.1")).get_token("https://vault.azure.net/.default")
    url = f"{vault.url}/secrets?api-version=7.5"
    headers = {"Authorization": f"Bearer {token.token}"}
    assert fake.handle("GET", url, headers).status == 403
    assert fake.handle("GET", url, {**headers, "X-Forwarded-For": "192.0.2.10, 10.0.0.1"}).status == 200
    assert [event.caller_ip_address for event in fake.audit] == ["198.51.100.1", "192.0.2.10"]
