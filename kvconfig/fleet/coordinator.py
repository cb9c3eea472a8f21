"""``Fleet``: what a resolver does differently when it is one of many replicas reading the same vaults.

It composes the three parts, each optional: the start-up deadline under throttling (:mod:`.startup`), the per-vault
budget (:mod:`.budget`, shared by the process) and the shared sealed tier on Redis with its invalidation channel
(:mod:`.redis_cache`, :mod:`.invalidation`). The resolver hands it each read of the vault as a callable; the fleet
decides when to call it (after a budget token, through Redis's single flight, again after a 429).

Give each resolver its own ``Fleet``; share a :class:`VaultBudget` between them to share the process's budget.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from azure.core.pipeline import PipelineRequest, PipelineResponse

from kvconfig.fleet.budget import BudgetPolicy, VaultBudget
from kvconfig.fleet.invalidation import InvalidationChannel
from kvconfig.fleet.redis_cache import RedisSharedCache
from kvconfig.fleet.startup import StartupPolicy, StartupProgress
from kvconfig.references import KeyVaultReference
from kvconfig.resolve import CachedSecret

logger = logging.getLogger(__name__)

__all__ = ["AsyncClosable", "Fleet"]

Read = Callable[[], Awaitable[CachedSecret]]
OnInvalidate = Callable[[str, str], Awaitable[object]]
Sleep = Callable[[float], Awaitable[object]]

# A token taken before a read's timeout starts (waiting for the budget is not the vault being slow): the read's
# first request uses it instead of taking another. A list, so the SDK's tasks (copies of the context) share it.
_prepaid: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("kvconfig_fleet_prepaid", default=None)


class AsyncClosable(Protocol):
    """What a fleet closes when it closes (an ``aio`` SDK client, an ``aio`` credential)."""

    async def close(self) -> None: ...


class _PrepaidBudgetPolicy(BudgetPolicy):
    def __init__(self, budget: VaultBudget) -> None:
        super().__init__(budget)
        self._own = budget

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        holder = _prepaid.get()
        if holder and holder[0] > 0:
            holder[0] -= 1
            response: PipelineResponse[Any, Any] = await self.next.send(request)
            return response
        return await super().send(request)


class Fleet:
    """Fleet behaviour of one :class:`~kvconfig.SecretResolver` (pass it as ``SecretResolver(fleet=...)``).

    :keyword startup: a :class:`StartupPolicy`, or the deadline in seconds: reads keep going through 429s (honouring
        ``Retry-After`` with jitter) until then. ``None``: the SDK's retries only, as without a fleet.
    :keyword budget: a :class:`VaultBudget` shared by the process; every request to a vault takes a token.
    :keyword shared: a :class:`RedisSharedCache`: the sealed tier shared by the replicas.
    :keyword listen: with ``shared``, subscribe to the invalidation channel (on the resolver's loop).
    :keyword closing: closed, in this order, by :meth:`aclose` after the shared tier: what was opened for this fleet
        alone (the key wrapper's key clients, a credential made for them). ``fleet_from_environment``
        fills it.
    :keyword clock, sleep, rng: time and chance of the start-up retries; injectable for tests and simulations.
    """

    def __init__(
        self,
        *,
        startup: StartupPolicy | float | None = None,
        budget: VaultBudget | None = None,
        shared: RedisSharedCache | None = None,
        listen: bool = True,
        closing: Iterable[AsyncClosable] = (),
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if isinstance(startup, bool):
            raise TypeError("startup must be a StartupPolicy or a deadline in seconds.")
        if isinstance(startup, int | float):
            startup = StartupPolicy(deadline=float(startup))
        self.startup: StartupPolicy | None = startup
        self.budget = budget
        self.shared = shared
        self.progress = StartupProgress(startup or StartupPolicy(), clock=clock, sleep=sleep, rng=rng)
        self.channel = InvalidationChannel(shared) if shared is not None and listen else None
        self._on_invalidate: OnInvalidate | None = None
        self._policies = [_PrepaidBudgetPolicy(budget)] if budget is not None else []
        self._closing = list(closing)

    def client_policies(self) -> list[Any]:
        """azure-core per-retry policies for the resolver's SDK clients (the budget's)."""
        return list(self._policies)

    def bind(self, on_invalidate: OnInvalidate) -> None:
        """What to do when another replica announces a new version (the resolver drops it and refreshes)."""
        self._on_invalidate = on_invalidate

    async def fetch(self, ref: KeyVaultReference, read: Read) -> CachedSecret:
        """The secret ``ref`` names, through the shared tier if any, reading the vault with ``read()``."""
        if self.channel is not None and self._on_invalidate is not None:
            self.channel.start(self._on_invalidate)
        self.progress.enter()
        ok = False
        # A budget token this read already holds (taken to decide whether to lead a fetch through Redis).
        held = [0]

        def may_fetch() -> bool:
            if self.budget is None or held[0]:
                return True
            if self.budget.try_acquire(ref.vault_url):
                held[0] = 1
                return True
            return False

        async def from_vault() -> CachedSecret:
            if self.startup is not None:
                return await self.progress.call(lambda: self._attempt(ref, read, held))
            return await self._attempt(ref, read, held)

        try:
            if self.shared is not None:
                result = await self.shared.get_or_fetch(ref, from_vault, may_fetch=may_fetch)
            else:
                result = await from_vault()
            ok = True
            return result
        finally:
            self.progress.leave(ok)
            if held[0] and self.budget is not None:
                self.budget.refund(ref.vault_url)

    async def _attempt(self, ref: KeyVaultReference, read: Read, held: list[int]) -> CachedSecret:
        if self.budget is None:
            return await read()
        if held[0]:
            held[0] = 0
        else:
            await self.budget.acquire(ref.vault_url)
        token = _prepaid.set([1])
        try:
            return await read()
        finally:
            _prepaid.reset(token)

    async def publish_invalidation(self, vault_url: str, name: str) -> None:
        """Tell the other replicas that ``name`` has a new version (and drop the shared pointer)."""
        if self.channel is not None:
            await self.channel.publish(vault_url, name)
        elif self.shared is not None:
            await self.shared.forget_latest(vault_url, name)

    def health(self) -> dict[str, Any]:
        """Health data: the shared tier's state and counters, the budget's, the current start-up wave's."""
        return {
            "shared_cache": self.shared.health() if self.shared is not None else {"state": "off"},
            "budget": (
                {"rate": self.budget.rate, "burst": self.budget.burst, "granted": self.budget.granted}
                if self.budget is not None
                else None
            ),
            "startup": self.progress.snapshot(),
            "invalidations_received": self.channel.received if self.channel is not None else 0,
        }

    async def aclose(self) -> None:
        """Stop listening, close the shared tier's Redis client (when it made it), then what ``closing`` lists; each
        is closed even when one before it failed: the first failure is raised after, the later ones logged (their
        type). What ``closing`` lists is closed once."""
        closing, self._closing = self._closing, []
        closers: list[Callable[[], Awaitable[object]]] = []
        if self.channel is not None:
            closers.append(self.channel.aclose)
        if self.shared is not None:
            closers.append(self.shared.aclose)
        closers.extend(resource.close for resource in closing)
        failure: Exception | None = None
        for close in closers:
            try:
                await close()
            except Exception as exc:
                if failure is None:
                    failure = exc
                else:
                    logger.warning(
                        "kvconfig fleet: %s also failed (%s)",
                        getattr(close, "__qualname__", "closing"),
                        type(exc).__name__,
                    )
        if failure is not None:
            raise failure

    def __repr__(self) -> str:
        return f"Fleet(startup={self.startup!r}, budget={self.budget!r}, shared={self.shared is not None})"
