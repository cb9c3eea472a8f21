"""The fake's notion of time: a wall clock by default, a manual one for tests that move time."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "OffsetClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the time in seconds since the Unix epoch."""

    def now(self) -> float: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to, so tests can expire, purge and rotate without sleeping.

    Starts at the current wall-clock time unless ``start`` is given (seconds since the epoch or an aware datetime).
    """

    def __init__(self, start: float | datetime | None = None) -> None:
        if isinstance(start, datetime):
            start = start.timestamp()
        self._now = float(time.time() if start is None else start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, delta: float | timedelta = 0.0, *, days: float = 0, hours: float = 0, seconds: float = 0) -> None:
        """Move time forward by ``delta`` (seconds or a timedelta) plus the keyword amounts."""
        step = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        step += days * 86400 + hours * 3600 + seconds
        if step < 0:
            raise ValueError("A ManualClock only moves forward; use set() to go back explicitly.")
        with self._lock:
            self._now += step

    def set(self, when: float | datetime) -> None:
        """Jump to an absolute time."""
        with self._lock:
            self._now = when.timestamp() if isinstance(when, datetime) else float(when)

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def __repr__(self) -> str:
        return f"ManualClock({self.datetime().isoformat()})"


class OffsetClock:
    """The wall clock shifted by an offset that only moves when told to: what the emulator's control API moves, so a
    served fake keeps ticking in real time after its clock was set forward (or back)."""

    def __init__(self, offset: float = 0.0) -> None:
        self._offset = float(offset)
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        """Seconds ahead of the wall clock (negative: behind)."""
        with self._lock:
            return self._offset

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("advance() only moves forward; use set() to go back explicitly.")
        with self._lock:
            self._offset += seconds

    def set(self, when: float) -> None:
        """Jump to an absolute time (seconds since the epoch); the clock ticks on from there."""
        with self._lock:
            self._offset = float(when) - time.time()

    def __repr__(self) -> str:
        return f"OffsetClock(offset={self.offset:+.0f}s)"
