"""What a resolve hands back: the resolved settings, a report of values and failures, and a refresh's event.

None of these shows a value: their reprs name settings, references and statuses only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kvconfig.errors import ResolutionError, ResolutionFailure

__all__ = ["RefreshEvent", "ResolutionReport", "ResolvedSettings"]


class ResolvedSettings(dict[str, Any]):
    """The resolved settings: a plain ``dict`` whose repr never shows values."""

    def __repr__(self) -> str:
        return f"ResolvedSettings({sorted(self)!r} values hidden)"

    __str__ = __repr__


@dataclass(frozen=True, eq=False)
class ResolutionReport:
    """One resolve, failures and all: what ``SecretResolver.resolve_report`` returns instead of raising.

    ``values`` holds every setting that resolved (plain values passed through included); a setting with a failing
    reference is left out of it, whatever the resolver's ``on_failure``. ``failures`` lists each failing reference,
    sorted by setting, as :class:`~kvconfig.ResolutionError` would. ``cause`` is the first exception behind a
    failure (an Azure SDK error, say), which :meth:`raise_for_failures` chains.
    """

    values: ResolvedSettings
    failures: tuple[ResolutionFailure, ...] = ()
    cause: BaseException | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """Whether every reference resolved."""
        return not self.failures

    @property
    def failed(self) -> frozenset[str]:
        """The settings that did not resolve."""
        return frozenset(failure.setting for failure in self.failures)

    def raise_for_failures(self) -> None:
        """Raise the :class:`~kvconfig.ResolutionError` that ``resolve`` would have raised, if anything failed."""
        if self.failures:
            raise ResolutionError(self.failures) from self.cause


@dataclass(frozen=True)
class RefreshEvent:
    """Sent to change listeners after a refresh: which settings changed, and which are stale (kept their last good
    value because their vault could not be read). Never values."""

    changed: frozenset[str]
    stale: frozenset[str] = frozenset()
    failures: tuple[ResolutionFailure, ...] = field(default=())
