"""``kvconfig check --appconfig``: every Key Vault reference in an App Configuration store (stored the App
Configuration way or as App Service text) is checked like the other sources' references, against a store and vault
seeded from one ``--fake-vault`` file, read through the official App Configuration client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from .appconfig_cli_support import STORE, invoke, write_seed

SECRET = "CLI-APPCONFIG-SECRET-3b1e"


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    evil = {"key": "other:token", "secret_uri": "https://evil.example.com/secrets/token"}
    return write_seed(tmp_path, {"db-password": SECRET}, evil)


def _check(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return invoke("check", *args, env=env)


def _statuses(result: Result) -> dict[str, dict[str, Any]]:
    return {entry["setting"]: entry for entry in json.loads(result.stdout)}


def test_every_reference_of_the_store_is_checked_with_key_and_label_as_origin(seed: Path) -> None:
    result = _check("--fake-vault", seed, "--appconfig", STORE, "--format", "json")

    statuses = _statuses(result)
    assert {name: entry["status"] for name, entry in statuses.items()} == {
        "app:db:password": "OK",
        "app:api-key": "OK",
        "other:token": "UntrustedVault",
    }
    assert statuses["app:db:password"]["origin"] == f"App Configuration {STORE}, key 'app:db:password', no label"
    assert result.exit_code == 1  # the untrusted vault fails
    assert SECRET not in result.output


def test_labels_in_order_key_filter_and_trimmed_prefix(seed: Path) -> None:
    result = _check(
        "--fake-vault", seed, "--appconfig", STORE, "--label", "\\0", "--label", "prod",
        "--key-filter", "app:*", "--trim-prefix", "app:", "--format", "json",
    )  # fmt: skip

    statuses = _statuses(result)
    assert sorted(statuses) == ["api-key", "db:password"]
    # The prod label came later and wins: its reference names a secret that does not exist.
    assert statuses["db:password"]["status"] == "SecretNotFound"
    assert statuses["db:password"]["origin"].endswith("key 'app:db:password', label 'prod'")
    assert result.exit_code == 1


def test_a_connection_string_from_the_environment_is_never_echoed(seed: Path, tmp_path: Path) -> None:
    from kvconfig.fake.appconfig import FakeAppConfiguration

    # The fake store of the seed gets its own keys: a connection string made elsewhere is refused (401).
    wrong = FakeAppConfiguration().connection_string("contoso-config")
    result = _check("--fake-vault", seed, env={"KVCONFIG_APPCONFIG": wrong})

    assert result.exit_code == 1
    assert result.stderr.startswith(f"kvconfig: Cannot read App Configuration {STORE}: the credential was refused")
    secret = wrong.rsplit("Secret=", 1)[1]
    assert secret not in result.output
    assert "Id=" not in result.output


def test_table_output_lists_the_store_references_without_values(seed: Path) -> None:
    result = _check("--fake-vault", seed, "--appconfig", STORE, "--key-filter", "app:*")

    assert result.exit_code == 0
    assert "app:db:password" in result.stdout
    assert "OK" in result.stdout
    assert SECRET not in result.output


def test_store_options_without_a_store_and_bad_stores_are_usage_errors(seed: Path) -> None:
    result = _check("--fake-vault", seed, "--label", "prod", "--no-env")
    assert result.exit_code == 2
    assert "--appconfig" in result.stderr

    result = _check("--fake-vault", seed, "--appconfig", "contoso-config")
    assert result.exit_code == 1
    assert "endpoint (https://<name>.azconfig.io) or a connection string" in result.stderr


def test_a_bad_appconfig_part_of_the_seed_names_the_entry(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"vaults": {}, "appconfig": {"contoso-config": [{"value": "no key"}]}}))

    result = _check("--fake-vault", seed, "--appconfig", STORE)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"kvconfig: Cannot use the --fake-vault seed {seed}: appconfig.contoso-config[0]")
