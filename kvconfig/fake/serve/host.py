"""The fake as its adapters see it: the router's entry point, its latency and clock, and the token authority."""

from __future__ import annotations

from typing import Protocol

from kvconfig.fake.control.tokens import TokenAuthority
from kvconfig.fake.core.clock import Clock
from kvconfig.fake.core.clouds import VaultDomain
from kvconfig.fake.core.router import Outcome
from kvconfig.fake.core.state import Vault
from kvconfig.fake.core.wire import FakeRequest
from kvconfig.fake.persist import PersistedStores

__all__ = ["Dispatcher", "ServedService", "StoreService"]


class Dispatcher(Protocol):
    """What the azure-core transports need of a fake service (``FakeKeyVault``, ``FakeAppConfiguration``)."""

    @property
    def latency(self) -> float: ...

    def dispatch(self, request: FakeRequest) -> Outcome:
        """Serve one request: the router's answer (a response or a connection fault, and any injected delay)."""
        ...

    def pass_time(self, seconds: float) -> None:
        """What a client's wait does on the fake (moves a ManualClock; never sleeps for real)."""
        ...


class ServedService(Dispatcher, Protocol):
    """What the transports, the ASGI app, the emulator, its token endpoints and ``patch()`` use.

    ``FakeKeyVault`` is one; adapters are handed it under this narrow type, so they never import the face.
    """

    @property
    def clock(self) -> Clock: ...

    @property
    def tokens(self) -> TokenAuthority: ...

    @property
    def tenant_id(self) -> str: ...

    @property
    def domains(self) -> tuple[VaultDomain, ...]: ...

    @property
    def vaults(self) -> list[Vault]: ...

    def add_domains(self, *domains: VaultDomain) -> None: ...


class StoreService(Dispatcher, PersistedStores, Protocol):
    """A service the emulator serves beside the vaults, on hosts of its own: ``FakeAppConfiguration``'s stores at
    ``<store>.azconfig.localhost:<port>``, kept in the emulator's data folder like the vaults."""

    def serves_host(self, host: str) -> bool:
        """Whether ``host`` (``name:port``, port left out for 443) is one of this service's."""
        ...

    def add_loopback_port(self, port: int) -> str:
        """Serve the loopback hosts on ``port`` too; returns their domain (``azconfig.localhost:<port>``)."""
        ...
