"""The seam to a shared tier above the resolver (``kvconfig.fleet``): what ``SecretResolver`` hands it and asks of it.

The resolver knows only this protocol, so ``kvconfig.fleet`` (Redis, budgets, start-up deadlines) sits above
``kvconfig.resolve`` and imports it, never the reverse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from kvconfig.references import KeyVaultReference
from kvconfig.resolve._cache import CachedSecret

__all__ = ["OnInvalidate", "ReadSecret", "SharedTier"]

ReadSecret = Callable[[], Awaitable[CachedSecret]]
"""Reads one secret from its vault through the resolver's own SDK client."""

OnInvalidate = Callable[[str, str], Awaitable[object]]
"""Called with (vault URL, name) when another replica announces a new version."""


class SharedTier(Protocol):
    """A fleet's coordination, as one resolver uses it (``kvconfig.fleet.Fleet`` is one)."""

    def client_policies(self) -> list[Any]:
        """azure-core per-retry policies for the resolver's SDK clients (a per-vault budget, say)."""
        ...

    def bind(self, on_invalidate: OnInvalidate) -> None:
        """What to do when another replica announces a new version."""
        ...

    async def fetch(self, ref: KeyVaultReference, read: ReadSecret) -> CachedSecret:
        """The secret ``ref`` names: from the shared tier, or by calling ``read()`` (and sharing the result)."""
        ...

    async def publish_invalidation(self, vault_url: str, name: str) -> None:
        """Tell the other replicas that ``name`` has a new version."""
        ...

    async def aclose(self) -> None: ...
