"""``kvconfig resolve``: the settings with their references resolved, masked unless ``--reveal``.

Settings read from the process environment are shown only when they held a reference: the environment holds
whatever the shell had (tokens of other tools included), which is not kvconfig's to print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kvconfig._private_files import write_private
from kvconfig.cli._appconfig import add_store, appconfig_options, appconfig_references, check_store, store_alone
from kvconfig.cli._common import (
    MASK,
    Loaded,
    embedded_hint,
    env_name,
    fail,
    load,
    note,
    open_resolver,
    reference_settings,
    render,
    require_reveal,
    resolver_options,
    source_options,
)
from kvconfig.cli._console import ProgressLine, stderr_console
from kvconfig.cli._pipeline import PIPELINE_FORMATS, pipeline_options, resolve_for_pipeline
from kvconfig.errors import KvConfigError

__all__ = ["resolve"]


@click.command()
@source_options
@appconfig_options
@resolver_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["dotenv", "json", "shell", *PIPELINE_FORMATS]),
    default="dotenv",
    show_default=True,
    help="How to print the settings; github and azure-pipelines hand them to a CI runner (docs/platforms/ci-cd.md).",
)
@pipeline_options
@click.option("--reveal", is_flag=True, help="Print or write secret values in clear (masked by default).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the settings to this file instead (mode 600, atomically; needs --reveal).",
)
def resolve(output_format: str, reveal: bool, output: Path | None, **params: Any) -> None:
    """Resolve every reference and print the settings."""
    check_store(params)  # an untrusted store fails here, before any credential is made
    if output_format in PIPELINE_FORMATS:
        if output is not None:
            raise click.UsageError(f"--format {output_format} writes where its runner reads; -o is not used with it.")
        return resolve_for_pipeline(output_format, reveal, params)
    if params.pop("secrets_filter") is not None or params.pop("vault") is not None:
        raise click.UsageError("--secrets and --vault are for --format github or azure-pipelines.")
    require_reveal(output, reveal)
    store_alone(params)
    try:
        loaded = load(params, default_env=False)
        with ProgressLine(stderr_console()) as progress, open_resolver(params, progress=progress) as resolver:
            # inside the fakes of --fake-vault, when given; dotenv and shell name settings as variables
            content_types = add_store(params, loaded, None if output_format == "json" else env_name)
            embedded_hint(loaded.settings, params["embedded"])
            secret_names = reference_settings(loaded.settings, params["embedded"]) | appconfig_references(content_types)
            resolved = resolver.resolve(loaded.settings, origins=loaded.origins, content_types=content_types)
        shown = {
            key: (value if reveal or key not in secret_names else MASK)
            for key, value in resolved.items()
            if key in secret_names or key not in loaded.from_environment
        }
        _say_what_was_read(loaded, secret_names)
        text = render(shown, output_format)
        if output is None:
            click.echo(text, nl=False)
        else:
            write_private(output, text)
            note(f"wrote {len(shown)} settings to {output} (mode 600).")
    except KvConfigError as exc:
        fail(exc)


def _say_what_was_read(loaded: Loaded, secret_names: set[str]) -> None:
    if not loaded.read_environment:
        return
    held = len(loaded.from_environment & secret_names)
    note(
        f"read the process environment ({loaded.environment_size} variables); "
        + (
            f"shown: the {held} that held Key Vault references."
            if held
            else "none held a Key Vault reference, so none is shown."
        )
        + " Its other variables are never printed; use --env-file or --config to resolve a file."
    )
