"""Counting what a resolver asked its vaults: a :class:`FetchProgress` that counts each fetch as one transaction.

Every fetch the resolver makes is one Get Secret, a *secrets* transaction (the resolver reads secrets only: its
software-key, HSM-key and certificate counts are always zero, and are reported so). Cache hits are not fetches and are
not counted; SDK retries after a 429 are not counted either (throttled requests are not billed).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

from kvconfig.references import KeyVaultReference
from kvconfig.resolve._progress import FetchProgress

__all__ = ["TransactionMeter"]


class TransactionMeter:
    """Counts Get Secret transactions per vault (and the versionless ones a refresh reads again); forwards to
    ``forward`` (the CLI's progress line) so both can observe one resolver."""

    def __init__(self, forward: FetchProgress | None = None) -> None:
        self._forward = forward
        self._lock = threading.Lock()
        self.by_vault: Counter[str] = Counter()
        self.versionless_by_vault: Counter[str] = Counter()

    def fetching(self, references: Sequence[KeyVaultReference]) -> None:
        with self._lock:
            for ref in references:
                self.by_vault[ref.vault_host] += 1
                if ref.version is None:
                    self.versionless_by_vault[ref.vault_host] += 1
        if self._forward is not None:
            self._forward.fetching(references)

    def fetched(self, reference: KeyVaultReference, status: str) -> None:
        if self._forward is not None:
            self._forward.fetched(reference, status)

    def throttled(self, count: int, remaining: float) -> None:
        """Passed on to ``forward`` when it shows start-up retries (the CLI's progress line); throttled requests are
        not billed, so nothing is counted here."""
        forward = getattr(self._forward, "throttled", None)
        if callable(forward):
            forward(count, remaining)

    @property
    def secrets(self) -> int:
        """Get Secret transactions so far, all vaults."""
        return sum(self.by_vault.values())
