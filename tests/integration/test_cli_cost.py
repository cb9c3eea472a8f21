"""``kvconfig check --replicas/--refresh-interval/--prices``: the transactions the resolver counted are the requests
the fake vault served, and the projection follows from them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kvconfig.cli import cli
from kvconfig.fake import FakeKeyVault
from kvconfig.resolve import SecretResolver, TransactionMeter

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"


def test_the_meter_counts_what_the_fake_served_at_start_up_and_on_refresh() -> None:
    fake = FakeKeyVault()
    fake.seed(QUICKSTART / "vault.json")
    settings = {
        "A": "@Microsoft.KeyVault(VaultName=contoso-app;SecretName=db-password)",
        "B": "@Microsoft.KeyVault(VaultName=contoso-app;SecretName=db-password)",  # deduplicated: one read
        "C": "@Microsoft.KeyVault(VaultName=contoso-app;SecretName=signing-key;"
        "SecretVersion=6c4d2f3b1a0e4c8d9b7a6f5e4d3c2b1a)",
    }
    meter = TransactionMeter()
    with SecretResolver(fake.credential(), transport=fake.async_transport, progress=meter) as resolver:
        resolver.resolve(settings)
        startup_served = fake.operation_counts["GetSecret"]
        assert meter.secrets == startup_served == 2
        resolver.refresh()

    assert fake.operation_counts["GetSecret"] - startup_served == 1  # only the versionless one is read again
    assert meter.secrets == 3
    assert meter.versionless_by_vault == {"contoso-app.vault.azure.net": 2}


def test_check_reports_the_projection_in_json_and_text(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"per_10k": {"secrets": 1.0}}))
    args = ["check", "--fake-vault", str(QUICKSTART / "vault.json"), "--env-file", str(QUICKSTART / "app.env")]
    args += ["--replicas", "40", "--refresh-interval", "1h", "--prices", str(prices)]

    as_json = CliRunner().invoke(cli, [*args, "--format", "json"])
    as_text = CliRunner().invoke(cli, args)

    assert as_json.exit_code == 0, as_json.stderr
    cost = json.loads(as_json.stdout)["cost"]
    assert cost["startup"]["secrets"] == 3
    assert cost["per_refresh"]["secrets"] == 2
    assert cost["monthly_transactions"]["secrets"] == 40 * (3 + 720 * 2)
    assert cost["monthly_cost"] == 57_720 / 10_000 * 1.0
    assert cost["startup_fits"] is True
    assert "about 5.77 USD" in as_text.stdout
    assert "fits the 2000 limit" in as_text.stdout


def test_check_without_cost_options_keeps_its_json_shape() -> None:
    args = ["check", "--fake-vault", str(QUICKSTART / "vault.json"), "--env-file", str(QUICKSTART / "app.env")]
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert isinstance(json.loads(result.stdout), list)
