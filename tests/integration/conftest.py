"""Fixtures of the resolver's integration tests: a fake Key Vault served to the official async SDK, and resolvers
wired to it that are always closed (filterwarnings=error turns an unclosed aiohttp session or client into a failure).

And the emulator's: ``server`` serves the module's ``fake`` over loopback HTTPS (with App Configuration stores, the
``stores`` fixture, in a module marked ``serve_stores``), ``control`` is an httpx client of its control API,
``loopback_names`` makes ``*.localhost`` resolve in this process, ``arranged`` fills the fake for the portal tests.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from kvconfig import SecretResolver
from kvconfig.fake import FakeAsyncTransport, FakeKeyVault, ManualClock
from kvconfig.fake.appconfig import FakeAppConfiguration
from kvconfig.fake.serve.emulator import EmulatorServer

from .emulator_support import resolve_localhost_subdomains
from .portal_support import Arranged, arrange

VAULT = "contoso"
VAULT_URL = "https://contoso.vault.azure.net"
OTHER_VAULT = "fabrikam"


def ref(name: str, vault: str = VAULT, version: str | None = None) -> str:
    """A VaultName= reference."""
    suffix = f";SecretVersion={version}" if version else ""
    return f"@Microsoft.KeyVault(VaultName={vault};SecretName={name}{suffix})"


class RecordingTransport(FakeAsyncTransport):
    """The fake's async transport, also recording every host asked for and how many requests were in flight at
    most (an observer of the wire, not a replacement for anything in kvconfig)."""

    def __init__(self, fake: FakeKeyVault, hosts: list[str], gauge: dict[str, int], bearer: list[bool]) -> None:
        super().__init__(fake)
        self._hosts = hosts
        self._gauge = gauge
        self._bearer = bearer

    async def send(self, request: Any, **kwargs: Any) -> Any:
        self._hosts.append(str(request.url).split("/")[2])
        self._bearer.append("Authorization" in request.headers)
        self._gauge["now"] += 1
        self._gauge["max"] = max(self._gauge["max"], self._gauge["now"])
        try:
            return await super().send(request, **kwargs)
        finally:
            self._gauge["now"] -= 1


class Wire:
    """What reached the transport: hosts in order, peak concurrency, how many transports (one per SDK client)."""

    def __init__(self, fake: FakeKeyVault) -> None:
        self.fake = fake
        self.hosts: list[str] = []
        self.gauge = {"now": 0, "max": 0}
        self.bearer: list[bool] = []  # whether each request carried a token (False: it elicits the 401 challenge)
        self.transports = 0

    def transport(self) -> RecordingTransport:
        self.transports += 1
        return RecordingTransport(self.fake, self.hosts, self.gauge, self.bearer)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_750_000_000.0)


@pytest.fixture
def fake(clock: ManualClock) -> FakeKeyVault:
    return FakeKeyVault(clock=clock)


@pytest.fixture
def wire(fake: FakeKeyVault) -> Wire:
    return Wire(fake)


@pytest.fixture
def make_resolver(fake: FakeKeyVault, wire: Wire, clock: ManualClock) -> Iterator[Callable[..., SecretResolver]]:
    """Build resolvers on the fake (through a recording transport); every one is closed at the end of the test."""
    made: list[SecretResolver] = []

    def build(**options: Any) -> SecretResolver:
        options.setdefault("transport", wire.transport)
        options.setdefault("clock", clock.now)
        credential = options.pop("credential", None) or fake.async_credential()
        resolver = SecretResolver(credential, **options)
        made.append(resolver)
        return resolver

    yield build
    for resolver in made:
        resolver.close()


@pytest.fixture
def resolver(make_resolver: Callable[..., SecretResolver]) -> SecretResolver:
    return make_resolver()


def run_in_new_loop(coro: Any) -> Any:
    return asyncio.run(coro)


# -- the emulator ----------------------------------------------------------------------------------------------------


@pytest.fixture
def loopback_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """``*.localhost`` resolves to loopback in this process (``pytestmark = pytest.mark.usefixtures(...)``)."""
    resolve_localhost_subdomains(monkeypatch)


@pytest.fixture
def stores(request: pytest.FixtureRequest, fake: FakeKeyVault) -> FakeAppConfiguration | None:
    """The App Configuration ``server`` serves beside ``fake``: only in a module (or test) marked ``serve_stores``."""
    return FakeAppConfiguration(keyvault=fake) if request.node.get_closest_marker("serve_stores") else None


@pytest.fixture
def server(fake: FakeKeyVault, stores: FakeAppConfiguration | None) -> Iterator[EmulatorServer]:
    """The emulator serving ``fake`` (the module's own, where it defines one) on a free loopback port."""
    pytest.importorskip("uvicorn")
    with EmulatorServer(fake, appconfig=stores) as running:
        yield running


@pytest.fixture
def control(server: EmulatorServer) -> Iterator[httpx.Client]:
    """An httpx client of ``server``'s control API (``https://localhost:<port>/_kvconfig``), trusting its CA."""
    trust = ssl.create_default_context(cafile=str(server.ca_path))
    with httpx.Client(base_url=f"{server.base_url}/_kvconfig", verify=trust, timeout=10) as http:
        yield http


@pytest.fixture
def arranged(fake: FakeKeyVault, server: EmulatorServer) -> Arranged:
    """``fake`` (and ``server``'s stores) filled the way the portal tests expect (``portal_support.arrange``)."""
    return arrange(fake, server)
