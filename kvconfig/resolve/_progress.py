"""What a resolver tells an observer while it reads secrets: which references it is about to fetch, and each one done.

A :class:`FetchProgress` is called on the resolver's own loop thread (keep it quick and thread-safe); it receives
references and statuses, never a value. The CLI uses one to draw a progress line on a terminal.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping, Sequence
from typing import Protocol, TypeVar

from kvconfig.references import KeyVaultReference

__all__ = ["FetchProgress", "observed"]

logger = logging.getLogger("kvconfig")
K = TypeVar("K")


class FetchProgress(Protocol):
    """Observer of the secrets a resolver fetches (cache hits are not fetches and are not reported)."""

    def fetching(self, references: Sequence[KeyVaultReference]) -> None:
        """These references are about to be read from their vaults (one call per resolve, check or refresh)."""

    def fetched(self, reference: KeyVaultReference, status: str) -> None:
        """One reference was read: ``status`` is ``"OK"`` or the failure's status (``SecretNotFound``...)."""


class _Outcome(Protocol):
    @property
    def status(self) -> str: ...


OutcomeT = TypeVar("OutcomeT", bound=_Outcome)


def observed(
    progress: FetchProgress, pending: Mapping[K, Awaitable[OutcomeT]], references: Mapping[K, KeyVaultReference]
) -> dict[K, Awaitable[OutcomeT]]:
    """``pending`` fetches, each reporting to ``progress`` when done; an observer that fails is logged, never fatal."""
    try:
        progress.fetching([references[key] for key in pending])
    except Exception:
        logger.exception("A kvconfig progress observer failed")

    async def reported(awaitable: Awaitable[OutcomeT], ref: KeyVaultReference) -> OutcomeT:
        outcome = await awaitable
        try:
            progress.fetched(ref, outcome.status)
        except Exception:
            logger.exception("A kvconfig progress observer failed")
        return outcome

    return {key: reported(awaitable, references[key]) for key, awaitable in pending.items()}
