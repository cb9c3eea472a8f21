"""A handle for the deletion- and recovery-window fidelity tests: official clients (secrets, keys, certificates; sync
or async) on one fake with a ManualClock and a window (``deletion_delay``).

``start_delete``/``start_recover`` send the SDK's own request and return before any polling: ``begin_*`` on the sync
clients (which sends it and returns before polling), ``send_request`` on the async ones (whose ``delete_*`` and
``recover_deleted_*`` poll until the window ends before returning). ``delete``/``recover`` wait as applications do.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from azure.core.rest import HttpRequest
from azure.keyvault.certificates import CertificateClient, CertificatePolicy
from azure.keyvault.certificates import aio as certificates_aio
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys import aio as keys_aio
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from kvconfig.fake import FakeKeyVault, ManualClock

VAULT_URL = "https://deleting.vault.azure.net"
HSM_URL = "https://deletinghsm.managedhsm.azure.net"
DELAY = 7.0  # longer than one poll interval (2 s), so a poller meets the window more than once
KINDS = ("secret", "key", "certificate")
_SYNC = {"secret": SecretClient, "key": KeyClient, "certificate": CertificateClient}
_ASYNC = {
    "secret": secrets_aio.SecretClient,
    "key": keys_aio.KeyClient,
    "certificate": certificates_aio.CertificateClient,
}
NOT_FOUND_CODE = {"secret": "SecretNotFound", "key": "KeyNotFound", "certificate": "CertificateNotFound"}


@dataclass
class Deleting:
    """Official clients (sync or async) on one fake with a ManualClock and a deletion window."""

    fake: FakeKeyVault
    clock: ManualClock
    is_async: bool
    _closeables: list[Any] = field(default_factory=list)

    def name(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    def client(self, kind: str, vault_url: str = VAULT_URL) -> Any:
        credential = self.fake.async_credential() if self.is_async else self.fake.credential()
        transport = self.fake.async_transport() if self.is_async else self.fake.transport()
        client = (_ASYNC if self.is_async else _SYNC)[kind](vault_url, credential, transport=transport, retry_total=0)
        self._closeables += [client, credential]
        return client

    async def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def create(self, kind: str, client: Any, name: str) -> None:
        if kind == "secret":
            await self.call(client.set_secret, name, "v")
        elif kind == "key":
            await self.call(client.create_rsa_key, name)
        elif self.is_async:
            await client.create_certificate(name, CertificatePolicy.get_default())
        else:
            client.begin_create_certificate(name, CertificatePolicy.get_default()).result()

    async def start_delete(self, kind: str, client: Any, name: str) -> Any:
        """Send the SDK's DELETE and return without waiting: the sync poller (not yet polling), or None."""
        if not self.is_async:
            return getattr(client, f"begin_delete_{kind}")(name)
        collection = {"secret": "secrets", "key": "keys", "certificate": "certificates"}[kind]
        request = HttpRequest(
            "DELETE", f"{client.vault_url}/{collection}/{name}", params={"api-version": client.api_version}
        )
        response = await client.send_request(request)
        assert response.status_code == 200
        return None

    async def delete(self, kind: str, client: Any, name: str) -> Any:
        """Delete as applications do: the sync poller's ``wait()``, the awaited async ``delete_*``."""
        if self.is_async:
            return await getattr(client, f"delete_{kind}")(name)
        poller = getattr(client, f"begin_delete_{kind}")(name)
        poller.wait()
        assert poller.done()
        return poller.result()

    async def recover(self, kind: str, client: Any, name: str) -> Any:
        """The awaited async ``recover_deleted_*`` (it polls until the end), or the sync poller (not yet polling)."""
        if self.is_async:
            return await getattr(client, f"recover_deleted_{kind}")(name)
        return getattr(client, f"begin_recover_deleted_{kind}")(name)

    async def recovered(self, kind: str, client: Any, name: str) -> Any:
        """Recover as applications do: the sync poller's ``wait()``, the awaited async ``recover_deleted_*``."""
        if self.is_async:
            return await self.recover(kind, client, name)
        poller = getattr(client, f"begin_recover_deleted_{kind}")(name)
        poller.wait()
        assert poller.done()
        return poller.result()

    async def start_recover(self, kind: str, client: Any, name: str) -> None:
        """Send the SDK's recover request and return without waiting for the recovery to finish."""
        if not self.is_async:
            getattr(client, f"begin_recover_deleted_{kind}")(name)
            return
        request = HttpRequest(
            "POST",
            f"{client.vault_url}/deleted{kind}s/{name}/recover",
            params={"api-version": client.api_version},
        )
        response = await client.send_request(request)
        assert response.status_code == 200

    async def close(self) -> None:
        for closeable in self._closeables:
            result = closeable.close()
            if inspect.isawaitable(result):
                await result


@pytest.fixture(params=["sync", "async"])
async def deleting(request: pytest.FixtureRequest) -> AsyncIterator[Deleting]:
    """A :class:`Deleting` handle with sync or async clients on a fresh fake with a deletion window of ``DELAY``."""
    clock = ManualClock(1_750_000_000)
    handle = Deleting(FakeKeyVault(clock=clock, deletion_delay=DELAY), clock, request.param == "async")
    try:
        yield handle
    finally:
        await handle.close()
