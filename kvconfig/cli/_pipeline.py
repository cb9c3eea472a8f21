"""``kvconfig resolve --format github|azure-pipelines``: resolved secrets handed to a CI runner as its own tasks do.

``--secrets a,b --vault NAME`` reads named secrets without a references file (``*`` reads every enabled secret), as
``azure/get-keyvault-secrets`` and ``AzureKeyVault@2`` do; a references file (``--env-file``, ``--config``) works too.
Both formats print values (inside commands the runner hides), so they run only inside their runner
(``GITHUB_ACTIONS=true``, ``TF_BUILD=True``) unless ``--reveal`` says a person asked for it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from kvconfig.cli._appconfig import add_store, appconfig_references, store_alone
from kvconfig.cli._common import (
    embedded_hint,
    env_name,
    fail,
    load,
    note,
    open_resolver,
    reference_settings,
)
from kvconfig.cli._console import ProgressLine, stderr_console
from kvconfig.cli._run import _secret_values
from kvconfig.errors import KvConfigError
from kvconfig.pipelines import (
    append_file_command,
    github_env_name,
    list_enabled_secrets,
    mask_commands,
    parse_secrets_filter,
    set_variable_commands,
)
from kvconfig.references import cloud_vault_suffix

__all__ = ["PIPELINE_FORMATS", "pipeline_options", "resolve_for_pipeline"]

F = TypeVar("F", bound=Callable[..., Any])
PIPELINE_FORMATS = ("github", "azure-pipelines")
_VAULT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")
_RUNNERS = {"github": ("GITHUB_ACTIONS", "GitHub Actions"), "azure-pipelines": ("TF_BUILD", "Azure Pipelines")}


def pipeline_options(func: F) -> F:
    """``--secrets`` and ``--vault``: named secrets of one vault, as the CI tasks take them."""
    func = click.option(
        "--vault",
        help="The vault of --secrets, by name (its host follows --cloud): myvault -> myvault.vault.azure.net.",
    )(func)
    return click.option(
        "--secrets",
        "secrets_filter",
        help="Comma-separated secret names to read from --vault (name/version pins one), or '*' for every enabled "
        "secret, as azure/get-keyvault-secrets and AzureKeyVault@2 take them.",
    )(func)


def resolve_for_pipeline(output_format: str, reveal: bool, params: dict[str, Any]) -> None:
    """Resolve, then print masks and write ``$GITHUB_OUTPUT``/``$GITHUB_ENV``, or print ``##vso`` commands."""
    variable, runner = _RUNNERS[output_format]
    if os.environ.get(variable, "").lower() != "true" and not reveal:
        raise click.UsageError(
            f"--format {output_format} prints secret values inside the commands {runner} hides from its log; "
            f"outside {runner} ({variable} is not 'true') add --reveal to print them (nothing was read)."
        )
    targets = {name: os.environ.get(name) for name in ("GITHUB_OUTPUT", "GITHUB_ENV")}
    if output_format == "github" and not any(targets.values()):
        raise click.UsageError("--format github writes to $GITHUB_OUTPUT and $GITHUB_ENV; neither is set.")
    secrets_filter, vault = params.pop("secrets_filter"), params.pop("vault")
    if (secrets_filter is None) != (vault is None):
        raise click.UsageError("--secrets and --vault go together: --secrets db-password,api-key --vault myvault.")
    if secrets_filter is not None and params["use_env"] is None and not (params["env_files"] or params["config_files"]):
        params["use_env"] = False  # named secrets alone: the process environment is not this command's input
    store_alone(params)
    try:
        loaded = load(params, default_env=False)
        with ProgressLine(stderr_console()) as progress, open_resolver(params, progress=progress) as resolver:
            # inside the fakes of --fake-vault, when given; both runners name settings as variables
            content_types = add_store(params, loaded, env_name if output_format == "github" else _pipeline_variables)
            embedded_hint(loaded.settings, params["embedded"])
            named = _named_secrets(secrets_filter, vault, params) if vault is not None else {}
            settings = {**loaded.settings, **named}
            origins = {**loaded.origins, **dict.fromkeys(named, "--secrets")}
            content_types = {name: kind for name, kind in content_types.items() if name not in named}
            resolved = resolver.resolve(settings, origins=origins, content_types=content_types)
            secret_names = (
                reference_settings(loaded.settings, params["embedded"]) | appconfig_references(content_types)
            ) | set(named)
            masks = _secret_values(resolver, settings, params, content_types) + [
                str(resolved[name]) for name in secret_names
            ]
        shown = {
            key: str(value)
            for key, value in resolved.items()
            if key not in loaded.from_environment or key in secret_names
        }
        if output_format == "github":
            _publish_github(shown, secret_names, set(named), masks, targets)
        else:
            for key, value in shown.items():
                for line in set_variable_commands(key, value, secret=key in secret_names):
                    click.echo(line)
            note(f"set {len(shown)} pipeline variables ({len(secret_names)} secret).")
    except KvConfigError as exc:
        fail(exc)


def _pipeline_variables(key: str) -> tuple[str, ...]:
    """Which Azure Pipelines variables ``key`` sets (``set_variable_commands``: ``a/b`` also sets ``a``): names are
    case-insensitive, and a step sees each as an environment variable upper-cased with ``.`` as ``_``."""
    return tuple(dict.fromkeys(name.upper().replace(".", "_") for name in (key, key.split("/")[0])))


def _named_secrets(secrets_filter: str, vault: str, params: dict[str, Any]) -> dict[str, str]:
    """``{name: reference}`` for each secret of the filter; ``*`` lists the vault's enabled secrets first."""
    if not _VAULT_NAME.match(vault):
        raise click.BadParameter(
            f"{vault!r} is not a vault name (3-24 letters, digits and dashes).", param_hint="--vault"
        )
    vault_host = f"{vault}.{cloud_vault_suffix(params['cloud'])}"
    names = parse_secrets_filter(secrets_filter)
    if names is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
        try:
            names = list_enabled_secrets(f"https://{vault_host}", credential)
        finally:
            close = getattr(credential, "close", None)  # the fake's patch() stands in a credential of its own
            if callable(close):
                close()
    named = {}
    for name in names:
        secret, _, version = name.partition("/")
        version_part = f"/{version}" if version else ""
        named[name] = f"@Microsoft.KeyVault(SecretUri=https://{vault_host}/secrets/{secret}{version_part})"
    return named


def _publish_github(
    shown: dict[str, str], secret_names: set[str], named: set[str], masks: list[str], targets: dict[str, str | None]
) -> None:
    # Every mask is on stdout, and flushed, before a value goes anywhere else.
    for line in mask_commands(masks):
        click.echo(line)
    sys.stdout.flush()
    outputs = {key.split("/")[0] if key in named else key: value for key, value in shown.items()}
    environment = {
        github_env_name(key.split("/")[0]) if key in named else env_name(key): value for key, value in shown.items()
    }
    written = []
    if targets["GITHUB_OUTPUT"]:
        append_file_command(targets["GITHUB_OUTPUT"], outputs)
        written.append(f"{len(outputs)} outputs")
    if targets["GITHUB_ENV"]:
        append_file_command(targets["GITHUB_ENV"], environment)
        written.append(f"{len(environment)} environment variables")
    note(f"masked {len(secret_names)} secrets; wrote {' and '.join(written)} for the next steps.")
