"""``KvConfig``: the Flask extension that resolves the Key Vault references in ``app.config``.

Refresh is checked in ``before_request``: when ``refresh_interval`` seconds have passed since the last refresh, the
request that notices it re-reads the versionless references (one request pays a vault round trip; others arriving
meanwhile do not wait and keep the current values). No background thread is started, so nothing outlives the app or
runs in a forked worker by surprise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from flask import Flask, current_app

from kvconfig import RefreshEvent, SecretResolver
from kvconfig_flask._cli import cli
from kvconfig_flask._state import DEFER_RESOLUTION, EXTENSION_KEY, KvConfigState, PathPart

__all__ = ["KvConfig", "KvConfigState"]

logger = logging.getLogger("kvconfig.flask")


class KvConfig:
    """Resolve the Key Vault references in ``app.config`` when the app is set up.

    :param app: the app, or ``None`` to call :meth:`init_app` later (app factories).
    :keyword resolver: a :class:`~kvconfig.SecretResolver` (default: one per app with ``DefaultAzureCredential``,
        resolving references embedded in longer values too, such as connection strings).
    :keyword refresh_interval: seconds between refreshes checked in ``before_request``; ``None`` (default) for none.
    Every failing reference is reported at once (:class:`~kvconfig.ResolutionError`) and the app is not set up.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        resolver: SecretResolver | None = None,
        refresh_interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolver = resolver
        self._refresh_interval = refresh_interval
        self._clock = clock
        if app is not None:
            self.init_app(app)

    def init_app(
        self, app: Flask, *, resolver: SecretResolver | None = None, refresh_interval: float | None = None
    ) -> None:
        active = resolver or self._resolver
        interval = refresh_interval if refresh_interval is not None else self._refresh_interval
        flat, paths = _references(app.config)
        state = KvConfigState(
            resolver=active if active is not None else SecretResolver(embedded=True),
            owns_resolver=active is None,
            references=flat,
            paths=paths,
            refresh_interval=interval,
        )
        app.extensions[EXTENSION_KEY] = state
        if EXTENSION_KEY not in app.cli.commands:
            app.cli.add_command(cli)
        if interval is not None:
            app.before_request(lambda: self._maybe_refresh(app))
        if DEFER_RESOLUTION.get():
            return
        origins = dict.fromkeys(flat, "app.config")
        try:
            report = state.resolver.resolve_report(flat, origins=origins)
            if state.resolver.on_failure == "raise":
                report.raise_for_failures()
        except BaseException:
            # The app will not be set up; the resolver made for it would otherwise keep its loop thread and clients.
            if state.owns_resolver:
                state.resolver.close()
            raise
        # A resolver that keeps or omits failures leaves their reference text in app.config; status names them.
        values = report.values
        state.failures = report.failures
        _write(app.config, paths, values)
        state.resolved = True
        state.refreshed_at = self._clock()
        logger.info("Resolved %d Key Vault reference(s) in app.config", len(flat))

    @staticmethod
    def state(app: Flask | None = None) -> KvConfigState:
        found = (app or current_app).extensions.get(EXTENSION_KEY)
        if not isinstance(found, KvConfigState):
            raise RuntimeError("KvConfig.init_app(app) has not been called for this app.")
        return found

    def refresh(self, app: Flask | None = None) -> RefreshEvent:
        """Re-read the versionless references now and write changed values into ``app.config``.

        A reference whose vault cannot be read keeps its last good value (reported stale); nothing raises.
        """
        target = app or current_app._get_current_object()  # type: ignore[attr-defined]
        state = self.state(target)
        events: list[RefreshEvent] = []
        remove = state.resolver.add_listener(events.append)
        try:
            values = state.resolver.refresh()
        finally:
            remove()
        mine = {key: value for key, value in values.items() if key in state.references}
        _write(target.config, state.paths, mine)
        event = events[-1] if events else RefreshEvent(frozenset())
        state.refreshed_at = self._clock()
        state.last_refresh = datetime.now(timezone.utc)
        state.stale = frozenset(event.stale & state.references.keys())
        state.failures = tuple(f for f in event.failures if f.setting in state.references)
        if event.changed:
            logger.info("Refreshed app.config; changed: %s", ", ".join(sorted(event.changed)))
        return event

    def close(self, app: Flask | None = None) -> None:
        """Close the resolver this extension made for the app (SDK clients, credential, loop thread)."""
        state = self.state(app)
        if state.owns_resolver:
            state.resolver.close()

    def _maybe_refresh(self, app: Flask) -> None:
        state = self.state(app)
        if state.refresh_interval is None or self._clock() - state.refreshed_at < state.refresh_interval:
            return
        if not state.lock.acquire(blocking=False):
            return  # another request is refreshing; this one goes on with the current values
        try:
            self.refresh(app)
        except Exception:  # a refresh must never fail a request
            logger.exception("kvconfig refresh failed; app.config keeps its current values")
        finally:
            state.lock.release()


def _walk(data: Any, path: tuple[PathPart, ...]) -> Iterator[tuple[tuple[PathPart, ...], Any]]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from _walk(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _walk(value, (*path, index))
    else:
        yield path, data


def _key(path: tuple[PathPart, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _references(config: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, tuple[PathPart, ...]]]:
    flat: dict[str, str] = {}
    paths: dict[str, tuple[PathPart, ...]] = {}
    for path, value in _walk(config, ()):
        if isinstance(value, str) and "@microsoft.keyvault(" in value.lower():
            key = _key(path)
            flat[key] = value
            paths[key] = path
    return flat, paths


def _write(config: Any, paths: Mapping[str, tuple[PathPart, ...]], values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        path = paths.get(key)
        if not path:
            continue
        target = config
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
