"""What a resolver tells an observer while it reads secrets: which references it is about to fetch, and each one done.

A :class:`FetchProgress` is called on the resolver's own loop thread (keep it quick and thread-safe); it receives
references and statuses, never a value. The CLI uses one to draw a progress line on a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kvconfig.references import KeyVaultReference

__all__ = ["FetchProgress"]


class FetchProgress(Protocol):
    """Observer of the secrets a resolver fetches (cache hits are not fetches and are not reported)."""

    def fetching(self, references: Sequence[KeyVaultReference]) -> None:
        """These references are about to be read from their vaults (one call per resolve, check or refresh)."""

    def fetched(self, reference: KeyVaultReference, status: str) -> None:
        """One reference was read: ``status`` is ``"OK"`` or the failure's status (``SecretNotFound``...)."""
