"""``SecretResolver``: turns Key Vault references in settings into values through the official async SDK.

References are collected, deduplicated by (vault, name, version), fetched concurrently under a bound with one SDK
client per vault and one shared credential, and cached by version. Every failure is collected and reported at once.
The sync facade runs the async core on a private event loop thread (see ``_loop.py``), so it also works where an
event loop is already running.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from kvconfig._cache import CachedSecret, SecretCache
from kvconfig._loop import LoopThread
from kvconfig._reference import KeyVaultReference, find_references, is_reference, parse_reference
from kvconfig.errors import (
    KvConfigError,
    ReferenceSyntaxError,
    ResolutionError,
    ResolutionFailure,
    UntrustedVaultError,
)

if TYPE_CHECKING:
    from azure.keyvault.secrets.aio import SecretClient

__all__ = [
    "ExpiryWarning",
    "ReferenceStatus",
    "RefreshEvent",
    "ResolvedSettings",
    "SecretResolver",
]

logger = logging.getLogger("kvconfig")

OnFailure = Literal["raise", "keep", "omit"]
_DNS_HINTS = ("name or service not known", "failed to resolve", "getaddrinfo", "nodename nor servname", "no such host")


class ExpiryWarning(UserWarning):
    """A resolved secret is expired or not yet valid (a failure instead when the resolver is strict)."""


class ResolvedSettings(dict[str, Any]):
    """The resolved settings: a plain ``dict`` whose repr never shows values."""

    def __repr__(self) -> str:
        return f"ResolvedSettings({sorted(self)!r} values hidden)"

    __str__ = __repr__


@dataclass(frozen=True)
class ReferenceStatus:
    """What ``check`` found for one reference of one setting (never the value)."""

    setting: str
    reference: str
    status: str
    version: str | None = None
    expires_on: datetime | None = None
    not_before: datetime | None = None
    detail: str = ""
    origin: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "OK"


@dataclass(frozen=True)
class RefreshEvent:
    """Sent to change listeners after a refresh: which settings changed, and which are stale (kept their last good
    value because their vault could not be read). Never values."""

    changed: frozenset[str]
    stale: frozenset[str] = frozenset()
    failures: tuple[ResolutionFailure, ...] = ()


@dataclass
class _Entry:
    """One setting and the references found in it."""

    setting: str
    text: str = field(repr=False)
    origin: str | None
    refs: list[tuple[int, int, KeyVaultReference]]
    whole: bool


class _Fetched:
    """Result of fetching one unique reference: a secret or a failure status."""

    __slots__ = ("detail", "secret", "stale", "status")

    def __init__(
        self, secret: CachedSecret | None = None, status: str = "OK", detail: str = "", stale: bool = False
    ) -> None:
        self.secret = secret
        self.status = status
        self.detail = detail
        self.stale = stale


class _AsyncCredentialAdapter:
    """Lets a sync ``TokenCredential`` serve the async SDK clients (token calls run in a worker thread)."""

    def __init__(self, credential: Any) -> None:
        self._credential = credential

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return await asyncio.to_thread(lambda: self._credential.get_token(*scopes, **kwargs))

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> _AsyncCredentialAdapter:
        return self

    async def __aexit__(self, *args: object) -> None:
        pass


def _is_async_credential(credential: Any) -> bool:
    return inspect.iscoroutinefunction(getattr(credential, "get_token", None))


class SecretResolver:
    """Resolves Key Vault references through ``azure.keyvault.secrets.aio.SecretClient``.

    :param credential: a token credential (sync or async); ``None`` uses azure-identity's ``DefaultAzureCredential``.
    :keyword transport: an azure-core ``AsyncHttpTransport`` (or a factory of them) for the SDK clients, e.g.
        ``fake.async_transport()``; the SDK's default (aiohttp) when omitted.
    :keyword cloud: the cloud ``VaultName=`` references map to (``"public"``, ``"china"``, ``"usgov"``).
    :keyword trusted_hosts: extra hosts (or ``.suffixes``) allowed to receive a token.
    :keyword concurrency: how many secrets are fetched at once.
    :keyword ttl: seconds a versionless reference keeps its resolved version before it is read again.
    :keyword max_cached_versions: LRU bound of the version cache.
    :keyword on_failure: ``"raise"`` (default) a :class:`ResolutionError` listing every failure; ``"keep"`` the
        literal reference text; ``"omit"`` the setting. Keeping or omitting is always an explicit choice.
    :keyword strict: expired or not-yet-valid secrets fail (``SecretExpired``/``SecretNotYetValid``) instead of
        warning.
    :keyword embedded: also resolve references embedded in longer values (``Password=@Microsoft.KeyVault(...);``).
    :keyword timeout: seconds allowed for one secret, SDK retries included (``FetchTimedOut`` after that).
    :keyword client_options: extra keyword arguments for every ``SecretClient`` (``api_version``, ``retry_total``...).
    :keyword clock: wall clock (epoch seconds) for expiry checks; injectable for tests.
    """

    def __init__(
        self,
        credential: Any = None,
        *,
        transport: Any = None,
        cloud: str = "public",
        trusted_hosts: Iterable[str] = (),
        concurrency: int = 16,
        ttl: float = 300.0,
        max_cached_versions: int = 4096,
        on_failure: OnFailure = "raise",
        strict: bool = False,
        embedded: bool = False,
        timeout: float = 30.0,
        client_options: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1.")
        if on_failure not in ("raise", "keep", "omit"):
            raise ValueError("on_failure must be 'raise', 'keep' or 'omit'.")
        self._credential_arg = credential
        self._transport = transport
        self.cloud = cloud
        self.trusted_hosts = tuple(trusted_hosts)
        self.concurrency = concurrency
        self.on_failure: OnFailure = on_failure
        self.strict = strict
        self.embedded = embedded
        self.timeout = timeout
        self._client_options = dict(client_options or {})
        self._clock = clock
        self.cache = SecretCache(ttl=ttl, max_versions=max_cached_versions, clock=monotonic)
        self._loop = LoopThread()
        self._clients: dict[str, SecretClient] = {}
        self._credential: Any = None
        self._owns_credential = False
        self._semaphore: asyncio.Semaphore | None = None
        self._inflight: dict[tuple[str, str, str | None], asyncio.Future[_Fetched]] = {}
        self._tracked: dict[str, _Entry] = {}
        self._values: dict[str, Any] = {}
        self._listeners: list[Callable[[RefreshEvent], object]] = []
        self._closed = False

    # -- public API ------------------------------------------------------------------------------------------------

    def resolve(self, settings: Mapping[str, Any], *, origins: Mapping[str, str] | None = None) -> ResolvedSettings:
        """Resolve every reference in ``settings`` (values that are not references pass through untouched)."""
        return self._loop.run(self._resolve(settings, origins or {}))

    async def resolve_async(
        self, settings: Mapping[str, Any], *, origins: Mapping[str, str] | None = None
    ) -> ResolvedSettings:
        """The async twin of :meth:`resolve`."""
        return await self._loop.run_async(self._resolve(settings, origins or {}))

    def resolve_value(self, text: str, *, setting: str = "value") -> str:
        """Resolve a single value (a reference or plain text)."""
        return str(self.resolve({setting: text})[setting])

    def check(self, settings: Mapping[str, Any], *, origins: Mapping[str, str] | None = None) -> list[ReferenceStatus]:
        """Read every reference and report its status and expiry, without raising for failures."""
        return self._loop.run(self._check(settings, origins or {}))

    async def check_async(
        self, settings: Mapping[str, Any], *, origins: Mapping[str, str] | None = None
    ) -> list[ReferenceStatus]:
        return await self._loop.run_async(self._check(settings, origins or {}))

    def refresh(self) -> ResolvedSettings:
        """Re-read the versionless references of the settings resolved so far; return all settings.

        Pinned versions are not read again (they cannot change). A reference whose vault cannot be read keeps its
        last good value and is reported stale. Listeners hear which settings changed.
        """
        return self._loop.run(self._refresh())

    async def refresh_async(self) -> ResolvedSettings:
        return await self._loop.run_async(self._refresh())

    def add_listener(self, listener: Callable[[RefreshEvent], object]) -> Callable[[], None]:
        """Call ``listener(RefreshEvent)`` after each refresh that changed or staled something; returns a remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def invalidate(self, vault_url: str | None = None, name: str | None = None) -> None:
        """Make the next resolve read the latest version of these secrets again (e.g. on a new-version event)."""
        self.cache.invalidate(vault_url.rstrip("/").lower() if vault_url else None, name)

    @property
    def values(self) -> ResolvedSettings:
        """The settings as last resolved or refreshed."""
        return ResolvedSettings(self._values)

    def close(self) -> None:
        """Close the SDK clients and the credential the resolver made, and stop its loop thread."""
        if self._closed:
            return
        self._closed = True
        if self._loop._loop is not None:
            self._loop.run(self._aclose())
        self._loop.close()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._loop._loop is not None:
            await self._loop.run_async(self._aclose())
        self._loop.close()

    def __enter__(self) -> SecretResolver:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    async def __aenter__(self) -> SecretResolver:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"SecretResolver(cloud={self.cloud!r}, concurrency={self.concurrency}, ttl={self.cache.ttl}, "
            f"on_failure={self.on_failure!r}, cached_versions={len(self.cache)})"
        )

    # -- collecting references ---------------------------------------------------------------------------------------

    def _collect(
        self, settings: Mapping[str, Any], origins: Mapping[str, str]
    ) -> tuple[list[_Entry], list[ResolutionFailure]]:
        entries: list[_Entry] = []
        failures: list[ResolutionFailure] = []
        for setting, value in settings.items():
            if not isinstance(value, str):
                continue
            origin = origins.get(setting)
            try:
                if is_reference(value):
                    ref = parse_reference(
                        value, setting=setting, origin=origin, cloud=self.cloud, trusted_hosts=self.trusted_hosts
                    )
                    entries.append(_Entry(setting, value, origin, [(0, len(value), ref)], whole=True))
                elif self.embedded and "@microsoft.keyvault(" in value.lower():
                    found = find_references(
                        value, setting=setting, origin=origin, cloud=self.cloud, trusted_hosts=self.trusted_hosts
                    )
                    if found:
                        entries.append(_Entry(setting, value, origin, found, whole=False))
            except ReferenceSyntaxError as exc:
                failures.append(ResolutionFailure(setting, _shown(value), "InvalidSyntax", exc.reason, origin))
            except UntrustedVaultError as exc:
                failures.append(
                    ResolutionFailure(
                        setting, _shown(value), "UntrustedVault", f"host {exc.host!r} is not trusted", origin
                    )
                )
        return entries, failures

    # -- the async core -----------------------------------------------------------------------------------------------

    async def _resolve(self, settings: Mapping[str, Any], origins: Mapping[str, str]) -> ResolvedSettings:
        entries, failures = self._collect(settings, origins)
        fetched = await self._fetch_all(entries, use_cache=True)
        result, more = self._assemble(settings, entries, fetched)
        failures.extend(more)
        for entry in entries:
            self._tracked[entry.setting] = entry
        if failures:
            failures.sort(key=lambda failure: failure.setting)
            if self.on_failure == "raise":
                raise ResolutionError(failures)
            for failure in failures:
                logger.warning("Key Vault reference not resolved (%s): %s", self.on_failure, failure)
                if self.on_failure == "omit":
                    result.pop(failure.setting, None)
        self._values.update(result)
        return result

    async def _check(self, settings: Mapping[str, Any], origins: Mapping[str, str]) -> list[ReferenceStatus]:
        entries, failures = self._collect(settings, origins)
        fetched = await self._fetch_all(entries, use_cache=False)
        statuses = [
            ReferenceStatus(f.setting, f.reference, f.status, detail=f.detail, origin=f.origin) for f in failures
        ]
        now = self._now()
        for entry in entries:
            for _start, _end, ref in entry.refs:
                item = fetched[ref.key]
                secret = item.secret
                status, detail = item.status, item.detail
                if secret is not None and status == "OK":
                    status, detail = _validity(secret, now) or ("OK", "")
                statuses.append(
                    ReferenceStatus(
                        entry.setting,
                        str(ref),
                        status,
                        version=secret.version if secret else None,
                        expires_on=secret.expires_on if secret else None,
                        not_before=secret.not_before if secret else None,
                        detail=detail,
                        origin=entry.origin,
                    )
                )
        statuses.sort(key=lambda status: status.setting)
        return statuses

    async def _refresh(self) -> ResolvedSettings:
        entries = list(self._tracked.values())
        before = {entry.setting: self._values.get(entry.setting) for entry in entries}
        fetched = await self._fetch_all(entries, use_cache=False, only_latest=True)
        settings = {entry.setting: entry.text for entry in entries}
        result, failures = self._assemble(settings, entries, fetched)
        stale = frozenset(
            entry.setting for entry in entries if any(fetched[ref.key].stale for _s, _e, ref in entry.refs)
        )
        for failure in failures:
            logger.warning("Refresh could not read a Key Vault reference, keeping the last good value: %s", failure)
            if failure.setting in before and before[failure.setting] is not None:
                result[failure.setting] = before[failure.setting]
        changed = frozenset(
            setting for setting, value in result.items() if setting in before and before[setting] != value
        )
        self._values.update(result)
        if changed or stale or failures:
            event = RefreshEvent(changed, stale | {f.setting for f in failures}, tuple(failures))
            for listener in list(self._listeners):
                try:
                    outcome = listener(event)
                    if inspect.isawaitable(outcome):
                        await outcome
                except Exception:
                    logger.exception("A kvconfig change listener failed")
        return ResolvedSettings(self._values)

    def _assemble(
        self, settings: Mapping[str, Any], entries: list[_Entry], fetched: Mapping[Any, _Fetched]
    ) -> tuple[ResolvedSettings, list[ResolutionFailure]]:
        result = ResolvedSettings(settings)
        failures: list[ResolutionFailure] = []
        now = self._now()
        for entry in entries:
            pieces: list[str] = []
            position = 0
            failed = False
            for start, end, ref in entry.refs:
                item = fetched[ref.key]
                status, detail = item.status, item.detail
                if item.secret is not None and status == "OK":
                    invalid = _validity(item.secret, now)
                    if invalid is not None:
                        if self.strict:
                            status, detail = invalid
                        else:
                            warnings.warn(
                                f"Setting {entry.setting!r}: {invalid[1]} ({ref})", ExpiryWarning, stacklevel=2
                            )
                if status != "OK" or item.secret is None:
                    failures.append(ResolutionFailure(entry.setting, str(ref), status, detail, entry.origin))
                    failed = True
                    continue
                pieces.append(entry.text[position:start])
                pieces.append(item.secret.value)
                position = end
            if failed:
                continue
            pieces.append(entry.text[position:])
            result[entry.setting] = "".join(pieces)
        return result, failures

    async def _fetch_all(
        self, entries: list[_Entry], *, use_cache: bool, only_latest: bool = False
    ) -> dict[tuple[str, str, str | None], _Fetched]:
        unique: dict[tuple[str, str, str | None], KeyVaultReference] = {}
        for entry in entries:
            for _start, _end, ref in entry.refs:
                unique.setdefault(ref.key, ref)
        results: dict[tuple[str, str, str | None], _Fetched] = {}
        pending: dict[tuple[str, str, str | None], Awaitable[_Fetched]] = {}
        for key, ref in unique.items():
            cached = self._cached(ref) if use_cache or (only_latest and ref.version) else None
            if cached is not None:
                results[key] = _Fetched(cached)
            else:
                pending[key] = self._fetch_shared(ref)
        if pending:
            logger.debug("Fetching %d Key Vault secret(s) (%d from cache)", len(pending), len(results))
            outcomes = await asyncio.gather(*pending.values())
            results.update(zip(pending, outcomes, strict=False))
        if only_latest:
            for key, item in results.items():
                ref = unique[key]
                if item.status not in ("OK", "SecretNotFound", "SecretVersionNotFound", "SecretDisabled"):
                    last = self.cache.get_latest(ref.vault_url, ref.name, allow_stale=True)
                    if last is not None:
                        results[key] = _Fetched(last, stale=True)
        return results

    def _cached(self, ref: KeyVaultReference) -> CachedSecret | None:
        if ref.version:
            return self.cache.get_version(ref.vault_url, ref.name, ref.version)
        return self.cache.get_latest(ref.vault_url, ref.name)

    def _fetch_shared(self, ref: KeyVaultReference) -> asyncio.Future[_Fetched]:
        """One request per reference even when several resolves want it at the same time."""
        future = self._inflight.get(ref.key)
        if future is None:
            future = asyncio.ensure_future(self._fetch(ref))
            self._inflight[ref.key] = future
            future.add_done_callback(lambda _: self._inflight.pop(ref.key, None))
        return future

    async def _fetch(self, ref: KeyVaultReference) -> _Fetched:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        try:
            client = await self._client_for(ref.vault_url)
            async with self._semaphore:
                secret = await asyncio.wait_for(client.get_secret(ref.name, ref.version), self.timeout)
        except Exception as exc:  # every failure becomes a status; nothing escapes unreported
            status, detail = _classify(exc, ref)
            logger.debug("Key Vault reference %s failed: %s", ref, status)
            return _Fetched(status=status, detail=detail)
        props = secret.properties
        cached = CachedSecret(
            vault_url=ref.vault_url,
            name=ref.name,
            version=props.version or "",
            value=secret.value or "",
            enabled=bool(props.enabled) if props.enabled is not None else True,
            not_before=props.not_before,
            expires_on=props.expires_on,
            content_type=props.content_type,
        )
        self.cache.put(cached, latest=ref.version is None)
        return _Fetched(cached)

    async def _client_for(self, vault_url: str) -> SecretClient:
        client = self._clients.get(vault_url)
        if client is None:
            from azure.keyvault.secrets.aio import SecretClient

            options = dict(self._client_options)
            if self._transport is not None:
                options["transport"] = self._transport() if callable(self._transport) else self._transport
            client = SecretClient(vault_url, self._get_credential(), **options)
            self._clients[vault_url] = client
        return client

    def _get_credential(self) -> Any:
        if self._credential is None:
            credential = self._credential_arg
            if credential is None:
                from azure.identity.aio import DefaultAzureCredential

                credential = DefaultAzureCredential()
                self._owns_credential = True
            elif not _is_async_credential(credential):
                credential = _AsyncCredentialAdapter(credential)
            self._credential = credential
        return self._credential

    async def _aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
        if self._owns_credential and self._credential is not None:
            await self._credential.close()
        self._credential = None

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=timezone.utc)


