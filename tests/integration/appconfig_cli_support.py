"""What the tests of the CLI's ``--appconfig`` share: the store and vault of their ``--fake-vault`` seed, the seed
(the store's usual key-values, the vault's secrets, and each file's own extras), and running a command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from kvconfig.cli import cli

STORE = "https://contoso-config.azconfig.io"
VAULT = "https://contoso-app.vault.azure.net"


def write_seed(
    tmp_path: Path,
    secrets: dict[str, str],
    *more: dict[str, Any],
    label: str = "prod",
    api_key_secret: str = "db-password",
) -> Path:
    """A ``--fake-vault`` seed: the vault ``contoso-app`` with ``secrets``, and the store ``contoso-config`` with
    ``app:greeting``, ``app:db:password`` (a reference, and under ``label`` one to an absent secret), ``app:api-key``
    (``@Microsoft.KeyVault`` text naming ``api_key_secret``) and the key-values ``more``."""
    key_values = [
        {"key": "app:greeting", "value": "hello"},
        {"key": "app:db:password", "secret_uri": f"{VAULT}/secrets/db-password"},
        {"key": "app:db:password", "secret_uri": f"{VAULT}/secrets/absent", "label": label},
        {"key": "app:api-key", "value": f"@Microsoft.KeyVault(VaultName=contoso-app;SecretName={api_key_secret})"},
        *more,
    ]
    path = tmp_path / "seed.json"
    path.write_text(
        json.dumps({"vaults": {"contoso-app": {"secrets": secrets}}, "appconfig": {"contoso-config": key_values}})
    )
    return path


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    """``kvconfig ARGS`` in-process, exceptions not caught (an unhandled one fails the test)."""
    return CliRunner().invoke(cli, list(map(str, args)), env=env, catch_exceptions=False)
