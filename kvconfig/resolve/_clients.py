"""The resolver's SDK clients: one ``SecretClient`` per vault, one shared credential, and fetching one secret.

Start-up cost: the first request to a vault meets Key Vault's 401 challenge and a token request. Fanning out at once
would make every request of the first wave do both (one token request each), so the first request to a vault goes
alone until the credential has handed out a token for it; the rest follow right after, on the cached challenge and
token. That costs no extra round trip and asks the credential once per vault.

Everything here lives on the resolver's loop thread. :class:`VaultClients` holds no reference to the resolver, so a
resolver nobody closed can still have its clients closed by its finalizer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kvconfig.references import KeyVaultReference
from kvconfig.resolve._cache import CachedSecret, SecretCache
from kvconfig.resolve._credentials import as_async_credential, vault_credential
from kvconfig.resolve._shared import SharedTier
from kvconfig.resolve._status import classify

if TYPE_CHECKING:
    from azure.keyvault.secrets.aio import SecretClient

__all__ = ["Fetched", "Key", "VaultClients", "checked_client_options"]

logger = logging.getLogger("kvconfig")

Key = tuple[str, str, str | None]

# Key Vault never answers with a redirect: one would point the SDK (and, on the same domain, its token) somewhere the
# reference did not name. azure-core's redirect policy is told to follow none; a policy of the caller's would undo it.
_REDIRECT_OPTIONS = ("redirect_policy",)


def checked_client_options(client_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``SecretClient`` keyword arguments kvconfig uses: the caller's, with redirects off; a ``ValueError`` for
    options that would log values or follow redirects."""
    options = dict(client_options or {})
    if options.get("logging_enable"):
        raise ValueError(
            "client_options logging_enable=True would make the SDK log response bodies, which hold secret "
            "values; kvconfig refuses it."
        )
    refused = [name for name in _REDIRECT_OPTIONS if name in options]
    if options.get("permit_redirects", False) or refused:
        raise ValueError(
            f"client_options {', '.join(refused) or 'permit_redirects=True'}: Key Vault never redirects, and "
            "kvconfig does not follow redirects (one could lead a request away from the vault the reference names)."
        )
    options["permit_redirects"] = False
    return options


class Fetched:
    """Result of fetching one unique reference: a secret or a failure status (and the exception behind it)."""

    __slots__ = ("detail", "error", "secret", "stale", "status")

    def __init__(
        self,
        secret: CachedSecret | None = None,
        status: str = "OK",
        detail: str = "",
        stale: bool = False,
        error: BaseException | None = None,
    ) -> None:
        self.secret = secret
        self.status = status
        self.detail = detail
        self.stale = stale
        self.error = error


