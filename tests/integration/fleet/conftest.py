"""Fixtures of the fleet tests: a fake vault on simulated time and resolvers whose loop runs on that time. The real
``redis-server`` fixtures (``redis_server``, ``redis_url``) are in ``tests/conftest.py``, shared with the examples."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kvconfig import SecretResolver
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.simulation import SimulatedAsyncTransport, VirtualClock, VirtualTimeLoop

VAULT = "contoso"
VAULT_URL = "https://contoso.vault.azure.net"


def ref(name: str) -> str:
    return f"@Microsoft.KeyVault(VaultName={VAULT};SecretName={name})"


@contextlib.contextmanager
def patched_vault_with_kek(value: str) -> Iterator[FakeKeyVault]:
    """A fake vault holding the secret ``db`` and the RSA key ``fleet-kek``, patched in: what code that builds its own
    SDK clients and credentials (the CLI, an app) meets."""
    from azure.keyvault.keys import KeyClient

    fake = FakeKeyVault()
    fake.set_secret(VAULT, "db", value)
    client = KeyClient(VAULT_URL, fake.credential(), transport=fake.transport())
    client.create_rsa_key("fleet-kek", size=2048)
    client.close()
    with fake.patch():
        yield fake


class CountingTransport(SimulatedAsyncTransport):
    """The simulated transport, counting the status codes the vault answered (an observer of the wire)."""

    def __init__(self, fake: FakeKeyVault, statuses: Counter[int]) -> None:
        super().__init__(fake)
        self._statuses = statuses

    async def send(self, request: Any, **kwargs: Any) -> Any:
        response = await super().send(request, **kwargs)
        self._statuses[response.status_code] += 1
        return response


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock(start=1_750_000_000.0)


@pytest.fixture
def virtual_loops(monkeypatch: pytest.MonkeyPatch, vclock: VirtualClock) -> VirtualClock:
    """Every event loop made from here on (the resolvers' private loops) runs on the simulated clock."""
    monkeypatch.setattr(asyncio, "new_event_loop", lambda: VirtualTimeLoop(vclock))
    return vclock


@pytest.fixture
def sim_fake(vclock: VirtualClock) -> FakeKeyVault:
    return FakeKeyVault(clock=vclock, latency=0.01)


@pytest.fixture
def statuses() -> Counter[int]:
    return Counter()


@pytest.fixture
def make_sim_resolver(
    sim_fake: FakeKeyVault, statuses: Counter[int], virtual_loops: VirtualClock
) -> Iterator[Callable[..., SecretResolver]]:
    made: list[SecretResolver] = []

    def build(**options: Any) -> SecretResolver:
        options.setdefault("transport", lambda: CountingTransport(sim_fake, statuses))
        options.setdefault("clock", virtual_loops.now)
        options.setdefault("monotonic", virtual_loops.monotonic)
        resolver = SecretResolver(sim_fake.async_credential(), **options)
        made.append(resolver)
        return resolver

    yield build
    for resolver in made:
        resolver.close()
