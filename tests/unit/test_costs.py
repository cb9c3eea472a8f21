"""The cost projection: the overview's prices and limit as defaults, a price file overriding them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvconfig.costs import PriceTable, project_costs
from kvconfig.errors import KvConfigError


def test_defaults_are_the_overviews_prices_and_limit() -> None:
    table = PriceTable()
    assert dict(table.per_10k) == {"secrets": 0.03, "software_keys": 0.03, "hsm_keys": 0.15, "certificates": 0.03}
    assert table.limit_per_10s == 2000


def test_a_fleet_month_is_startups_plus_refreshes_of_versionless_references() -> None:
    cost = project_costs({"a.vault.azure.net": 3}, {"a.vault.azure.net": 2}, replicas=40, refresh_interval=3600)

    assert cost.monthly_transactions["secrets"] == 40 * (3 + 720 * 2)
    assert cost.monthly_cost == pytest.approx(57_720 / 10_000 * 0.03)
    assert cost.startup == {"secrets": 3, "software_keys": 0, "hsm_keys": 0, "certificates": 0}
    assert cost.startup_peak_per_10s == 120
    assert cost.steady_per_10s == pytest.approx(40 * 2 * 10 / 3600, abs=1e-3)
    assert cost.startup_fits
    assert cost.steady_fits


def test_the_limit_is_judged_per_vault_at_start_up_and_steady_state() -> None:
    cost = project_costs({"a": 30, "b": 10}, {"a": 30}, replicas=100, refresh_interval=10)

    assert cost.startup_peak_per_10s == 3000
    assert not cost.startup_fits
    assert cost.steady_per_10s == 3000
    assert not cost.steady_fits
    spread = project_costs({"a": 15, "b": 15}, {}, replicas=100)
    assert spread.startup_fits  # 1500 per vault, not 3000 in one


def test_a_price_file_overrides_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"per_10k": {"secrets": 0.05}, "currency": "EUR", "limit_per_10s": 4000}))

    table = PriceTable.from_file(path)

    assert table.per_10k["secrets"] == 0.05
    assert table.per_10k["hsm_keys"] == 0.15
    assert (table.currency, table.limit_per_10s) == ("EUR", 4000)


@pytest.mark.parametrize(
    "content",
    ['{"per_10k": {"blobs": 1}}', '{"per_10k": {"secrets": -1}}', '{"limit_per_10s": 0}', "[", '{"per_10k": 3}'],
)
def test_a_bad_price_file_is_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(KvConfigError, match=str(path)):
        PriceTable.from_file(path)