class _Gate:
    """Holds back a vault's other requests while its first one meets the challenge; records an auth failure."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.failure: Fetched | None = None


class _Vault:
    """One vault: its SDK client and whether requests may fan out to it yet."""

    client: SecretClient

    def __init__(self) -> None:
        self.open = False
        self.gate: _Gate | None = None

    def token_issued(self) -> None:
        self.open = True
        if self.gate is not None:
            self.gate.event.set()


class VaultClients:
    """Opens one SDK client per vault (and the credential, when the resolver was given none) and fetches through them.

    Fetches of the same (vault, name, version) at the same time share one request; at most ``concurrency`` run at
    once. Each fetch has a deadline ``timeout`` seconds after it starts: waiting behind the vault's first request,
    waiting for the concurrency bound and the read with the SDK's retries all count against it, so the fetches a
    resolve starts together end within ``timeout``. (With a fleet, its start-up deadline bounds the read and each
    attempt gets ``timeout``.) A fetched secret goes into ``cache``.
    """

    def __init__(
        self,
        credential: Any,
        *,
        transport: Any,
        client_options: Mapping[str, Any],
        concurrency: int,
        timeout: float,
        cache: SecretCache,
        shared: SharedTier | None = None,
    ) -> None:
        self._credential_arg = credential
        self._transport = transport
        self._client_options = dict(client_options)
        self._concurrency = concurrency
        self._timeout = timeout
        self._cache = cache
        self._shared = shared
        self._vaults: dict[str, _Vault] = {}
        self._credential: Any = None
        self._owns_credential = False
        self._semaphore: asyncio.Semaphore | None = None
        self._inflight: dict[Key, asyncio.Future[Fetched]] = {}

    async def aclose(self) -> None:
        """Close every SDK client, and the credential if it was made here."""
        vaults, self._vaults = list(self._vaults.values()), {}
        for vault in vaults:
            await vault.client.close()
        if self._shared is not None:
            await self._shared.aclose()
        if self._owns_credential and self._credential is not None:
            await self._credential.close()
        self._credential = None

    def fetch_shared(self, ref: KeyVaultReference) -> asyncio.Future[Fetched]:
        """One request per reference even when several resolves want it at the same time."""
        future = self._inflight.get(ref.key)
        if future is None:
            future = asyncio.ensure_future(self._fetch(ref))
            self._inflight[ref.key] = future
            future.add_done_callback(lambda _: self._inflight.pop(ref.key, None))
        return future

    async def _fetch(self, ref: KeyVaultReference) -> Fetched:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._concurrency)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout

        def left() -> float:
            return max(0.0, deadline - loop.time())

        pilot: _Gate | None = None
        try:
            vault = self._vault_for(ref.vault_url)
            if not vault.open:
                gate = vault.gate
                if gate is None:
                    pilot = vault.gate = _Gate()
                else:
                    # Waiting for the pilot counts against this fetch's own deadline, not on top of it.
                    await asyncio.wait_for(gate.event.wait(), left())
                    if gate.failure is not None:
                        return gate.failure
            await asyncio.wait_for(self._semaphore.acquire(), left())
            try:
                if self._shared is None:
                    cached = await self._read(vault, ref, left())
                else:
                    # The fleet decides how long a read may keep trying (its start-up deadline); each attempt gets
                    # the resolver's timeout.
                    cached = await self._shared.fetch(ref, lambda: self._read(vault, ref, self._timeout))
            finally:
                self._semaphore.release()
        except Exception as exc:  # every failure becomes a status; nothing escapes unreported
            status, detail = classify(exc, ref)
            logger.debug("Key Vault reference %s failed: %s", ref, status)
            failed = Fetched(status=status, detail=detail, error=exc)
            if pilot is not None and status == "AccessToKeyVaultDenied":
                # The credential or the vault turned the first request away: the others would only repeat it.
                pilot.failure = Fetched(status=status, detail=detail)
            return failed
        finally:
            if pilot is not None:
                if pilot.failure is None:
                    vault.open = True
                else:
                    vault.gate = None  # the next resolve tries again
                pilot.event.set()
        self._cache.put(cached, latest=ref.version is None)
        return Fetched(cached)

    async def _read(self, vault: _Vault, ref: KeyVaultReference, timeout: float) -> CachedSecret:
        secret = await asyncio.wait_for(vault.client.get_secret(ref.name, ref.version), timeout)
        props = secret.properties
        return CachedSecret(
            vault_url=ref.vault_url,
            name=ref.name,
            version=props.version or "",
            value=secret.value or "",
            enabled=bool(props.enabled) if props.enabled is not None else True,
            not_before=props.not_before,
            expires_on=props.expires_on,
            content_type=props.content_type,
        )

    def _vault_for(self, vault_url: str) -> _Vault:
        vault = self._vaults.get(vault_url)
        if vault is None:
            from azure.keyvault.secrets.aio import SecretClient

            options = dict(self._client_options)
            if self._transport is not None:
                options["transport"] = self._transport() if callable(self._transport) else self._transport
            if self._shared is not None:
                options["per_retry_policies"] = [
                    *options.get("per_retry_policies", ()),
                    *self._shared.client_policies(),
                ]
            vault = _Vault()
            vault.client = SecretClient(
                vault_url, vault_credential(self._get_credential(), vault.token_issued), **options
            )
            self._vaults[vault_url] = vault
        return vault

    def _get_credential(self) -> Any:
        if self._credential is None:
            credential = self._credential_arg
            if credential is None:
                from azure.identity.aio import DefaultAzureCredential

                credential = DefaultAzureCredential()
                self._owns_credential = True
            else:
                credential = as_async_credential(credential)
            self._credential = credential
        return self._credential
