"""``kvconfig check``: every reference's status, version and expiry (never a value); exit status 1 on a failure."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from kvconfig.cli._appconfig import add_store, appconfig_options, check_store, store_alone
from kvconfig.cli._common import embedded_hint, fail, resolver_options, source_options
from kvconfig.cli._console import ProgressLine, print_status_summary, print_status_table, stderr_console
from kvconfig.cli._cost import cost_options, cost_projection, cost_text
from kvconfig.cli._platforms import containerapp_statuses, load_with_platforms, open_platform_resolver, platform_options
from kvconfig.cli._startup import startup_options
from kvconfig.errors import KvConfigError
from kvconfig.platforms import portal_status
from kvconfig.resolve import ReferenceStatus, TransactionMeter

__all__ = ["check"]

_WARN_ONLY = frozenset({"SecretExpired", "SecretNotYetValid"})


@click.command()
@source_options
@appconfig_options
@resolver_options
@startup_options
@platform_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table (coloured on a terminal) or JSON.",
)
@cost_options
def check(output_format: str, **params: Any) -> None:
    """Check every reference: status, version and expiry. Exits 1 if any fails.

    With --appconfig, the Key Vault references of an App Configuration store are checked too.
    """
    store_alone(params)
    check_store(params)  # an untrusted store fails here, before any credential is made
    try:
        with ProgressLine(stderr_console()) as progress:
            meter = TransactionMeter(progress)
            if params["containerapp"] is not None:  # every keyVaultUrl secret of the app, each with its identity
                statuses = containerapp_statuses(params, progress=meter)
            else:
                platform = load_with_platforms(params, default_env=False)
                loaded = platform.loaded
                embedded_hint(loaded.settings, params["embedded"])
                with open_platform_resolver(params, platform, progress=meter) as resolver:
                    content_types = add_store(params, loaded)  # inside the fakes of --fake-vault, when given
                    statuses = resolver.check(loaded.settings, origins=loaded.origins, content_types=content_types)
        cost = cost_projection(meter, params)
    except KvConfigError as exc:
        fail(exc)
    failed = [s for s in statuses if not s.ok and (params["strict"] or s.status not in _WARN_ONLY)]
    if output_format == "json":
        references = [_status_json(status) for status in statuses]
        click.echo(
            json.dumps(references if cost is None else {"references": references, "cost": cost.to_json()}, indent=2)
        )
    else:
        print_status_table(statuses)
        print_status_summary(statuses, strict=params["strict"], failed=bool(failed))
        if cost is not None:
            click.echo(cost_text(cost), nl=False)
    if failed:
        sys.exit(1)


def _status_json(status: ReferenceStatus) -> dict[str, Any]:
    return {
        "setting": status.setting,
        "reference": status.reference,
        "status": status.status,
        "portal_status": portal_status(status.status),  # as App Service's portal shows it (Resolved, ...)
        "version": status.version,
        "expires_on": status.expires_on.isoformat() if status.expires_on else None,
        "not_before": status.not_before.isoformat() if status.not_before else None,
        "detail": status.detail,
        "origin": status.origin,
    }
