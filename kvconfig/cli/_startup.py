"""``--startup-deadline`` of ``run`` and ``check``: a :class:`kvconfig.fleet.Fleet` whose start-up keeps reading
through throttling (429) until the deadline, its retries shown on the progress line."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kvconfig.cli._duration import Seconds
from kvconfig.resolve import FetchProgress

if TYPE_CHECKING:
    from kvconfig.fleet import Fleet

__all__ = ["startup_fleet", "startup_options"]

F = TypeVar("F", bound=Callable[..., Any])


def startup_options(func: F) -> F:
    """The ``--startup-deadline`` option."""
    option = click.option(
        "--startup-deadline",
        type=Seconds(0, 86400, min_open=True),
        default=None,
        metavar="SECONDS",
        help="Keep reading through throttling (429, honouring Retry-After with jitter) for up to this many seconds "
        "before a secret fails as FetchTimedOut; retries show on the progress line. Off by default.",
    )
    decorated: F = option(func)
    return decorated


def startup_fleet(params: dict[str, Any], progress: FetchProgress | None) -> Fleet | None:
    """A ``Fleet`` with the start-up deadline of ``--startup-deadline`` (``None`` without it), telling ``progress``
    (when it shows retries: the progress line) of each retry."""
    deadline = params.get("startup_deadline")
    if deadline is None:
        return None
    from kvconfig.fleet import Fleet, StartupPolicy  # only when asked for: the fleet is not needed otherwise

    fleet = Fleet(startup=StartupPolicy(deadline=float(deadline)))
    watcher = getattr(progress, "throttled", None)
    if callable(watcher):
        fleet.progress.watchers.append(watcher)
    return fleet
