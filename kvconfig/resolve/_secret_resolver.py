"""``SecretResolver``: turns Key Vault references in settings into values through the official async SDK.

References are collected, deduplicated by (vault, name, version), fetched concurrently under a bound with one SDK
client per vault and one shared credential, and cached by version. Every failure is collected and reported at once.
The sync facade runs the async core on a private event loop thread (see ``_loop.py``), so it also works where an
event loop is already running. The SDK clients, the credential and fetching one secret live in ``_clients.py``;
this module decides what to fetch, puts values in place, refreshes and reports.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import time
import warnings
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal

from kvconfig.errors import ResolutionError, ResolutionFailure
from kvconfig.references import KeyVaultReference, cloud_vault_suffix, trusted_entries
from kvconfig.resolve._assembly import assemble, statuses_of
from kvconfig.resolve._cache import CachedSecret, SecretCache
from kvconfig.resolve._clients import Fetched, Key, VaultClients, checked_client_options
from kvconfig.resolve._collection import Entry, ReferenceCollector
from kvconfig.resolve._loop import DEFAULT_CLOSE_TIMEOUT, Closer, LoopThread
from kvconfig.resolve._progress import FetchProgress, observed
from kvconfig.resolve._results import RefreshEvent, ResolutionReport, ResolvedSettings
from kvconfig.resolve._shared import SharedTier
from kvconfig.resolve._status import UNREACHABLE, ReferenceStatus

__all__ = ["ExpiryWarning", "SecretResolver"]

logger = logging.getLogger("kvconfig")

OnFailure = Literal["raise", "keep", "omit"]


class ExpiryWarning(UserWarning):
    """A resolved secret is expired or not yet valid (a failure instead when the resolver is strict)."""


class SecretResolver:
    """Resolves Key Vault references through ``azure.keyvault.secrets.aio.SecretClient``.

    :param credential: a token credential (sync or async); ``None`` uses azure-identity's ``DefaultAzureCredential``.
    :keyword transport: an azure-core ``AsyncHttpTransport`` (or a factory of them) for the SDK clients, e.g.
        ``fake.async_transport()``; the SDK's default (aiohttp) when omitted.
    :keyword cloud: the cloud ``VaultName=`` references map to (``"public"``, ``"china"``, ``"usgov"``, ``"germany"``
        or the Azure CLI names).
    :keyword trusted_hosts: extra hosts (or ``.suffixes``) allowed to receive a token; a single string is one host.
    :keyword concurrency: how many secrets are fetched at once.
    :keyword ttl: seconds a versionless reference keeps its resolved version before it is read again; when the vault
        cannot be read then, resolve and refresh keep the last good value (with a warning).
    :keyword max_cached_versions: LRU bound of the version cache.
    :keyword on_failure: ``"raise"`` (default) a :class:`ResolutionError` listing every failure; ``"keep"`` the
        literal reference text; ``"omit"`` the setting. Keeping or omitting is always an explicit choice.
    :keyword strict: expired or not-yet-valid secrets fail (``SecretExpired``/``SecretNotYetValid``) instead of
        warning.
    :keyword embedded: also resolve references embedded in longer values (``Password=@Microsoft.KeyVault(...);``).
    :keyword timeout: seconds the reads of one resolve may take in all: waiting for a vault's first request, for the
        concurrency bound and SDK retries included (``FetchTimedOut`` after that).
    :keyword client_options: extra keyword arguments for every ``SecretClient`` (``api_version``, ``retry_total``...).
        ``logging_enable`` is refused (the SDK's network trace logs response bodies, which hold secret values), and
        so is following redirects (``permit_redirects=True``, ``redirect_policy``): Key Vault never redirects.
    :keyword clock: wall clock (epoch seconds) for expiry checks; injectable for tests.
    :keyword monotonic: the clock of the cache's TTL; injectable for tests.
    :keyword progress: a :class:`~kvconfig.FetchProgress` told which references are fetched and when each
        is done (names and statuses only); called on the resolver's loop thread. The CLI draws its progress line so.
    :keyword fleet: a :class:`kvconfig.fleet.Fleet` (one per resolver): a start-up deadline under throttling, a
        per-vault budget, a shared sealed cache on Redis. See docs/fleet.md.
    :keyword close_timeout: seconds :meth:`close` waits for the clients to close and the loop's threads to end; a
        worker stuck in a blocking call is not waited for past it (a sync credential's calls are never waited for).
    """

    def __init__(
        self,
        credential: Any = None,
        *,
        transport: Any = None,
        cloud: str = "public",
        trusted_hosts: Iterable[str] = (),
        concurrency: int = 32,
        ttl: float = 300.0,
        max_cached_versions: int = 4096,
        on_failure: OnFailure = "raise",
        strict: bool = False,
        embedded: bool = False,
        timeout: float = 30.0,
        client_options: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        progress: FetchProgress | None = None,
        fleet: SharedTier | None = None,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1.")
        if on_failure not in ("raise", "keep", "omit"):
            raise ValueError("on_failure must be 'raise', 'keep' or 'omit'.")
        if timeout <= 0:
            raise ValueError("timeout must be positive.")
        # One host, not one host per character; any other iterable read once (a generator would be used up by the
        # check below and then seen as empty).
        trusted_hosts = (trusted_hosts,) if isinstance(trusted_hosts, str) else tuple(trusted_hosts)
        # Checked here rather than at the first resolve: both are programming errors, and a bad one would otherwise
        # surface as a ValueError out of resolve().
        cloud_vault_suffix(cloud)
        trusted_entries(trusted_hosts)
        options = checked_client_options(client_options)
        self.cloud = cloud
        self.trusted_hosts = tuple(trusted_hosts)
        self.concurrency = concurrency
        self.on_failure: OnFailure = on_failure
        self.strict = strict
        self.embedded = embedded
        self.timeout = timeout
        self._clock = clock
        self._progress = progress
        self.cache = SecretCache(ttl=ttl, max_versions=max_cached_versions, clock=monotonic)
        self._loop = LoopThread(close_timeout=close_timeout)
        self._clients = VaultClients(
            credential,
            transport=transport,
            client_options=options,
            concurrency=concurrency,
            timeout=timeout,
            cache=self.cache,
            shared=fleet,
        )
        self._finalizer = weakref.finalize(self, _close_unclosed, self._loop, self._clients.aclose)
        self._tracked: dict[str, Entry] = {}
        self._collector = ReferenceCollector(cloud=cloud, trusted_hosts=self.trusted_hosts, embedded=embedded)
        self._values: dict[str, Any] = {}
        self._listeners: list[Callable[[RefreshEvent], object]] = []
        self._closed = False
        self._announcing: set[concurrent.futures.Future[None]] = set()  # invalidations being published
        self._announced: list[Callable[[str, str], object]] = []
        # kvconfig.fleet (docs/fleet.md): the fleet gets the vault reads and announces other replicas' new versions.
        self.fleet = fleet
        if fleet is not None:
            fleet.bind(self._on_fleet_invalidation)

    # -- public API ------------------------------------------------------------------------------------------------

    def resolve(
        self,
        settings: Mapping[str, Any],
        *,
        origins: Mapping[str, str] | None = None,
        content_types: Mapping[str, str | None] | None = None,
    ) -> ResolvedSettings:
        """Resolve every reference in ``settings`` (values that are not references pass through untouched).

        ``origins`` says where each setting came from (``"app.env:3"``), for error messages. ``content_types`` gives
        App Configuration content types: a setting whose content type is
        ``application/vnd.microsoft.appconfig.keyvaultref+json`` holds ``{"uri": "<secret URL>"}``.
        """
        self._check_open()
        result, notes = self._loop.run(self._resolve(settings, origins or {}, content_types or {}))
        _warn(notes)
        return result

    async def resolve_async(
        self,
        settings: Mapping[str, Any],
        *,
        origins: Mapping[str, str] | None = None,
        content_types: Mapping[str, str | None] | None = None,
    ) -> ResolvedSettings:
        """The async twin of :meth:`resolve`."""
        self._check_open()
        result, notes = await self._loop.run_async(self._resolve(settings, origins or {}, content_types or {}))
        _warn(notes)
        return result

    def resolve_report(
        self,
        settings: Mapping[str, Any],
        *,
        origins: Mapping[str, str] | None = None,
        content_types: Mapping[str, str | None] | None = None,
    ) -> ResolutionReport:
        """Resolve like :meth:`resolve`, but return the values and the failures together instead of raising.

        The report's ``values`` hold every setting that resolved (plain values included) and leave out the ones
        that failed, whatever ``on_failure`` says; its ``failures`` list each failing reference. Nothing is read
        twice: use it where some failures are acceptable (a missing secret that falls back to a default, a refresh
        that keeps the last good value) and the rest must still be reported.
        """
        self._check_open()
        report, notes = self._loop.run(self._resolve_report(settings, origins or {}, content_types or {}))
        _warn(notes)
        return report

    async def resolve_report_async(
        self,
        settings: Mapping[str, Any],
        *,
        origins: Mapping[str, str] | None = None,
        content_types: Mapping[str, str | None] | None = None,
    ) -> ResolutionReport:
        """The async twin of :meth:`resolve_report`."""
        self._check_open()
        report, notes = await self._loop.run_async(self._resolve_report(settings, origins or {}, content_types or {}))
        _warn(notes)
        return report

    def resolve_value(self, text: str, *, setting: str = "value") -> str:
        """Resolve a single value (a reference or plain text): a one-off lookup.

        The value is not tracked: it stays out of :attr:`values`, :meth:`refresh` does not read it again and no
        :class:`RefreshEvent` names it (resolve ``{name: text}`` with :meth:`resolve` for that). ``setting`` only names
        the value in error messages. A failure raises :class:`ResolutionError` unless ``on_failure`` is ``"keep"``
        (the reference text is returned); with ``"omit"`` there is no value to return, so it raises as well.
        """
        self._check_open()
        result, notes = self._loop.run(self._resolve({setting: text}, {}, {}, track=False))
        _warn(notes)
        return str(result[setting])

    def check(
        self,
        settings: Mapping[str, Any],
        *,
        origins: Mapping[str, str] | None = None,
        content_types: Mapping[str, str | None] | None = None,
    ) -> list[ReferenceStatus]:
        """Read every reference and report its status and expiry, without raising for failures."""
        self._check_open()
        return self._loop.run(self._check(settings, origins or {}, content_types or {}))

    async def check_async(
        self,
        settings: Mapping[str, Any],
        *,
        origins: Mapping[str, str] | None = None,
        content_types: Mapping[str, str | None] | None = None,
    ) -> list[ReferenceStatus]:
        """The async twin of :meth:`check`."""
        self._check_open()
        return await self._loop.run_async(self._check(settings, origins or {}, content_types or {}))

    def refresh(self) -> ResolvedSettings:
        """Re-read the versionless references of the settings resolved so far; return all settings.

        Pinned versions are not read again (they cannot change). A reference whose vault cannot be read keeps its
        last good value and is reported stale. Listeners hear which settings changed.
        """
        self._check_open()
        result, notes = self._loop.run(self._refresh())
        _warn(notes)
        return result

    async def refresh_async(self) -> ResolvedSettings:
        """The async twin of :meth:`refresh`."""
        self._check_open()
        result, notes = await self._loop.run_async(self._refresh())
        _warn(notes)
        return result

    def add_listener(self, listener: Callable[[RefreshEvent], object]) -> Callable[[], None]:
        """Call ``listener(RefreshEvent)`` after each refresh that changed or staled something; returns a remover.

        Listeners run on the resolver's loop thread; an async listener is awaited there. They must use the async
        API of the resolver, if any.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def invalidate(self, vault_url: str | None = None, name: str | None = None, *, announce: bool = True) -> None:
        """Make the next resolve read the latest version of these secrets again (e.g. on a new-version event).

        With a fleet that shares a cache, one secret's invalidation also reaches the other replicas (the shared
        pointer is dropped before this resolver's next read) unless ``announce=False``: a routine re-read, or one
        that another replica's announcement caused, stays local so the fleet hears each new version once.
        """
        vault = vault_url.rstrip("/").lower() if vault_url else None
        self.cache.invalidate(vault, name)
        if announce and self.fleet is not None and vault and name and not self._closed:
            future = self._loop.submit(self.fleet.publish_invalidation(vault, name))
            self._announcing.add(future)
            future.add_done_callback(self._announcing.discard)

    def add_invalidation_listener(self, listener: Callable[[str, str], object]) -> Callable[[], None]:
        """Call ``listener(vault_url, name)`` when another replica of the fleet announces a new version of a secret
        (after this resolver refreshed, if its settings use it). On the loop thread; an async listener is awaited."""
        self._announced.append(listener)
        return lambda: self._announced.remove(listener) if listener in self._announced else None

    async def _on_fleet_invalidation(self, vault_url: str, name: str) -> None:
        """Another replica announced a new version: drop ours and refresh, if the settings use that secret."""
        vault_url = vault_url.rstrip("/").lower()
        self.cache.invalidate(vault_url, name)
        used = any(
            ref.vault_url == vault_url and ref.name.lower() == name.lower() and ref.version is None
            for entry in self._tracked.values()
            for _start, _end, ref in entry.refs
        )
        if used:
            await self._refresh()
        await _notify(self._announced, "invalidation", vault_url, name)

    @property
    def values(self) -> ResolvedSettings:
        """The settings as last resolved or refreshed."""
        return ResolvedSettings(self._values)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the SDK clients and the credential the resolver made, and stop its loop thread.

        Resolves still running (on other threads) end with a ``RuntimeError``. A resolver never closed is closed
        when it is garbage collected or the interpreter exits.
        """
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        self._loop.close(self._clients.aclose)

    async def aclose(self) -> None:
        """The async twin of :meth:`close`."""
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        await self._loop.aclose(self._clients.aclose)

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

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("This SecretResolver is closed; create a new one.")

    # -- the async core -----------------------------------------------------------------------------------------------

    async def _resolve(
        self,
        settings: Mapping[str, Any],
        origins: Mapping[str, str],
        content_types: Mapping[str, str | None],
        *,
        track: bool = True,
    ) -> tuple[ResolvedSettings, list[str]]:
        result, failures, notes, cause = await self._resolve_all(settings, origins, content_types, track=track)
        if failures:
            # An untracked value (resolve_value) has no setting to omit: it raises rather than vanish.
            if self.on_failure == "raise" or (self.on_failure == "omit" and not track):
                raise ResolutionError(failures) from cause
            for failure in failures:
                logger.warning("Key Vault reference not resolved (%s): %s", self.on_failure, failure)
                if self.on_failure == "omit":
                    result.pop(failure.setting, None)
        if track:
            self._publish(result)
        return result, notes

    async def _resolve_report(
        self, settings: Mapping[str, Any], origins: Mapping[str, str], content_types: Mapping[str, str | None]
    ) -> tuple[ResolutionReport, list[str]]:
        result, failures, notes, cause = await self._resolve_all(settings, origins, content_types)
        for failure in failures:
            result.pop(failure.setting, None)
        self._publish(result)
        return ResolutionReport(result, tuple(failures), cause), notes

    async def _resolve_all(
        self,
        settings: Mapping[str, Any],
        origins: Mapping[str, str],
        content_types: Mapping[str, str | None],
        *,
        track: bool = True,
    ) -> tuple[ResolvedSettings, list[ResolutionFailure], list[str], BaseException | None]:
        """Settings with their references replaced (failing ones keep their text), failures sorted by setting,
        expiry notes, and the first exception behind a failure. ``track``: refresh reads these settings again."""
        entries, failures = self._collector.collect(settings, origins, content_types)
        fetched = await self._fetch_all(entries, use_cache=True)
        result, more, notes = assemble(settings, entries, fetched, now=self._now(), strict=self.strict)
        failures.extend(more)
        if track:
            for entry in entries:
                self._tracked[entry.setting] = entry
        failures.sort(key=lambda failure: failure.setting)
        cause = next((item.error for item in fetched.values() if item.error is not None), None) if failures else None
        return result, failures, notes, cause

    async def _check(
        self, settings: Mapping[str, Any], origins: Mapping[str, str], content_types: Mapping[str, str | None]
    ) -> list[ReferenceStatus]:
        entries, failures = self._collector.collect(settings, origins, content_types)
        fetched = await self._fetch_all(entries, use_cache=False)
        return statuses_of(entries, failures, fetched, self._now())

    async def _refresh(self) -> tuple[ResolvedSettings, list[str]]:
        entries = list(self._tracked.values())
        before = {entry.setting: self._values.get(entry.setting) for entry in entries}
        fetched = await self._fetch_all(entries, use_cache=False, only_latest=True)
        settings = {entry.setting: entry.text for entry in entries}
        result, failures, notes = assemble(settings, entries, fetched, now=self._now(), strict=self.strict)
        stale = {entry.setting for entry in entries if any(fetched[ref.key].stale for _s, _e, ref in entry.refs)}
        for failure in failures:
            previous = before.get(failure.setting)
            if previous is not None:
                logger.warning("Refresh could not read a Key Vault reference, keeping the last good value: %s", failure)
                result[failure.setting] = previous
                stale.add(failure.setting)
            else:
                logger.warning("Refresh could not read a Key Vault reference: %s", failure)
                if self.on_failure != "keep":
                    result.pop(failure.setting, None)
        changed = frozenset(setting for setting, value in result.items() if before.get(setting) != value)
        self._publish(result)
        if changed or stale or failures:
            await _notify(self._listeners, "change", RefreshEvent(changed, frozenset(stale), tuple(failures)))
        return ResolvedSettings(self._values), notes

    async def _fetch_all(
        self, entries: list[Entry], *, use_cache: bool, only_latest: bool = False
    ) -> dict[Key, Fetched]:
        unique: dict[Key, KeyVaultReference] = {}
        for entry in entries:
            for _start, _end, ref in entry.refs:
                unique.setdefault(ref.key, ref)
        results: dict[Key, Fetched] = {}
        pending: dict[Key, Awaitable[Fetched]] = {}
        for key, ref in unique.items():
            cached = self._cached(ref) if use_cache or (only_latest and ref.version) else None
            if cached is not None:
                results[key] = Fetched(cached)
            else:
                pending[key] = self._clients.fetch_shared(ref)
        if pending and self._announcing:  # a read after invalidate() never meets the shared pointer it dropped
            await asyncio.gather(*(asyncio.wrap_future(f) for f in list(self._announcing)), return_exceptions=True)
        if pending:
            logger.debug("Fetching %d Key Vault secret(s) (%d from cache)", len(pending), len(results))
            if self._progress is not None:
                pending = observed(self._progress, pending, unique)
            outcomes = await asyncio.gather(*pending.values())
            results.update(zip(pending, outcomes, strict=True))
        if use_cache or only_latest:  # resolve and refresh (check reports what the vault says now)
            for key, item in results.items():
                ref = unique[key]
                if item.status not in UNREACHABLE or ref.version:
                    continue  # a pinned version is never swapped for another one
                last = self.cache.get_latest(ref.vault_url, ref.name, allow_stale=True)
                if last is not None:
                    users = sorted(entry.setting for entry in entries if any(r.key == key for _s, _e, r in entry.refs))
                    logger.warning(
                        "Could not read %s again (%s); keeping the last good value for %s",
                        ref,
                        item.status,
                        ", ".join(users),
                    )
                    results[key] = Fetched(last, stale=True)
        return results

    def _cached(self, ref: KeyVaultReference) -> CachedSecret | None:
        if ref.version:
            return self.cache.get_version(ref.vault_url, ref.name, ref.version)
        return self.cache.get_latest(ref.vault_url, ref.name)

    def _publish(self, result: Mapping[str, Any]) -> None:
        # Replaced, not updated in place: ``values`` is read from other threads while the loop thread writes.
        self._values = {**self._values, **result}

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=timezone.utc)


def _close_unclosed(loop: LoopThread, final: Closer) -> None:
    """The finalizer of a resolver nobody closed (run by the garbage collector or at exit): close what it opened and
    stop its thread, and never raise there."""
    try:
        loop.close(final)
    except Exception:
        logger.debug("Closing a SecretResolver nobody closed failed", exc_info=True)


async def _notify(listeners: list[Callable[..., object]], kind: str, *args: Any) -> None:
    """Call each listener (awaiting an async one); one that fails is logged and the others still run."""
    for listener in list(listeners):
        try:
            outcome = listener(*args)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            logger.exception("A kvconfig %s listener failed", kind)


def _warn(notes: list[str]) -> None:
    # Issued in the caller's thread (not the loop thread), so warning filters and pytest.warns see them.
    for note in notes:
        warnings.warn(note, ExpiryWarning, stacklevel=3)