def _shown(value: str) -> str:
    """Show a reference-looking value in a failure; anything else might be a secret pasted by mistake."""
    text = value.strip()
    if is_reference(text) and len(text) <= 400:
        return text
    return "<value hidden>" if not is_reference(text) else text[:400] + "..."


def _validity(secret: CachedSecret, now: datetime) -> tuple[str, str] | None:
    if secret.expires_on is not None and now >= secret.expires_on:
        return "SecretExpired", f"the secret expired on {secret.expires_on.isoformat()}"
    if secret.not_before is not None and now < secret.not_before:
        return "SecretNotYetValid", f"the secret is not valid before {secret.not_before.isoformat()}"
    return None


def _classify(exc: BaseException, ref: KeyVaultReference) -> tuple[str, str]:
    """Map an SDK or transport error to App Service's status vocabulary (and a value-free detail)."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "FetchTimedOut", "no answer within the resolver's timeout"
    if isinstance(exc, ResourceNotFoundError):
        if ref.version:
            return "SecretVersionNotFound", f"version {ref.version} of secret {ref.name!r} does not exist"
        return "SecretNotFound", f"secret {ref.name!r} does not exist in {ref.vault_url}"
    if isinstance(exc, ClientAuthenticationError):
        return "AccessToKeyVaultDenied", f"authentication failed: {_service_message(exc)}"
    if isinstance(exc, HttpResponseError):
        inner = _inner_code(exc)
        if exc.status_code == 403 and inner == "SecretDisabled":
            return "SecretDisabled", f"secret {ref.name!r} is disabled"
        if exc.status_code == 403:
            return "AccessToKeyVaultDenied", _service_message(exc)
        if exc.status_code in (408, 429, 500, 502, 503, 504):
            return "FetchTimedOut", f"the vault answered {exc.status_code} after the SDK's retries"
        return "OtherReasons", f"HTTP {exc.status_code}: {_service_message(exc)}"
    if isinstance(exc, ServiceRequestError):
        message = str(exc).lower()
        if any(hint in message for hint in _DNS_HINTS):
            return "VaultNotFound", f"the vault host {ref.vault_host} does not resolve"
        if "timeout" in message or "timed out" in message:
            return "FetchTimedOut", "the connection to the vault timed out"
        return "OtherReasons", f"cannot reach {ref.vault_host}: {type(exc).__name__}"
    if isinstance(exc, ServiceResponseError):
        return "FetchTimedOut", f"the vault's answer was lost ({type(exc).__name__})"
    try:
        from azure.identity import CredentialUnavailableError

        if isinstance(exc, CredentialUnavailableError):
            return "AccessToKeyVaultDenied", "no credential was available to authenticate"
    except ImportError:  # pragma: no cover - azure-identity is a dependency
        pass
    if isinstance(exc, KvConfigError):
        return "OtherReasons", str(exc)
    return "OtherReasons", f"{type(exc).__name__} while reading the secret"


def _service_message(exc: Any) -> str:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None)
    if code or message:
        return f"{code}: {message}" if code else str(message)
    return getattr(exc, "reason", None) or type(exc).__name__


def _inner_code(exc: Any) -> str | None:
    error = getattr(exc, "error", None)
    inner = getattr(error, "innererror", None)
    if isinstance(inner, dict):
        code = inner.get("code")
        return str(code) if code else None
    return None


def _iter_strings(value: Any) -> Iterator[str]:  # pragma: no cover - reserved for nested sources
    if isinstance(value, str):
        yield value
