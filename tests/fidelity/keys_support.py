"""Fixtures and a handle for the keys and crypto fidelity tests: official KeyClient / CryptographyClient (sync or
async) on the fake.

Test bodies are written once, as ``async def``, against :class:`KeysUnderTest`; ``await h.call(method, ...)`` awaits
for the async clients and simply calls for the sync ones. Modules import the fixtures they use from here.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from azure.keyvault.keys import ApiVersion, KeyClient
from azure.keyvault.keys import aio as keys_aio
from azure.keyvault.keys.crypto import CryptographyClient
from azure.keyvault.keys.crypto import aio as crypto_aio

from kvconfig.fake import FakeKeyVault, ManualClock

VAULT_URL = "https://keysfidelity.vault.azure.net"
PREMIUM_URL = "https://keyspremium.vault.azure.net"
HSM_URL = "https://keyshsm.managedhsm.azure.net"

with KeyClient("https://x.vault.azure.net", FakeKeyVault().credential()) as _probe:
    DEFAULT_API_VERSION = str(_probe.api_version)

ALL_API_VERSIONS = [v.value for v in ApiVersion]


@dataclass
class KeysUnderTest:
    """Official key clients on one fake; ``is_async`` picks the client family."""

    fake: FakeKeyVault
    is_async: bool
    api_version: str | None = None
    _closeables: list[Any] = field(default_factory=list)

    def name(self, prefix: str = "k") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    async def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def collect(self, pager: Any) -> list[Any]:
        if hasattr(pager, "__aiter__"):
            return [item async for item in pager]
        return list(pager)

    def _options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = {"retry_total": 0, **kwargs}
        if self.api_version and "api_version" not in options:
            options["api_version"] = self.api_version
        options.setdefault("transport", self.fake.async_transport() if self.is_async else self.fake.transport())
        return options

    def _credential(self) -> Any:
        credential = self.fake.async_credential() if self.is_async else self.fake.credential()
        self._closeables.append(credential)
        return credential

    def key_client(self, vault_url: str = VAULT_URL, **kwargs: Any) -> Any:
        cls = keys_aio.KeyClient if self.is_async else KeyClient
        client = cls(vault_url, self._credential(), **self._options(kwargs))
        self._closeables.append(client)
        return client

    def crypto_client(self, key: Any, **kwargs: Any) -> Any:
        """A CryptographyClient from a KeyVaultKey or a key id (it GETs the key on first use)."""
        cls = crypto_aio.CryptographyClient if self.is_async else CryptographyClient
        client = cls(key, self._credential(), **self._options(kwargs))
        self._closeables.append(client)
        return client

    async def delete(self, client: Any, name: str) -> Any:
        if self.is_async:
            return await client.delete_key(name, _polling_interval=0)
        poller = client.begin_delete_key(name, _polling_interval=0)
        poller.wait()
        return poller.result()

    async def recover(self, client: Any, name: str) -> Any:
        if self.is_async:
            return await client.recover_deleted_key(name, _polling_interval=0)
        poller = client.begin_recover_deleted_key(name, _polling_interval=0)
        poller.wait()
        return poller.result()

    async def close(self) -> None:
        for closeable in reversed(self._closeables):
            result = closeable.close()
            if inspect.isawaitable(result):
                await result


async def _handle(is_async: bool, api_version: str | None = None, clock: bool = False) -> AsyncIterator[KeysUnderTest]:
    fake = FakeKeyVault(clock=ManualClock()) if clock else FakeKeyVault()
    fake.create_vault(PREMIUM_URL, sku="premium")
    handle = KeysUnderTest(fake, is_async, api_version)
    try:
        yield handle
    finally:
        await handle.close()


@pytest.fixture(params=["sync", "async"])
async def kh(request: pytest.FixtureRequest) -> AsyncIterator[KeysUnderTest]:
    """Key clients on a fresh fake, sync and async."""
    async for handle in _handle(request.param == "async"):
        yield handle


@pytest.fixture(params=["sync", "async"])
async def kh_clock(request: pytest.FixtureRequest) -> AsyncIterator[KeysUnderTest]:
    """Like ``kh``, on a fake whose clock only moves when told (``kh.fake.advance(days=...)``)."""
    async for handle in _handle(request.param == "async", clock=True):
        yield handle


@pytest.fixture(params=[pytest.param(v, id=f"sync-{v}") for v in ALL_API_VERSIONS])
async def kh_versions(request: pytest.FixtureRequest) -> AsyncIterator[KeysUnderTest]:
    """The sync clients at every api-version the installed keys SDK can send."""
    async for handle in _handle(False, request.param):
        yield handle
