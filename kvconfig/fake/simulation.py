"""Simulated time for fleets: an event loop on which waiting costs no real time, and the fake on that time.

A :class:`VirtualTimeLoop` runs like any asyncio loop, except that when nothing is ready and the next timer is
``t`` seconds away, it moves its clock to that timer instead of sleeping. Everything that waits through asyncio
(``asyncio.sleep``, ``wait_for``, the fake's latency, the SDK's retry back-off through
:class:`SimulatedAsyncTransport`) waits in simulated time, so a thousand replicas can spend minutes of simulated
start-up in seconds of CPU. Give the fake the loop's :class:`VirtualClock`, so its throttling windows, token
lifetimes and ``Retry-After`` values are in step. Nothing here works with real network I/O that needs to wait:
the loop jumps over any wait, so only in-process transports (the fake's) belong on it.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from collections.abc import Mapping
from typing import Any

from kvconfig.fake.serve.transport import FakeAsyncTransport

__all__ = ["SimulatedAsyncTransport", "VirtualClock", "VirtualTimeLoop"]


class _JumpingSelector(selectors.BaseSelector):
    """A selector that reports real readiness at once and, instead of blocking, moves the loop's clock."""

    def __init__(self, clock: VirtualClock) -> None:
        self._real = selectors.DefaultSelector()
        self._clock = clock

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            return self._real.select(None)  # nothing scheduled: only another thread can wake us
        self._clock.elapsed += timeout
        return []

    def close(self) -> None:
        self._real.close()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()


class VirtualClock:
    """Simulated time shared by a :class:`VirtualTimeLoop` (its ``time()``) and a fake (``FakeKeyVault(clock=...)``).

    ``now()`` is epoch seconds (``start`` plus the simulated time elapsed), ``monotonic()`` the elapsed seconds.
    """

    def __init__(self, start: float | None = None) -> None:
        self.start = time.time() if start is None else float(start)
        self.elapsed = 0.0

    def now(self) -> float:
        return self.start + self.elapsed

    def monotonic(self) -> float:
        return self.elapsed

    def __repr__(self) -> str:
        return f"VirtualClock(elapsed={self.elapsed:.3f})"


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` only moves when every task waits (then straight to the next timer).

    Loops sharing one :class:`VirtualClock` share its time (one loop at a time should be waiting on it).
    """

    def __init__(self, clock: VirtualClock | None = None) -> None:
        self.clock = clock if clock is not None else VirtualClock()
        super().__init__(_JumpingSelector(self.clock))

    def time(self) -> float:
        return self.clock.elapsed


class SimulatedAsyncTransport(FakeAsyncTransport):
    """The fake's async transport, with the SDK's waits (retry back-off, ``Retry-After``) as ``asyncio.sleep``.

    On a :class:`VirtualTimeLoop` those waits cost simulated time only; the fake's default transport instead moves a
    ``ManualClock`` and returns at once, which would let every replica skip ahead on its own.
    """

    async def sleep(self, duration: float) -> None:
        if duration > 0:
            await asyncio.sleep(duration)
