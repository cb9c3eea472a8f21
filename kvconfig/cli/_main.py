"""The ``kvconfig`` command group: its commands, and one voice for errors (``kvconfig: <message>`` on stderr).

The commands live in their own modules: ``resolve`` (``_resolve``), ``run`` (``_run``), ``check`` (``_check``),
``inject`` (``_inject``), ``mount`` (``_mount``), the fake vault's ``fake ...`` (``_fake``) and ``fleet rotate``
(``_fleet``), each imported when it is used (``_lazy``); what they share is in ``_common``.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence
from typing import Any

import click

from kvconfig.cli._lazy import LazyCommand, LazyGroup
from kvconfig.errors import ResolutionError

__all__ = ["cli", "main"]


class KvconfigGroup(LazyGroup):
    """A click group whose errors (usage errors included, for every subcommand) read ``kvconfig: <message>``
    rather than click's ``Error: <message>``."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            click.echo(f"kvconfig: {exc.format_message()}", err=True)
            if exc.ctx is not None:
                help_option = exc.ctx.help_option_names[0] if exc.ctx.help_option_names else "--help"
                click.echo(f"Try '{exc.ctx.command_path} {help_option}' for help.", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"kvconfig: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("kvconfig: aborted.", err=True)
            sys.exit(1)
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            sys.exit(1)  # the reader went away (kvconfig resolve | head): nothing more to say
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=KvconfigGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="kvconfig", help="Show kvconfig's version and exit.")
def cli() -> None:
    """Resolve Azure Key Vault references in environment variables and config files.

    Settings hold references such as @Microsoft.KeyVault(VaultName=myvault;SecretName=db-password); kvconfig reads
    them through the official Azure SDK with DefaultAzureCredential. Add --fake-vault SEED.json to any command to
    run it against kvconfig's embedded fake Key Vault instead. Values are masked unless --reveal is given.
    """


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``kvconfig`` console script."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="kvconfig")
    except ResolutionError as exc:  # pragma: no cover - commands report their own errors
        click.echo(f"kvconfig: {exc}", err=True)
        sys.exit(1)


# Each command is imported when it is used (``_lazy.py``): ``kvconfig fake serve`` never loads the resolver's side.
_COMMANDS = {
    "check": LazyCommand(
        "kvconfig.cli._check", "check", "Check every reference: status, version and expiry. Exits 1 if any fails."
    ),
    "fake": LazyCommand(
        "kvconfig.cli._fake",
        "fake_group",
        "The fake Key Vault: serve it over loopback HTTPS to other processes, and get tokens for it.",
    ),
    "fleet": LazyCommand(
        "kvconfig.cli._fleet", "fleet_group", "Replicas sharing a sealed cache on Redis: rotate its data key."
    ),
    "inject": LazyCommand(
        "kvconfig.cli._inject",
        "inject",
        "Render a config file with its references replaced by their values (masked unless --reveal).",
    ),
    "mount": LazyCommand(
        "kvconfig.cli._mount",
        "mount",
        "Write a SecretProviderClass's objects into DIR as the CSI driver does, and keep them current.",
    ),
    "resolve": LazyCommand("kvconfig.cli._resolve", "resolve", "Resolve every reference and print the settings."),
    "run": LazyCommand(
        "kvconfig.cli._run",
        "run",
        "Run COMMAND with resolved settings in its environment: kvconfig run --env-file .env -- python app.py",
    ),
}
for _name, _command in _COMMANDS.items():
    cli.add_lazy_command(_name, _command)
