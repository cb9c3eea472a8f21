"""What reading Key Vault costs: transactions by category, the monthly cost of a fleet at a refresh interval, and
whether it stays under the vault's throttling limit. ``kvconfig check --replicas N --refresh-interval 1h`` reports it.
"""

from __future__ import annotations

from kvconfig.costs._projection import CATEGORIES, CostProjection, PriceTable, project_costs

__all__ = ["CATEGORIES", "CostProjection", "PriceTable", "project_costs"]
