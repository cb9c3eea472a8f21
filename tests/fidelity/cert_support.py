"""A handle for certificate fidelity tests: an official CertificateClient (sync or async) on a fake vault.

Test bodies are written once, as ``async def``, against :class:`CertVault`; ``await cv.call(cv.client.get_certificate,
name)`` awaits when the client is async. ``create``/``delete``/``recover`` run the SDK's pollers the way applications
do (``begin_*`` + ``result()`` on the sync client, the awaited methods on the async one). Import the fixtures
(``certs``, ``certs_versions``) into a test module to use them.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from azure.keyvault.certificates import ApiVersion, CertificateClient, CertificatePolicy
from azure.keyvault.certificates import aio as certificates_aio
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from kvconfig.fake import FakeKeyVault, ManualClock

VAULT_URL = "https://certs.vault.azure.net"
with CertificateClient("https://x.vault.azure.net", FakeKeyVault().credential()) as _probe:
    DEFAULT_API_VERSION = str(_probe.api_version)
OTHER_API_VERSIONS = [v.value for v in ApiVersion if v.value != DEFAULT_API_VERSION]


@dataclass
class CertVault:
    """The certificate client under test, its fake, and helpers that hide the sync/async difference."""

    fake: FakeKeyVault
    mode: str
    api_version: str | None = None
    vault_url: str = VAULT_URL
    client: Any = None
    _closeables: list[Any] = field(default_factory=list)

    @property
    def is_async(self) -> bool:
        return self.mode == "async"

    def name(self, prefix: str = "c") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"retry_total": 0}
        if self.api_version:
            options["api_version"] = self.api_version
        if self.is_async:
            return {**options, "transport": self.fake.async_transport()}
        return {**options, "transport": self.fake.transport()}

    def _credential(self) -> Any:
        return self.fake.async_credential() if self.is_async else self.fake.credential()

    def make_client(self) -> Any:
        cls = certificates_aio.CertificateClient if self.is_async else CertificateClient
        client = cls(self.vault_url, self._credential(), **self._options())
        self._closeables.append(client)
        return client

    def secret_client(self) -> Any:
        """A SecretClient of the same kind (sync/async) on the same vault, at the SDK's default api-version."""
        cls = secrets_aio.SecretClient if self.is_async else SecretClient
        options = {key: value for key, value in self._options().items() if key != "api_version"}
        client = cls(self.vault_url, self._credential(), **options)
        self._closeables.append(client)
        return client

    async def call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def collect(self, pager: Any) -> list[Any]:
        if hasattr(pager, "__aiter__"):
            return [entry async for entry in pager]
        return list(pager)

    async def create(self, name: str, policy: CertificatePolicy | None = None, **kwargs: Any) -> Any:
        """Create through the SDK's poller and return its result (certificate, or operation for Unknown)."""
        policy = policy or CertificatePolicy.get_default()
        if self.is_async:
            return await self.client.create_certificate(name, policy, _polling_interval=0, **kwargs)
        poller = self.client.begin_create_certificate(name, policy, _polling_interval=0, **kwargs)
        return poller.result()

    async def delete(self, name: str) -> Any:
        if self.is_async:
            return await self.client.delete_certificate(name, _polling_interval=0)
        poller = self.client.begin_delete_certificate(name, _polling_interval=0)
        poller.wait()
        return poller.result()

    async def recover(self, name: str) -> Any:
        if self.is_async:
            return await self.client.recover_deleted_certificate(name, _polling_interval=0)
        poller = self.client.begin_recover_deleted_certificate(name, _polling_interval=0)
        poller.wait()
        return poller.result()

    async def close(self) -> None:
        for closeable in self._closeables:
            result = closeable.close()
            if inspect.isawaitable(result):
                await result


async def _cert_vault(mode: str, api_version: str | None, clock: ManualClock | None = None) -> AsyncIterator[CertVault]:
    cv = CertVault(FakeKeyVault(clock=clock), mode, api_version)
    cv.client = cv.make_client()
    try:
        yield cv
    finally:
        await cv.close()


@pytest.fixture(params=["sync", "async"])
async def certs(request: pytest.FixtureRequest) -> AsyncIterator[CertVault]:
    """A CertificateClient on a fresh fake, sync and async, at the SDK's default api-version."""
    async for handle in _cert_vault(request.param, None):
        yield handle


@pytest.fixture(
    params=[pytest.param(("sync", None), id="sync"), pytest.param(("async", None), id="async")]
    + [pytest.param(("sync", version), id=f"sync-{version}") for version in OTHER_API_VERSIONS]
)
async def certs_versions(request: pytest.FixtureRequest) -> AsyncIterator[CertVault]:
    """Like ``certs``, plus the sync client at every other api-version the installed SDK can send."""
    mode, version = request.param
    async for handle in _cert_vault(mode, version):
        yield handle


@pytest.fixture(params=["sync", "async"])
async def certs_clock(request: pytest.FixtureRequest) -> AsyncIterator[CertVault]:
    """Like ``certs``, on a fake whose clock only moves when the test moves it (``cv.fake.advance(days=...)``)."""
    async for handle in _cert_vault(request.param, None, ManualClock(1_750_000_000)):
        yield handle
