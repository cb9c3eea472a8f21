"""A client-side request budget per vault: a token bucket shared by everything in the process.

Key Vault limits each vault to a few thousand transactions per 10 seconds, for all its callers together. A fleet
that knows its share (the vault's limit divided by the replicas that start at once) can keep each process under it
instead of discovering the limit through 429s. :class:`VaultBudget` holds one bucket per vault host; every request
an SDK client of the resolver sends (the SDK's own retries and the challenge round trip included) takes one token
first, through :class:`BudgetPolicy`, an azure-core per-retry policy. Off unless the resolver is given a budget.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import AsyncHTTPPolicy

__all__ = ["BudgetPolicy", "VaultBudget"]

Sleep = Callable[[float], Awaitable[object]]


@dataclass
class _Bucket:
    tokens: float
    updated: float


class VaultBudget:
    """Token buckets per vault host: ``rate`` requests per second on average, bursts of up to ``burst``.

    One instance is meant to be shared by every resolver (and SDK client) of a process. ``clock`` (monotonic
    seconds) and ``sleep`` are injectable, so a simulation or a test can run it on its own time. Thread-safe: the
    buckets are guarded by a lock and waiting happens outside it, on the caller's event loop.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError("A VaultBudget's rate must be a positive number of requests per second.")
        if not burst >= 1:
            raise ValueError("A VaultBudget's burst must be at least 1 request.")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self.granted = 0
        self.waited = 0.0

    @classmethod
    def share_of(
        cls,
        replicas: int,
        *,
        limit: int = 4000,
        window: float = 10.0,
        fraction: float = 1.0,
        burst: float = 1.0,
        **options: Any,
    ) -> VaultBudget:
        """The budget of one of ``replicas`` processes sharing ``fraction`` of a vault's ``limit`` per ``window``.

        Key Vault's documented limit for secret reads is 4,000 per 10 seconds per vault. A bucket lets through at most
        ``burst - 1 + ceil(rate * window)`` requests in any window, so the rate leaves room for the burst (and a hair
        more, so that requests spaced exactly one token apart never land on a window's edge).
        """
        if replicas < 1:
            raise ValueError("replicas must be at least 1.")
        if not 0 < fraction <= 1:
            raise ValueError("fraction must be in (0, 1].")
        share = limit * fraction / replicas - (burst - 1)
        if share <= 0:
            raise ValueError("burst is larger than one replica's share of the limit.")
        return cls(share / window * 0.999, burst=burst, **options)

    def _refill(self, host: str, now: float) -> _Bucket:
        bucket = self._buckets.get(host)
        if bucket is None:
            bucket = self._buckets[host] = _Bucket(self.burst, now)
        elif now > bucket.updated:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        return bucket

    def available(self, vault: str) -> float:
        """Tokens the vault's bucket holds now (without taking any)."""
        host = _host(vault)
        with self._lock:
            return self._refill(host, self._clock()).tokens

    def try_acquire(self, vault: str) -> bool:
        """Take a token if one is there now; never waits."""
        host = _host(vault)
        with self._lock:
            bucket = self._refill(host, self._clock())
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                self.granted += 1
                return True
            return False

    def refund(self, vault: str) -> None:
        """Give back a token taken with :meth:`try_acquire` and not used."""
        host = _host(vault)
        with self._lock:
            bucket = self._refill(host, self._clock())
            bucket.tokens = min(self.burst, bucket.tokens + 1)
            self.granted -= 1

    async def acquire(self, vault: str) -> None:
        """Take one token for ``vault`` (a URL or host), waiting until the bucket has one.

        The token is reserved at once (the bucket may go negative), so concurrent callers queue in order and each
        waits for its own token rather than all waking for the same one.
        """
        host = _host(vault)
        with self._lock:
            now = self._clock()
            bucket = self._refill(host, now)
            bucket.tokens -= 1
            self.granted += 1
            wait = 0.0 if bucket.tokens >= 0 else -bucket.tokens / self.rate
        if wait > 0:
            self.waited += wait
            await self._sleep(wait)

    def __repr__(self) -> str:
        return f"VaultBudget(rate={self.rate:g}/s, burst={self.burst:g}, vaults={len(self._buckets)})"


class BudgetPolicy(AsyncHTTPPolicy):  # type: ignore[type-arg]
    """azure-core per-retry policy: each request (and each retry of it) takes a token of its vault's budget."""

    def __init__(self, budget: VaultBudget) -> None:
        super().__init__()
        self._budget = budget

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        await self._budget.acquire(request.http_request.url)
        response: PipelineResponse[Any, Any] = await self.next.send(request)
        return response


def _host(vault: str) -> str:
    if "://" in vault:
        return (urlsplit(vault).hostname or vault).lower()
    return vault.lower()
