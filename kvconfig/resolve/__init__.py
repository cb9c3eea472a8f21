"""Resolving references: :class:`SecretResolver`, its cache, its statuses and reports, and the start-up helpers.

Above the reference grammar and the sources, below :mod:`kvconfig.settings` and the CLI. Users import these names
from :mod:`kvconfig`; this package's ``__all__`` is what the other wings use.
"""

from __future__ import annotations

from kvconfig.resolve._cache import CachedSecret, SecretCache
from kvconfig.resolve._progress import FetchProgress
from kvconfig.resolve._report import format_status_summary, format_status_table
from kvconfig.resolve._results import RefreshEvent, ResolutionReport, ResolvedSettings
from kvconfig.resolve._secret_resolver import ExpiryWarning, SecretResolver
from kvconfig.resolve._startup import merge_sources, resolve_environ
from kvconfig.resolve._status import ReferenceStatus
from kvconfig.resolve._transactions import TransactionMeter

__all__ = [
    "CachedSecret",
    "ExpiryWarning",
    "FetchProgress",
    "ReferenceStatus",
    "RefreshEvent",
    "ResolutionReport",
    "ResolvedSettings",
    "SecretCache",
    "SecretResolver",
    "TransactionMeter",
    "format_status_summary",
    "format_status_table",
    "merge_sources",
    "resolve_environ",
]
