"""``create_vault()`` publishes a vault only once it is whole: a request racing its creation meets every access
setting its creator asked for (access model, enforcement, policies, firewall, throttling), never an open vault."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.secrets import SecretClient, aio

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.core.state import Vault
from kvconfig.fake.core.wire import ConnectionFault

THREADS = 8
ROUNDS = 40


@pytest.fixture(autouse=True)
def _switch_often() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


def test_vault_is_not_visible_while_its_access_settings_are_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeKeyVault()
    seen: list[object] = []
    real_policy, real_rules = Vault.set_access_policy, Vault.set_network_rules

    def spy_policy(self: Vault, *args: Any, **kwargs: Any) -> Any:
        seen.append(fake.locate_existing_vault(self.properties.host))
        return real_policy(self, *args, **kwargs)

    def spy_rules(self: Vault, *args: Any, **kwargs: Any) -> Any:
        seen.append(fake.locate_existing_vault(self.properties.host))
        return real_rules(self, *args, **kwargs)

    monkeypatch.setattr(Vault, "set_access_policy", spy_policy)
    monkeypatch.setattr(Vault, "set_network_rules", spy_rules)
    vault = fake.create_vault(
        "building",
        rbac=False,
        access_policies={"reader": {"secrets": ["get"]}},
        network_rules={"ip_rules": ["10.0.0.0/8"]},
    )
    assert seen == [None, None]
    assert fake.locate_existing_vault("building.vault.azure.net") is vault


def test_request_arriving_mid_build_waits_for_the_vault_and_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeKeyVault()  # not strict: without the wait, the request would make an open vault of its own
    token = fake.credential("intruder").get_token("https://vault.azure.net/.default").token
    url = "https://midbuild.vault.azure.net/secrets/s1/?api-version=7.5"
    answers: list[int] = []
    real_policy = Vault.set_access_policy

    def request_during_build(self: Vault, *args: Any, **kwargs: Any) -> Any:
        worker = threading.Thread(
            target=lambda: answers.append(fake.handle("GET", url, {"Authorization": f"Bearer {token}"}).status)
        )
        worker.start()
        worker.join(0.3)  # the request must still be waiting: the vault is not published yet
        assert answers == []
        result = real_policy(self, *args, **kwargs)
        self._worker = worker  # type: ignore[attr-defined]
        return result

    monkeypatch.setattr(Vault, "set_access_policy", request_during_build)
    vault = fake.create_vault("midbuild", rbac=False, access_policies={"reader": {"secrets": ["get"]}})
    vault._worker.join(30)  # type: ignore[attr-defined]
    assert answers == [403]
    assert fake.vaults == [vault]


def test_requests_hammering_a_vault_being_created_never_pass_unchecked() -> None:
    # A strict fake answers a host as a DNS failure until its vault is published, then with the vault's checks.
    fake = FakeKeyVault(strict=True)
    token = fake.credential("intruder").get_token("https://vault.azure.net/.default").token
    answers: Counter[object] = Counter()
    lock = threading.Lock()
    for round_ in range(ROUNDS):
        host = f"race{round_}.vault.azure.net"
        url = f"https://{host}/secrets/s1/?api-version=7.5"
        stop = threading.Event()

        def hammer(url: str = url, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                try:
                    status: object = fake.handle("GET", url, {"Authorization": f"Bearer {token}"}).status
                except ConnectionFault:
                    status = "dns"
                with lock:
                    answers[status] += 1

        workers = [threading.Thread(target=hammer) for _ in range(THREADS)]
        for worker in workers:
            worker.start()
        fake.create_vault(host, enforce_access=True)
        stop.set()
        for worker in workers:
            worker.join()
    assert answers[403] > 0
    assert set(answers) <= {403, "dns"}, answers


def test_sdk_clients_meet_the_access_settings_from_their_first_request() -> None:
    fake = FakeKeyVault(strict=True)
    vault = fake.create_vault("sdkrace", enforce_access=True)
    client = SecretClient(vault.url, fake.credential("intruder"), transport=fake.transport(), retry_total=0)
    with pytest.raises(HttpResponseError) as caught:
        client.get_secret("s1")
    assert caught.value.status_code == 403


async def test_async_sdk_clients_meet_the_access_settings_from_their_first_request() -> None:
    fake = FakeKeyVault(strict=True)
    vault = fake.create_vault("sdkraceaio", enforce_access=True)
    client = aio.SecretClient(vault.url, fake.async_credential("intruder"), transport=fake.async_transport())
    async with client:
        with pytest.raises(HttpResponseError) as caught:
            await client.get_secret("s1")
    assert caught.value.status_code == 403
