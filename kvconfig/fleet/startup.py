"""Start-up under throttling: keep reading through 429s until an overall deadline, and say how it goes.

The SDK already honours ``Retry-After``, but only for its own retry count (10 by default) and without spreading the
retries of many callers: a fleet that starts together retries together. Here a read that still meets 429 after the
SDK's retries (or runs out of its per-attempt time while throttled) waits ``Retry-After`` plus a random share of it
(jitter) and tries again, for as long as the start-up deadline allows; only then does it fail, and the resolver's
report lists every reference that did. One *wave* (a resolve or a refresh: the reads in flight together) shares one
deadline, counted from its first read. Progress goes to the ``kvconfig`` logger at INFO, with counts.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["RetryWatcher", "StartupPolicy", "StartupProgress", "ThrottledPastDeadline", "retry_after_of"]

logger = logging.getLogger("kvconfig")

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[object]]
RetryWatcher = Callable[[int, float], object]
"""Told ``(throttled responses so far, seconds left to the deadline)`` each time a throttled read waits to retry."""

_MAX_RETRY_AFTER = 60.0  # a bound on what a server may make a caller wait at once


class ThrottledPastDeadline(TimeoutError):
    """A read was still throttled (or timing out while throttled) when the start-up deadline passed.

    A ``TimeoutError``, so the resolver reports it as ``FetchTimedOut``, with this message as the detail.
    """

    def __init__(self, deadline: float, attempts: int) -> None:
        super().__init__(
            f"the vault was still throttling (429) when the start-up deadline of {deadline:g} s passed "
            f"({attempts} attempt(s))"
        )
        self.deadline = deadline
        self.attempts = attempts


@dataclass(frozen=True)
class StartupPolicy:
    """How long start-up may keep trying through throttling, and how retries are spread.

    ``deadline``: seconds a wave of reads may take, counted from its first read. ``jitter``: each wait is
    ``Retry-After`` times ``1 + jitter * U(0, 1)``. ``default_retry_after``: the wait when a 429 names none.
    """

    deadline: float = 300.0
    jitter: float = 0.5
    default_retry_after: float = 1.0

    def __post_init__(self) -> None:
        if not self.deadline > 0:
            raise ValueError("The start-up deadline must be a positive number of seconds.")
        if not 0 <= self.jitter <= 10:
            raise ValueError("jitter must be between 0 and 10.")
        if not self.default_retry_after > 0:
            raise ValueError("default_retry_after must be positive.")


def retry_after_of(exc: BaseException) -> float | None:
    """The ``Retry-After`` seconds of a 429 from the SDK, ``-1.0`` for a 429 without one, ``None`` otherwise."""
    status = getattr(exc, "status_code", None)
    if status != 429:
        return None
    response: Any = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        seconds = float(str(raw))
    except ValueError:
        return -1.0
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


class StartupProgress:
    """Counts of the current wave of reads, and the retry loop that honours the policy's deadline."""

    def __init__(
        self,
        policy: StartupPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        log_every: float = 5.0,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._log_every = log_every
        self._in_flight = 0
        self._started = 0.0
        self._last_log = float("-inf")
        self.total = self.done = self.failed = self.throttled = 0
        # Watchers (the CLI's progress line): called on the resolver's loop; one that fails is logged, never fatal.
        self.watchers: list[RetryWatcher] = []

    def enter(self) -> None:
        """A read of the wave starts (the first one starts the wave and its deadline)."""
        if self._in_flight == 0:
            self._started = self._clock()
            self._last_log = float("-inf")
            self.total = self.done = self.failed = self.throttled = 0
        self._in_flight += 1
        self.total += 1

    def leave(self, ok: bool) -> None:
        self._in_flight -= 1
        if ok:
            self.done += 1
        else:
            self.failed += 1
        if self._in_flight == 0 and self.throttled:
            logger.info(
                "kvconfig start-up: %d of %d secret read(s) done in %.1f s, %d failed, %d throttled response(s)",
                self.done,
                self.total,
                self._clock() - self._started,
                self.failed,
                self.throttled,
            )

    @property
    def remaining(self) -> float:
        return self._started + self.policy.deadline - self._clock()

    def snapshot(self) -> dict[str, float | int]:
        return {
            "in_flight": self._in_flight,
            "total": self.total,
            "done": self.done,
            "failed": self.failed,
            "throttled": self.throttled,
        }

    async def call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` until it succeeds, fails for another reason than throttling, or the deadline passes."""
        attempts = 0
        while True:
            attempts += 1
            try:
                return await attempt()
            except (asyncio.TimeoutError, TimeoutError) as exc:
                if not self.throttled:
                    raise  # a slow vault, not a throttled one: the resolver reports FetchTimedOut as before
                wait = self.policy.default_retry_after
                cause: BaseException = exc
            except Exception as exc:
                retry_after = retry_after_of(exc)
                if retry_after is None:
                    raise
                self.throttled += 1
                wait = self.policy.default_retry_after if retry_after < 0 else retry_after
                cause = exc
            wait *= 1 + self.policy.jitter * self._rng()
            if wait >= self.remaining:
                raise ThrottledPastDeadline(self.policy.deadline, attempts) from cause
            now = self._clock()
            if now - self._last_log >= self._log_every:
                self._last_log = now
                logger.info(
                    "kvconfig start-up: %d of %d secret read(s) done, %d in flight, %d throttled response(s); "
                    "retrying in %.1f s, %.0f s left of the %g s deadline",
                    self.done,
                    self.total,
                    self._in_flight,
                    self.throttled,
                    wait,
                    self.remaining,
                    self.policy.deadline,
                )
            for watcher in list(self.watchers):
                try:
                    watcher(self.throttled, self.remaining)
                except Exception:
                    logger.exception("A kvconfig start-up watcher failed")
            await self._sleep(wait)
