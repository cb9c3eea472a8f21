"""The fake as its adapters see it: the router's entry point, its latency and clock, and the token authority."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from kvconfig.fake.control.tokens import TokenAuthority
from kvconfig.fake.core.clock import Clock
from kvconfig.fake.core.clouds import VaultDomain
from kvconfig.fake.core.router import Outcome
from kvconfig.fake.core.state import Vault
from kvconfig.fake.core.wire import FakeRequest
from kvconfig.fake.persist import PersistedStores

__all__ = ["Dispatcher", "ServedService", "StoreService", "StoreView", "StoredKeyValue"]


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


class StoredKeyValue(Protocol):
    """One key-value of a store as the control API and the portal read it (``appconfig.state.KeyValue``)."""

    @property
    def key(self) -> str: ...

    @property
    def label(self) -> str | None: ...

    @property
    def value(self) -> str | None: ...

    @property
    def content_type(self) -> str | None: ...

    @property
    def tags(self) -> tuple[tuple[str, str], ...]: ...

    @property
    def etag(self) -> str: ...

    @property
    def last_modified(self) -> float: ...

    @property
    def locked(self) -> bool: ...


class StoreView(Protocol):
    """One App Configuration store as the control API and the portal read it (``appconfig.state.Store``); read its
    key-values and snapshots under ``lock``."""

    @property
    def name(self) -> str: ...

    @property
    def host(self) -> str: ...

    @property
    def endpoint(self) -> str: ...

    @property
    def lock(self) -> AbstractContextManager[Any]: ...

    @property
    def items(self) -> Mapping[tuple[str, str | None], StoredKeyValue]:
        """The key-values by (key, label); the null label is ``None``."""
        ...

    @property
    def snapshots(self) -> Mapping[str, object]: ...

    def sorted_items(self) -> Sequence[StoredKeyValue]:
        """The key-values in the service's order: by key, then label (the null label first)."""
        ...


class StoreService(Dispatcher, PersistedStores, Protocol):
    """A service the emulator serves beside the vaults, on hosts of its own: ``FakeAppConfiguration``'s stores at
    ``<store>.azconfig.localhost:<port>``, kept in the emulator's data folder like the vaults, listed by the control
    API and the portal, seeded, dumped and removed through the control API."""

    @property
    def stores(self) -> Sequence[StoreView]: ...

    def seed(self, data: Mapping[str, Any]) -> None:
        """Load stores from the ``appconfig`` part of a seed file (``ValueError`` naming the entry when it cannot)."""
        ...

    def dump(self) -> dict[str, Any]:
        """Every store as the ``appconfig`` part of a seed file, values included."""
        ...

    def remove_store(self, host: str) -> bool:
        """Forget the store at ``host`` (its key-values, snapshots and access keys); whether there was one."""
        ...

    def serves_host(self, host: str) -> bool:
        """Whether ``host`` (``name:port``, port left out for 443) is one of this service's."""
        ...

    def add_loopback_port(self, port: int) -> str:
        """Serve the loopback hosts on ``port`` too; returns their domain (``azconfig.localhost:<port>``)."""
        ...
