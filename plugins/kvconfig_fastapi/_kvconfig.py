"""``KvConfig``: the settings of a FastAPI app, loaded in its lifespan and refreshed in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import JSONResponse

from kvconfig import ResolutionError, ResolutionFailure, SecretResolver
from kvconfig.settings import KeyVaultSettings
from kvconfig_fastapi._coalesce import RefreshCoalescer, SecretName
from kvconfig_fastapi._eventgrid import MAX_BODY_BYTES, eventgrid_router
from kvconfig_fastapi._webhook_auth import SharedSecret, WebhookAuthenticator

__all__ = ["KvConfig", "RefreshOutcome"]

logger = logging.getLogger("kvconfig.fastapi")

S = TypeVar("S", bound=KeyVaultSettings)


@dataclass(frozen=True)
class RefreshOutcome:
    """How one refresh went: what changed, what is stale, what failed (names and references, never values)."""

    at: datetime
    ok: bool
    changed: frozenset[str] = frozenset()
    stale: frozenset[str] = frozenset()
    failures: tuple[ResolutionFailure, ...] = field(default=())
    reason: str = ""


class KvConfig(Generic[S]):
    """Holds the current settings object of an app (a :class:`~kvconfig.settings.KeyVaultSettings`).

    :param settings: the settings class, or a zero-argument factory returning a settings object.
    :keyword refresh_interval: seconds between background refreshes; ``None`` for none.
    :keyword event_interval: seconds within which Key Vault events for one secret cost at most one read of it
        (:meth:`refresh_secrets`: the first event refreshes at once, later ones join one trailing refresh).
    Refresh builds a new settings object (``settings.refresh()``) and swaps it in; when it fails the current object
    stays and the failure shows in :meth:`health`.
    """

    def __init__(
        self,
        settings: type[S] | Callable[[], S],
        *,
        refresh_interval: float | None = 300.0,
        event_interval: float = 10.0,
    ) -> None:
        if refresh_interval is not None and refresh_interval <= 0:
            raise ValueError("refresh_interval must be positive (or None for no background refresh).")
        if event_interval < 0:
            raise ValueError("event_interval cannot be negative.")
        self._factory = settings
        self.refresh_interval = refresh_interval
        self.event_interval = event_interval
        self._coalescer: RefreshCoalescer[RefreshOutcome] | None = None
        self._current: S | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock: asyncio.Lock | None = None
        self._listeners: list[Callable[[S, RefreshOutcome], object]] = []
        self.loaded_at: datetime | None = None
        self.last_refresh: RefreshOutcome | None = None
        self._unlisten: Callable[[], None] | None = None
        self._announced: set[asyncio.Task[RefreshOutcome | None]] = set()

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: FastAPI | None = None) -> AsyncIterator[None]:
        """Load the settings (raising :class:`~kvconfig.ResolutionError` with every bad reference, so the app does
        not start), run the background refresh, and stop it on shutdown. Compose with your own lifespan by entering
        it: ``async with kv.lifespan(app): ...``. Each start-up loads the settings afresh: a module-level app run by
        one test client after another (each test with its own vault contents and environment) sees its own."""
        await self.start()
        if app is not None:
            app.state.kvconfig = self
        try:
            yield
        finally:
            await self.stop()

    async def start(self) -> S:
        """Load the settings unless they are loaded, and start the background refresh; returns the settings."""
        if self._current is None:
            try:
                self._current = await asyncio.to_thread(self._factory)
            except ResolutionError as exc:
                logger.error("Settings could not be loaded at start-up:\n%s", exc)
                raise
            self.loaded_at = datetime.now(timezone.utc)
        if self.refresh_interval is not None and self._task is None:
            self._task = asyncio.create_task(self._refresh_loop(self.refresh_interval), name="kvconfig-refresh")
        resolver = self._shared_resolver()
        if self._unlisten is None and resolver is not None and resolver.fleet is not None:
            # Another replica received a new-version event: refresh that secret here too (without announcing it
            # again), on this app's loop; the resolver calls from its own loop thread.
            loop = asyncio.get_running_loop()
            self._unlisten = resolver.add_invalidation_listener(
                lambda vault_url, name: loop.call_soon_threadsafe(self._on_announced, vault_url, name)
            )
        return self._current

    def _shared_resolver(self) -> SecretResolver | None:
        resolver = type(self._current).model_config.get("keyvault_resolver") if self._current is not None else None
        return resolver if isinstance(resolver, SecretResolver) else None

    def _on_announced(self, vault_url: str, name: str) -> None:
        if self._current is None or not self.uses(vault_url, name):
            return
        task = asyncio.ensure_future(self.refresh_secrets([(vault_url.lower(), name.lower())]))
        self._announced.add(task)
        task.add_done_callback(self._announced.discard)

    async def stop(self) -> None:
        """Stop the background refresh and forget the settings and their refresh history (the next start loads them
        again; the dependency answers 503 meanwhile)."""
        unlisten, self._unlisten = self._unlisten, None
        if unlisten is not None:
            unlisten()
        for pending in list(self._announced):
            pending.cancel()
        await asyncio.gather(*self._announced, return_exceptions=True)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        coalescer, self._coalescer = self._coalescer, None
        if coalescer is not None:
            await coalescer.close()
        # The lock belongs to this event loop; the next start may run in another (a new test client, say).
        self._lock = None
        self._current = None
        self.loaded_at = None
        self.last_refresh = None

    async def _refresh_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception:  # the loop must survive anything; refresh() already recorded what went wrong
                logger.exception("kvconfig background refresh failed")

    # -- the settings --------------------------------------------------------------------------------------------

    @property
    def current(self) -> S:
        if self._current is None:
            raise RuntimeError("The settings are not loaded: use KvConfig.lifespan (or await start()) first.")
        return self._current

    def settings(self) -> S:
        """FastAPI dependency: the current settings object (503 if they are not loaded)."""
        if self._current is None:
            raise HTTPException(status_code=503, detail="Settings are not loaded.")
        return self._current

    def on_change(self, listener: Callable[[S, RefreshOutcome], object]) -> Callable[[], None]:
        """Call ``listener(new_settings, outcome)`` (sync or async) after a refresh that changed something.

        ``new_settings`` is the settings object just swapped in; ``outcome`` a :class:`RefreshOutcome` whose
        ``changed`` names what changed (setting names such as ``db_password`` or ``database.password`` for
        references, secret ids such as ``https://myvault.vault.azure.net/secrets/db-password`` for per-field
        secrets), never values. Returns a function that removes the listener.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def refresh(self, *, secrets: Iterable[tuple[str, str]] | None = None) -> RefreshOutcome:
        """Refresh now (one refresh at a time; a caller arriving meanwhile waits for it and refreshes again).

        :keyword secrets: ``(vault_url, name)`` pairs: read only these secrets again, keep every other value.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        chosen = None if secrets is None else tuple(secrets)
        async with self._lock:
            current = self.current
            now = datetime.now(timezone.utc)
            try:
                new = await current.refresh_async(secrets=chosen)
            except ResolutionError as exc:
                outcome = RefreshOutcome(now, ok=False, failures=exc.failures, reason="ResolutionError")
                logger.warning("Settings refresh failed; keeping the current settings:\n%s", exc)
            except Exception as exc:
                outcome = RefreshOutcome(now, ok=False, reason=type(exc).__name__)
                logger.warning("Settings refresh failed (%s); keeping the current settings", type(exc).__name__)
            else:
                status = new.keyvault_status
                outcome = RefreshOutcome(now, ok=True, changed=status.changed, stale=status.stale)
                self._current = new
                if status.changed:
                    logger.info("Settings refreshed; changed: %s", ", ".join(sorted(status.changed)))
                    await self._notify(new, outcome)
            self.last_refresh = outcome
            return outcome

    async def _notify(self, settings: S, outcome: RefreshOutcome) -> None:
        for listener in list(self._listeners):
            try:
                result = listener(settings, outcome)
                if isinstance(result, Awaitable):
                    await result
            except Exception:
                logger.exception("A kvconfig change listener failed")

    def uses(self, vault_url: str, name: str) -> bool:
        """Whether a value of the current settings comes from secret ``name`` of ``vault_url``."""
        return self._current is not None and self._current.keyvault_status.uses(vault_url, name)

    async def refresh_secrets(self, secrets: Iterable[SecretName]) -> RefreshOutcome | None:
        """Refresh these ``(vault_url, name)`` secrets, at most once each per ``event_interval`` seconds.

        Returns the outcome when they were read now; ``None`` when a read within the interval means they are left to
        one trailing refresh when it ends (its outcome reaches :attr:`last_refresh` and the listeners).
        """
        if self._coalescer is None:
            self._coalescer = RefreshCoalescer(lambda chosen: self.refresh(secrets=chosen), self.event_interval)
        return await self._coalescer.request(secrets)

    def invalidate(self, vault_url: str, name: str) -> bool:
        """Forget the cached latest version of a secret; True when the current settings use it.

        Only a shared resolver (``keyvault_resolver=SecretResolver(...)``) caches across loads, so only its cache is
        touched; with a :class:`kvconfig.fleet.Fleet` sharing Redis, the resolver also announces the new version to
        the other replicas, whose ``KvConfig`` refresh that secret once. With a factory
        (``keyvault_resolver=lambda: SecretResolver(...)``) or none, each load and refresh makes its own resolver and
        closes it after, so there is nothing to forget: the next :meth:`refresh` reads the latest version anyway.
        The Event Grid router calls this for each new version the settings use, then refreshes.
        """
        resolver = self._shared_resolver()
        if resolver is not None:
            resolver.invalidate(vault_url, name)
        return self.current.keyvault_status.uses(vault_url, name)

    # -- health ----------------------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Health data: ``status`` ("ok", "stale", "failing" or "not-loaded"), load and refresh times, stale settings
        and failing references; with a shared resolver that has a :class:`kvconfig.fleet.Fleet`, ``fleet`` holds its
        ``health()`` (the Redis tier's state and counters, the budget, the start-up). Names and counts, never values.
        The Redis tier being unavailable does not change ``status``: reads then go to the vault directly."""
        if self._current is None:
            return {"status": "not-loaded"}
        status = self._current.keyvault_status
        last = self.last_refresh
        stale = sorted(status.stale)
        state = "ok"
        if last is not None and not last.ok:
            state = "failing"
        elif stale:
            state = "stale"
        data: dict[str, Any] = {
            "status": state,
            "loaded_at": _iso(self.loaded_at),
            "settings_built_at": _iso(status.loaded_at),
            "refresh_interval": self.refresh_interval,
            "last_refresh": _iso(last.at) if last else None,
            "last_refresh_ok": last.ok if last else None,
            "references": len(status.references) + len(status.secrets),
            "stale": stale,
            "failures": [
                {"setting": f.setting, "reference": f.reference, "status": f.status, "detail": f.detail}
                for f in (last.failures if last else ())
            ],
        }
        resolver = self._shared_resolver()
        fleet_health = getattr(resolver.fleet, "health", None) if resolver is not None else None
        if callable(fleet_health):
            data["fleet"] = fleet_health()
        return data

    def health_router(self, path: str = "/health/kvconfig", **router_options: Any) -> APIRouter:
        """A router with ``GET path``: :meth:`health` as JSON, with status 503 when failing or not loaded."""
        router = APIRouter(**router_options)

        @router.get(path, name="kvconfig_health")
        def kvconfig_health() -> JSONResponse:
            data = self.health()
            code = 503 if data["status"] in ("failing", "not-loaded") else 200
            return JSONResponse(data, status_code=code)

        return router

    def eventgrid_router(
        self,
        path: str = "/events/keyvault",
        *,
        token: str | None = None,
        authenticate: WebhookAuthenticator | None = None,
        allow_unauthenticated: bool = False,
        max_body_bytes: int = MAX_BODY_BYTES,
        **router_options: Any,
    ) -> APIRouter:
        """A router for Key Vault's Event Grid events (see :mod:`kvconfig_fastapi._eventgrid`).

        Authentication is required: ``token=`` (a shared secret, sent as ``?token=`` or the ``X-Kvconfig-Token``
        header) or ``authenticate=`` (:class:`~kvconfig_fastapi.EntraIdToken` for Event Grid's Entra ID delivery,
        or your own). ``allow_unauthenticated=True`` is the explicit opt-out (a network-isolated app, say): anyone who
        can reach the app can then make it read the secrets it uses, at most once per ``event_interval``.
        """
        if token is not None and authenticate is not None:
            raise ValueError("Pass token= or authenticate=, not both.")
        checker: WebhookAuthenticator | None = SharedSecret(token) if token is not None else authenticate
        if checker is None and not allow_unauthenticated:
            raise ValueError(
                "The Event Grid router needs authentication: pass token='<shared secret>' or "
                "authenticate=EntraIdToken(...), or allow_unauthenticated=True to accept events from anyone."
            )
        if checker is not None and allow_unauthenticated:
            raise ValueError("allow_unauthenticated=True contradicts token=/authenticate=.")
        if max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be positive.")
        return eventgrid_router(self, path, authenticate=checker, max_body_bytes=max_body_bytes, **router_options)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
