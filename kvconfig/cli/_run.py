"""``kvconfig run``: a command started with the resolved settings in its environment, its output masked on request."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any

import click

from kvconfig.cli._appconfig import add_store, appconfig_options, appconfig_references, check_store
from kvconfig.cli._common import (
    embedded_hint,
    env_name,
    fail,
    reference_settings,
    resolver_options,
    source_options,
)
from kvconfig.cli._console import ProgressLine, stderr_console
from kvconfig.cli._mask import pump, secret_forms
from kvconfig.cli._platforms import (
    containerapp_environment,
    load_with_platforms,
    open_platform_resolver,
    platform_options,
)
from kvconfig.cli._startup import startup_options
from kvconfig.errors import KvConfigError
from kvconfig.references import KeyVaultReference, find_references, parse_appconfig_reference
from kvconfig.resolve import SecretResolver

__all__ = ["run"]


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@source_options
@appconfig_options
@resolver_options
@startup_options
@platform_options
@click.option(
    "--mask/--no-mask",
    default=False,
    help="Replace every secret value (and its JSON-escaped and URL-encoded forms) in the child's output.",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(command: Sequence[str], mask: bool, **params: Any) -> None:
    """Run COMMAND with resolved settings in its environment: kvconfig run --env-file .env -- python app.py"""
    verbatim: set[str] = set()
    if params["appconfig"] and params["containerapp"] is not None:
        raise click.UsageError("--containerapp gives the container's whole environment; drop --appconfig.")
    check_store(params)  # an untrusted store fails here, before any credential is made
    try:
        if params["containerapp"] is not None:  # the container's whole environment, as the platform sets it
            with ProgressLine(stderr_console()) as progress:
                resolved, secrets = containerapp_environment(params, progress=progress)
            verbatim = set(resolved)
            secrets = secrets if mask else []
        else:
            platform = load_with_platforms(params, default_env=True)
            loaded, verbatim = platform.loaded, platform.verbatim
            with (
                ProgressLine(stderr_console()) as progress,
                open_platform_resolver(params, platform, progress=progress) as resolver,
            ):
                # inside the fakes of --fake-vault, when given; two keys of one variable name are refused
                content_types = add_store(params, loaded, env_name)
                verbatim -= set(content_types)
                embedded_hint(loaded.settings, params["embedded"])
                resolved = resolver.resolve(loaded.settings, origins=loaded.origins, content_types=content_types)
                secrets = _secret_values(resolver, loaded.settings, params, content_types) if mask else []
    except KvConfigError as exc:
        fail(exc)
    env = dict(os.environ)
    # A platform's names are the platform's (ConnectionStrings:Db); other keys become variable names (a.b -> A__B).
    names = {key: key if key in verbatim else env_name(key) for key in resolved}
    env.update({names[key]: str(value) for key, value in resolved.items() if value is not None})
    sys.exit(_run_child(list(command), env, secret_forms(secrets)))


def _secret_values(
    resolver: SecretResolver,
    settings: dict[str, Any],
    params: dict[str, Any],
    content_types: dict[str, str | None] | None = None,
) -> list[str]:
    """Each value read from the vault for these settings (each secret on its own, also inside a longer value, and
    the App Configuration references of ``--appconfig`` by their content type)."""
    references: list[KeyVaultReference] = []
    for name in reference_settings(settings, params["embedded"]):
        text = str(settings[name])
        found = find_references(text, cloud=params["cloud"], trusted_hosts=params["trusted_hosts"])
        references.extend(ref for _start, _end, ref in found)
    for name in appconfig_references(content_types or {}):
        with contextlib.suppress(KvConfigError):  # a broken reference was reported by resolve already
            ref = parse_appconfig_reference(
                str(settings[name]), (content_types or {})[name], trusted_hosts=params["trusted_hosts"]
            )
            if ref is not None:
                references.append(ref)
    values = []
    for ref in references:
        if ref.version:
            secret = resolver.cache.get_version(ref.vault_url, ref.name, ref.version)
        else:
            secret = resolver.cache.get_latest(ref.vault_url, ref.name, allow_stale=True)
        if secret is not None:
            values.append(secret.value)
    return values


def _run_child(command: list[str], env: dict[str, str], secrets: list[bytes]) -> int:
    try:
        if not secrets:
            return subprocess.call(command, env=env)
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        click.echo(f"kvconfig: command not found: {command[0]}", err=True)
        return 127
    except OSError as exc:
        click.echo(f"kvconfig: cannot run {command[0]}: {exc.strerror or exc}", err=True)
        return 126
    assert process.stdout is not None
    assert process.stderr is not None
    pumps = [
        threading.Thread(target=pump, args=(process.stdout, sys.stdout.buffer, secrets), daemon=True),
        threading.Thread(target=pump, args=(process.stderr, sys.stderr.buffer, secrets), daemon=True),
    ]
    for thread in pumps:
        thread.start()
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        code = process.wait()
    for thread in pumps:
        thread.join()
    process.stdout.close()
    process.stderr.close()
    return code
