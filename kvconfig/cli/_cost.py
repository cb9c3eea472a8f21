"""``kvconfig check --replicas N --refresh-interval 1h [--prices FILE]``: what the checked references cost a month."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kvconfig.cli._duration import Duration
from kvconfig.costs import CostProjection, PriceTable, project_costs
from kvconfig.resolve import TransactionMeter

__all__ = ["cost_options", "cost_projection", "cost_text"]

F = TypeVar("F", bound=Callable[..., Any])


def cost_options(func: F) -> F:
    for option in reversed(
        [
            click.option(
                "--replicas", type=click.IntRange(1, 1_000_000), help="Project the monthly cost for N replicas."
            ),
            click.option(
                "--refresh-interval",
                type=Duration(),
                help="How often each replica refreshes (1h, 5m); with --replicas. Default: 5m, the resolver's TTL.",
            ),
            click.option(
                "--prices",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help='Prices per 10,000 operations as JSON ({"per_10k": {"secrets": 0.03}, "limit_per_10s": 2000}).',
            ),
        ]
    ):
        func = option(func)
    return func


def cost_projection(meter: TransactionMeter, params: dict[str, Any]) -> CostProjection | None:
    """The projection when any cost option was given, else ``None``."""
    replicas, interval, prices = params.pop("replicas"), params.pop("refresh_interval"), params.pop("prices")
    if replicas is None and interval is None and prices is None:
        return None
    table = PriceTable.from_file(prices) if prices is not None else PriceTable()
    return project_costs(
        meter.by_vault,
        meter.versionless_by_vault,
        replicas=replicas or 1,
        refresh_interval=interval or 300.0,
        prices=table,
    )


def cost_text(cost: CostProjection) -> str:
    """The projection as a few lines for the terminal."""
    fits = {True: "fits", False: "EXCEEDS"}
    return (
        f"Vault transactions per replica: {cost.startup['secrets']} at start-up, {cost.per_refresh['secrets']} per "
        "refresh (secrets; software keys, HSM keys, certificates: 0, the resolver reads secrets only).\n"
        f"{cost.replicas} replica(s) refreshing every {cost.refresh_interval:g}s: "
        f"{cost.monthly_transactions['secrets']:,} transactions a month, "
        f"about {cost.monthly_cost:.2f} {cost.currency}.\n"
        f"Busiest vault per 10 s: {cost.startup_peak_per_10s} at start-up ({fits[cost.startup_fits]} the "
        f"{cost.limit_per_10s} limit), {cost.steady_per_10s:g} at steady state ({fits[cost.steady_fits]}).\n"
    )
