"""What the Flask extension keeps per app (``app.extensions["kvconfig"]``), shared by the extension and its CLI.

The lowest module of the plugin: the extension (``_extension``) and ``flask kvconfig`` (``_cli``) both read this
state; neither imports the other's side of it.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from kvconfig import ResolutionFailure, SecretResolver

__all__ = ["DEFER_RESOLUTION", "EXTENSION_KEY", "KvConfigState", "PathPart"]

EXTENSION_KEY = "kvconfig"
#: Set by ``flask kvconfig check`` while it loads the app, so that broken references are reported, not raised.
DEFER_RESOLUTION: ContextVar[bool] = ContextVar("kvconfig_flask_defer", default=False)

PathPart = str | int


@dataclass
class KvConfigState:
    """Per-app state, in ``app.extensions["kvconfig"]`` (names and references only)."""

    resolver: SecretResolver
    owns_resolver: bool
    references: dict[str, str]
    paths: dict[str, tuple[PathPart, ...]]
    refresh_interval: float | None
    resolved: bool = False
    refreshed_at: float = 0.0
    last_refresh: datetime | None = None
    stale: frozenset[str] = frozenset()
    failures: tuple[ResolutionFailure, ...] = ()
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
