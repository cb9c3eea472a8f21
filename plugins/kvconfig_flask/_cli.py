"""``flask kvconfig``: the Click group of the extension (``check``, ``status``).

It is registered both on the app's CLI by ``init_app`` and as a ``flask.commands`` entry point. Through the entry
point the command exists before the app is loaded, so ``check`` can load the app with resolution deferred and
report broken references instead of failing to start.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask import Flask
from flask.cli import ScriptInfo

from kvconfig import ReferenceStatus, ResolutionFailure, format_status_summary, format_status_table
from kvconfig_flask._state import DEFER_RESOLUTION, EXTENSION_KEY, KvConfigState

__all__ = ["cli"]


@click.group("kvconfig", help="Key Vault references in app.config.")
def cli() -> None:
    pass


def _load_app() -> Flask:
    from flask import current_app

    if current_app:
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        return app
    info = click.get_current_context().ensure_object(ScriptInfo)
    token = DEFER_RESOLUTION.set(True)
    try:
        return info.load_app()
    finally:
        DEFER_RESOLUTION.reset(token)


def _state(app: Flask) -> KvConfigState:
    state = app.extensions.get(EXTENSION_KEY)
    if not isinstance(state, KvConfigState):
        raise click.ClickException("This app does not use kvconfig_flask.KvConfig (init_app was not called).")
    return state


@cli.command("check")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def check(output_format: str) -> None:
    """Read every reference in app.config: status, version, expiry. Exits 1 if any fails."""
    state = _state(_load_app())
    try:
        statuses = state.resolver.check(state.references, origins=dict.fromkeys(state.references, "app.config"))
    finally:
        if state.owns_resolver and not state.resolved:
            # The app was loaded for this command only (resolution deferred): nothing else will close its resolver.
            state.resolver.close()
    # What check found is what status reports next (in this process): a disabled secret is a failure, whatever the
    # app's start-up said.
    state.failures = tuple(
        ResolutionFailure(item.setting, item.reference, item.status, item.detail, item.origin)
        for item in statuses
        if not item.ok
    )
    if output_format == "json":
        click.echo(json.dumps([_as_json(status) for status in statuses], indent=2))
    else:
        click.echo(format_status_table(statuses))
        # Strict: any status but OK fails the command, expired secrets included.
        click.echo(f"\n{format_status_summary(statuses, strict=True)}", err=True)
    if any(not status.ok for status in statuses):
        sys.exit(1)


@cli.command("status")
def status() -> None:
    """What the running configuration knows: references, last refresh, stale settings (no vault reads)."""
    state = _state(_load_app())
    failing = sorted({(failure.setting, failure.status) for failure in state.failures})
    click.echo(f"references: {', '.join(sorted(state.references)) or '-'}")
    if not state.resolved:
        click.echo("resolved: False (the app was loaded without reading the vault; flask kvconfig check reads it)")
    else:
        click.echo(f"resolved: {not failing}")
    click.echo(f"failing: {', '.join(f'{setting} [{status}]' for setting, status in failing) or '-'}")
    click.echo(f"refresh interval: {state.refresh_interval or '-'}")
    click.echo(f"last refresh: {state.last_refresh.isoformat() if state.last_refresh else '-'}")
    click.echo(f"stale: {', '.join(sorted(state.stale)) or '-'}")


def _as_json(item: ReferenceStatus) -> dict[str, Any]:
    return {
        "setting": item.setting,
        "reference": item.reference,
        "status": item.status,
        "version": item.version,
        "expires_on": item.expires_on.isoformat() if item.expires_on else None,
        "detail": item.detail,
    }
