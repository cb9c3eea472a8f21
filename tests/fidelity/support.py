"""One handle for fidelity tests: an official SecretClient (sync or async) on the fake or on a live vault.

Test bodies are written once, as ``async def``, against :class:`VaultUnderTest`: ``await kv.call(kv.client.get_secret,
name)`` awaits when the client is async and simply calls when it is sync, so the same body checks both clients.
"""

from __future__ import annotations

import inspect
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from azure.core.credentials import AccessToken, TokenCredential
from azure.keyvault.secrets import DeletedSecret, KeyVaultSecret, SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from kvconfig.fake import FakeKeyVault, ManualClock

LIVE_VAULT_URL = os.environ.get("KVCONFIG_LIVE_VAULT_URL", "").rstrip("/")
FAKE_VAULT_URL = "https://fidelity.vault.azure.net"

Mode = Literal["sync", "async"]
Wiring = Literal["transport", "patch", "live"]


@dataclass(frozen=True)
class Backend:
    """How the client reaches the vault: ``transport=`` injection, ``patch()`` with default transports, or live."""

    mode: Mode
    wiring: Wiring
    api_version: str | None = None

    @property
    def id(self) -> str:
        return f"{self.mode}-{self.wiring}" + (f"-{self.api_version}" if self.api_version else "")


@dataclass
class VaultUnderTest:
    """The client under test and what a test needs around it; ``fake`` is None against a live vault."""

    backend: Backend
    vault_url: str
    fake: FakeKeyVault | None
    client: Any
    _clients: list[Any] = field(default_factory=list)
    _credentials: list[Any] = field(default_factory=list)
    _created: list[tuple[Any, str]] = field(default_factory=list)

    @property
    def is_async(self) -> bool:
        return self.backend.mode == "async"

    @property
    def live(self) -> bool:
        return self.fake is None

    def need_fake(self) -> FakeKeyVault:
        """The fake, or skip: the test arranges or inspects state a live vault does not expose."""
        if self.fake is None:
            pytest.skip("needs the fake (arranges state a live vault cannot)")
        return self.fake

    def name(self, prefix: str = "s") -> str:
        """A fresh secret name (unique, so tests can share a live vault)."""
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

    async def set(self, name: str, value: str, **kwargs: Any) -> KeyVaultSecret:
        secret: KeyVaultSecret = await self.call(self.client.set_secret, name, value, **kwargs)
        self._created.append((self.client, name))
        return secret

    def _poll(self) -> dict[str, Any]:
        # The fake finishes deletes and recoveries at once; a live vault needs the SDK's polling interval.
        return {} if self.live else {"_polling_interval": 0}

    async def delete(self, name: str, client: Any = None) -> DeletedSecret:
        """Delete through the SDK's poller and wait for it, as applications do."""
        client = client or self.client
        if self.is_async:
            deleted: DeletedSecret = await client.delete_secret(name, **self._poll())
            return deleted
        poller = client.begin_delete_secret(name, **self._poll())
        poller.wait()
        result: DeletedSecret = poller.result()
        return result

    async def recover(self, name: str, client: Any = None) -> Any:
        client = client or self.client
        if self.is_async:
            return await client.recover_deleted_secret(name, **self._poll())
        poller = client.begin_recover_deleted_secret(name, **self._poll())
        poller.wait()
        return poller.result()

    def make_client(
        self, vault_url: str | None = None, credential: Any = None, **kwargs: Any
    ) -> SecretClient | secrets_aio.SecretClient:
        """Another client of the same kind (sync/async, same wiring), e.g. for a second vault or another credential."""
        url = vault_url or self.vault_url
        options: dict[str, Any] = {"retry_total": 0, **kwargs}
        if self.backend.api_version and "api_version" not in options:
            options["api_version"] = self.backend.api_version
        if credential is None:
            credential = _default_credential(self)
            self._credentials.append(credential)
        if self.backend.wiring == "transport" and "transport" not in options:
            assert self.fake is not None
            options["transport"] = self.fake.async_transport() if self.is_async else self.fake.transport()
        cls = secrets_aio.SecretClient if self.is_async else SecretClient
        client = cls(url, credential, **options)
        self._clients.append(client)
        return client

    async def close(self) -> None:
        if self.live:
            await self._clean_live()
        for closeable in [*self._clients, *self._credentials]:
            result = closeable.close()
            if inspect.isawaitable(result):
                await result

    async def _clean_live(self) -> None:
        for client, name in self._created:
            try:
                await self.delete(name, client)
                await self.call(client.purge_deleted_secret, name)
            except Exception:  # best effort: the test may have deleted it already
                pass


def _default_credential(kv: VaultUnderTest) -> Any:
    if kv.backend.wiring == "transport":
        assert kv.fake is not None
        return kv.fake.async_credential() if kv.is_async else kv.fake.credential()
    # patch() and live: the application's own credential, exactly as production code builds it.
    if kv.is_async:
        from azure.identity.aio import DefaultAzureCredential as AsyncDefaultAzureCredential

        return AsyncDefaultAzureCredential()
    from azure.identity import DefaultAzureCredential

    credential: TokenCredential = DefaultAzureCredential()
    return credential


class StaticCredential:
    """A sync credential handing out tokens from ``make_token`` (a test double, like many apps' own)."""

    def __init__(self, make_token: Callable[[], str]) -> None:
        self._make_token = make_token
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        return AccessToken(self._make_token(), int(time.time()) + 3600)

    def close(self) -> None:
        pass


class AsyncStaticCredential(StaticCredential):
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        return StaticCredential.get_token(self, *scopes, **kwargs)

    async def close(self) -> None:  # type: ignore[override]
        pass


def static_credential(kv: VaultUnderTest, make_token: Callable[[], str]) -> StaticCredential:
    """A credential of the kind ``kv``'s clients take (sync or async) returning ``make_token()``."""
    return AsyncStaticCredential(make_token) if kv.is_async else StaticCredential(make_token)


def fake_with_vault_and_pool(
    vault: str, hsm: str, clock: ManualClock | None = None
) -> tuple[FakeKeyVault, dict[str, str]]:
    """A fake on ``clock`` (a new ManualClock by default) holding the vault host ``vault`` and the activated Managed
    HSM host ``hsm``, and a long-lived bearer token for each host (for requests sent straight to ``fake.handle``)."""
    fake = FakeKeyVault(clock=clock or ManualClock(1_750_000_000))
    fake.create_vault(vault)
    fake.create_vault(hsm, cloud="managedhsm.azure.net", activated=True)
    credential = fake.credential(lifetime=10**8)
    tokens = {
        vault: credential.get_token("https://vault.azure.net/.default").token,
        hsm: credential.get_token("https://managedhsm.azure.net/.default").token,
    }
    return fake, tokens
