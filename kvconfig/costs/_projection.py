"""What a fleet's Key Vault reads cost a month, and whether they fit the vault's throttling limit.

Defaults are the overview's (``azure-key-vault-overview.txt``, "Pricing Overview" and "Quick Reference"): secrets
and software-key operations ~$0.03 per 10,000, RSA 2048 HSM-key operations ~$0.15 per 10,000, and at most 2,000
combined secret/key/certificate operations per vault per 10 seconds. Certificate *operations* are billed like secrets;
a certificate *renewal* (~$3.00 each) is not an operation a reader makes, so it is not projected.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kvconfig.errors import KvConfigError

_MAX_PRICE_TABLE = 65536  # characters: a price table is a few lines

__all__ = ["CATEGORIES", "CostProjection", "PriceTable", "project_costs"]

CATEGORIES = ("secrets", "software_keys", "hsm_keys", "certificates")
SECONDS_PER_MONTH = 30 * 86400


@dataclass(frozen=True)
class PriceTable:
    """Prices per 10,000 operations by category, and the vault's limit of operations per 10 seconds."""

    per_10k: Mapping[str, float] = field(
        default_factory=lambda: {"secrets": 0.03, "software_keys": 0.03, "hsm_keys": 0.15, "certificates": 0.03}
    )
    currency: str = "USD"
    limit_per_10s: int = 2000

    @classmethod
    def from_file(cls, path: str | Path) -> PriceTable:
        """A JSON file ``{"per_10k": {"secrets": 0.03, ...}, "currency": "EUR", "limit_per_10s": 2000}``; what it
        leaves out keeps the default."""
        source = Path(path)
        try:
            with source.open(encoding="utf-8") as handle:
                text = handle.read(_MAX_PRICE_TABLE + 1)  # a device or a huge file is refused, never read whole
        except (OSError, ValueError) as exc:
            raise KvConfigError(f"Cannot read the price table {source}: {exc}") from None
        if len(text) > _MAX_PRICE_TABLE:
            raise KvConfigError(
                f"Cannot read the price table {source}: it is larger than {_MAX_PRICE_TABLE:,} characters."
            )
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise KvConfigError(f"Cannot read the price table {source}: {exc}") from None
        default = cls()
        prices = dict(default.per_10k)
        given = data.get("per_10k", {}) if isinstance(data, dict) else None
        if not isinstance(given, dict):
            raise KvConfigError(f"{source}: expected an object with 'per_10k' prices by category.")
        for name, price in given.items():
            if name not in CATEGORIES or not isinstance(price, (int, float)) or price < 0:
                raise KvConfigError(
                    f"{source}: per_10k.{name} must be one of {', '.join(CATEGORIES)} with a price >= 0."
                )
            prices[name] = float(price)
        limit = data.get("limit_per_10s", default.limit_per_10s)
        if not isinstance(limit, int) or limit < 1:
            raise KvConfigError(f"{source}: limit_per_10s must be a positive whole number.")
        return cls(prices, str(data.get("currency", default.currency)), limit)


@dataclass(frozen=True)
class CostProjection:
    """Transactions by category (one replica's start-up and one refresh), the month's total for the fleet, its cost,
    and the busiest vault's load per 10 seconds against the limit."""

    startup: dict[str, int]
    per_refresh: dict[str, int]
    replicas: int
    refresh_interval: float
    monthly_transactions: dict[str, int]
    monthly_cost: float
    currency: str
    limit_per_10s: int
    startup_peak_per_10s: int
    steady_per_10s: float
    startup_fits: bool
    steady_fits: bool

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def project_costs(
    startup_by_vault: Mapping[str, int],
    refresh_by_vault: Mapping[str, int],
    *,
    replicas: int = 1,
    refresh_interval: float = 300.0,
    prices: PriceTable | None = None,
) -> CostProjection:
    """The projection for ``replicas`` replicas that each start once and refresh every ``refresh_interval`` seconds
    for a 30-day month; every counted transaction is a secrets transaction (the resolver reads secrets only)."""
    table = prices or PriceTable()
    startup = dict.fromkeys(CATEGORIES, 0)
    per_refresh = dict(startup)
    startup["secrets"] = sum(startup_by_vault.values())
    per_refresh["secrets"] = sum(refresh_by_vault.values())
    refreshes = math.floor(SECONDS_PER_MONTH / refresh_interval)
    monthly = {c: replicas * (startup[c] + refreshes * per_refresh[c]) for c in CATEGORIES}
    cost = sum(monthly[c] / 10_000 * table.per_10k.get(c, 0.0) for c in CATEGORIES)
    # Start-up: every replica starting within the same 10 seconds (a deployment, a scale-out) reads all at once.
    peak = max((replicas * count for count in startup_by_vault.values()), default=0)
    steady = max((replicas * count * 10.0 / refresh_interval for count in refresh_by_vault.values()), default=0.0)
    return CostProjection(
        startup,
        per_refresh,
        replicas,
        refresh_interval,
        monthly,
        round(cost, 6),
        table.currency,
        table.limit_per_10s,
        peak,
        round(steady, 3),
        peak <= table.limit_per_10s,
        steady <= table.limit_per_10s,
    )
