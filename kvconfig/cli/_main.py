"""The ``kvconfig`` command group: its commands, and one voice for errors (``kvconfig: <message>`` on stderr).

The commands live in their own modules: ``resolve`` (``_resolve``), ``run`` (``_run``), ``check`` (``_check``),
``inject`` (``_inject``) and the fake vault's ``fake ...`` (``_fake``); what they share is in ``_common``.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence
from typing import Any

import click

from kvconfig.errors import ResolutionError

__all__ = ["cli", "main"]


class KvconfigGroup(click.Group):
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


from kvconfig.cli._check import check  # noqa: E402
from kvconfig.cli._fake import fake_group  # noqa: E402
from kvconfig.cli._inject import inject  # noqa: E402
from kvconfig.cli._mount import mount  # noqa: E402
from kvconfig.cli._resolve import resolve  # noqa: E402
from kvconfig.cli._run import run  # noqa: E402

for _command in (resolve, run, check, inject, mount, fake_group):
    cli.add_command(_command)
