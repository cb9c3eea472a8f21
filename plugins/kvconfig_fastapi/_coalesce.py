"""Coalescing secret refreshes: a burst of Key Vault events costs at most one read of each secret per interval.

The first event for a secret refreshes it at once; events for it within the next ``interval`` seconds join one
trailing refresh, run when the interval has passed (so the last version published in a burst is always read).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

__all__ = ["RefreshCoalescer", "SecretName"]

logger = logging.getLogger("kvconfig.fastapi")

#: ``(vault_url, secret name)``, case-folded.
SecretName = tuple[str, str]
T = TypeVar("T")


class RefreshCoalescer(Generic[T]):
    """Calls ``refresh(secrets)`` so that no secret is refreshed twice within ``interval`` seconds.

    :meth:`request` refreshes the secrets that are due now and returns the outcome; the others are left to one
    pending trailing refresh (``None`` is returned when nothing was due). Use it from one event loop; :meth:`close`
    cancels the pending refresh.
    """

    def __init__(
        self,
        refresh: Callable[[frozenset[SecretName]], Awaitable[T]],
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval < 0:
            raise ValueError("The coalescing interval cannot be negative.")
        self._refresh = refresh
        self.interval = interval
        self._clock = clock
        self._last: dict[SecretName, float] = {}  # when each secret was last read (read start)
        self._pending: set[SecretName] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> frozenset[SecretName]:
        return frozenset(self._pending)

    async def request(self, secrets: Iterable[SecretName]) -> T | None:
        now = self._clock()
        self._forget_older_than(now - self.interval)
        due = frozenset(s for s in secrets if s not in self._pending and s not in self._last)
        later = set(secrets) - due
        if later:
            self._pending |= later
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._trailing(), name="kvconfig-eventgrid-refresh")
        if not due:
            return None
        for secret in due:
            self._last[secret] = now
        return await self._refresh(due)

    async def close(self) -> None:
        task, self._task = self._task, None
        self._pending.clear()
        self._last.clear()
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _trailing(self) -> None:
        while self._pending:
            now = self._clock()
            wait = min(self._last.get(secret, now - self.interval) + self.interval for secret in self._pending) - now
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            now = self._clock()
            due = frozenset(s for s in self._pending if self._last.get(s, now - self.interval) + self.interval <= now)
            self._pending -= due
            for secret in due:
                self._last[secret] = now
            try:
                await self._refresh(due)
            except Exception:  # the outcome is recorded by the refresh itself; the next event tries again
                logger.exception("kvconfig: a coalesced secret refresh failed")

    def _forget_older_than(self, moment: float) -> None:
        for secret in [s for s, at in self._last.items() if at <= moment and s not in self._pending]:
            del self._last[secret]
