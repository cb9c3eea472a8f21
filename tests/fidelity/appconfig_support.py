"""One handle for App Configuration fidelity tests: the official AzureAppConfigurationClient, sync or aio, signed
with a connection string (HMAC-SHA256) or with Entra tokens, on the fake store.

With ``wiring="patch"`` the clients get no ``transport=`` and no fake credential: they run on azure-core's default
transports with ``DefaultAzureCredential`` (or the connection string) inside ``FakeAppConfiguration.patch()``.

Bodies are written once as ``async def``: ``await store.call(store.client.get_configuration_setting, key)`` awaits
for the aio client and simply calls for the sync one.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from azure.appconfiguration import AzureAppConfigurationClient
from azure.appconfiguration.aio import AzureAppConfigurationClient as AsyncAzureAppConfigurationClient
from azure.identity import DefaultAzureCredential
from azure.identity.aio import DefaultAzureCredential as AsyncDefaultAzureCredential

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.appconfig import FakeAppConfiguration

STORE = "fidelity-store"
BACKENDS = [
    *((mode, auth, "transport") for mode in ("sync", "async") for auth in ("hmac", "entra")),
    *((mode, auth, "patch") for mode in ("sync", "async") for auth in ("hmac", "entra")),
]


@dataclass
class StoreUnderTest:
    mode: str
    auth: str
    fake: FakeAppConfiguration
    keyvault: FakeKeyVault
    client: Any
    wiring: str = "transport"

    @property
    def is_async(self) -> bool:
        return self.mode == "async"

    def make_client(self, *, connection_string: str | None = None, credential: Any = None, **kwargs: Any) -> Any:
        """Another official client on the same fake (a different key or identity)."""
        sync = self.mode == "sync"
        cls = AzureAppConfigurationClient if sync else AsyncAzureAppConfigurationClient
        if self.wiring == "transport":
            kwargs["transport"] = self.fake.transport() if sync else self.fake.async_transport()
        if connection_string is not None:
            return cls.from_connection_string(connection_string, **kwargs)
        if credential is None and self.wiring == "patch":
            credential = DefaultAzureCredential() if sync else AsyncDefaultAzureCredential()
        elif credential is None:
            credential = self.fake.credential() if sync else self.fake.async_credential()
        return cls(self.fake.endpoint(STORE), credential, **kwargs)

    async def call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def collect(self, pager: Any) -> list[Any]:
        if hasattr(pager, "__aiter__"):
            return [item async for item in pager]
        return list(pager)

    async def pages(self, pager: Any, **kwargs: Any) -> list[tuple[str | None, list[Any]]]:
        """(page etag, items) of each page of a ``by_page()`` iteration."""
        by_page = pager.by_page(**kwargs)
        found: list[tuple[str | None, list[Any]]] = []
        if hasattr(by_page, "__aiter__"):
            async for page in by_page:
                found.append((by_page.etag, [item async for item in page]))
        else:
            for page in by_page:
                found.append((by_page.etag, list(page)))
        return found

    async def close(self, client: Any = None) -> None:
        await self.call((client or self.client).close)


async def store_under_test(mode: str, auth: str, wiring: str = "transport") -> AsyncIterator[StoreUnderTest]:
    keyvault = FakeKeyVault()
    fake = FakeAppConfiguration(keyvault=keyvault)
    handle = StoreUnderTest(mode, auth, fake, keyvault, None, wiring)
    with fake.patch() if wiring == "patch" else contextlib.nullcontext():
        if auth == "hmac":
            handle.client = handle.make_client(connection_string=fake.connection_string(STORE))
        else:
            handle.client = handle.make_client()
        try:
            yield handle
        finally:
            await handle.close()


@pytest.fixture(params=BACKENDS, ids=["-".join(backend) for backend in BACKENDS])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[StoreUnderTest]:
    async for handle in store_under_test(*request.param):
        yield handle
