"""What the CLI's commands share: their options, loading the settings, the resolver they use, and how they speak.

Every message of the CLI goes to stderr and starts ``kvconfig: ``; a warning starts ``kvconfig: warning: ``. The
resolver's own log lines (an expired secret, a reference kept or omitted) are shown the same way.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shlex
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from kvconfig.cli._duration import Seconds
from kvconfig.cli._startup import startup_fleet
from kvconfig.errors import KvConfigError
from kvconfig.references import cloud_vault_suffix, trusted_entries
from kvconfig.resolve import ExpiryWarning, FetchProgress, SecretResolver, merge_sources
from kvconfig.sources import ConfigSource, dotenv_quote, from_environ, from_file

__all__ = [
    "MASK",
    "Loaded",
    "embedded_hint",
    "env_name",
    "fail",
    "load",
    "note",
    "open_resolver",
    "reference_settings",
    "render",
    "require_reveal",
    "resolver_options",
    "source_options",
    "valid_trusted_hosts",
    "warn",
]

F = TypeVar("F", bound=Callable[..., Any])
MASK = "********"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MARKER = "@microsoft.keyvault("


def note(message: str) -> None:
    """An informational line on stderr: ``kvconfig: <message>``."""
    click.echo(f"kvconfig: {message}", err=True)


def warn(message: str) -> None:
    """A warning on stderr: ``kvconfig: warning: <message>``."""
    click.echo(f"kvconfig: warning: {message}", err=True)


def fail(exc: KvConfigError | str) -> NoReturn:
    """Report an error on stderr (``kvconfig: <message>``, one line per line of the message) and exit 1."""
    click.echo(f"kvconfig: {exc}", err=True)
    sys.exit(1)


def require_reveal(output: Path | None, reveal: bool) -> None:
    """``-o FILE`` writes values in clear: only with ``--reveal``, never a silent file of masks."""
    if output is not None and not reveal:
        raise click.UsageError(
            f"-o/--output {output} would write secret values in clear; add --reveal to confirm "
            "(nothing was read or written)."
        )


def _valid_cloud(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        cloud_vault_suffix(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def valid_trusted_hosts(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    try:
        trusted_entries(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _apply(func: F, options: list[Callable[[F], F]]) -> F:
    for option in reversed(options):
        func = option(func)
    return func


def source_options(func: F) -> F:
    """Where the settings come from: ``--env-file``, ``--config`` and ``--env/--no-env``."""
    return _apply(
        func,
        [
            click.option(
                "--env-file",
                "env_files",
                multiple=True,
                type=click.Path(dir_okay=False, path_type=Path),
                help="A .env file of settings (repeatable; later files win).",
            ),
            click.option(
                "--config",
                "config_files",
                multiple=True,
                type=click.Path(dir_okay=False, path_type=Path),
                help="A JSON, YAML or TOML config file (repeatable; nested keys become a.b[0].c).",
            ),
            click.option(
                "--interpolate/--no-interpolate",
                default=True,
                show_default=True,
                help="Expand ${VAR} in .env files as python-dotenv does; --no-interpolate keeps $ as written and reads "
                "files of thousands of lines in linear time.",
            ),
            click.option(
                "--env/--no-env",
                "use_env",
                default=None,
                help="Include the process environment (default: only when no file is given; always for run).",
            ),
        ],
    )


def resolver_options(func: F) -> F:
    """How references are read: the fake vault, cloud, trusted hosts, concurrency, timeout, embedded, strict."""
    return _apply(
        func,
        [
            click.option(
                "--fake-vault",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="Serve every vault from kvconfig's embedded fake, seeded from this JSON file "
                "(no Azure account needed).",
            ),
            click.option(
                "--cloud",
                default="public",
                show_default=True,
                callback=_valid_cloud,
                help="Cloud that VaultName= references map to (public, china, usgov, germany, or the Azure CLI names).",
            ),
            click.option(
                "--trusted-host",
                "trusted_hosts",
                multiple=True,
                callback=valid_trusted_hosts,
                help="Also allow this vault or App Configuration store host (or .suffix) to receive a token.",
            ),
            click.option(
                "--concurrency",
                default=32,
                show_default=True,
                type=click.IntRange(1, 256),
                help="How many secrets are read at once.",
            ),
            click.option(
                "--timeout",
                default=30.0,
                show_default=True,
                type=Seconds(0, min_open=True),
                help="Seconds the vault reads of one resolve may take in all (FetchTimedOut after that).",
            ),
            click.option("--embedded", is_flag=True, help="Also resolve references inside longer values."),
            click.option("--strict", is_flag=True, help="Expired or not-yet-valid secrets are failures."),
        ],
    )


class _CliLogFormat(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        label = (
            "warning: " if record.levelno == logging.WARNING else "error: " if record.levelno >= logging.ERROR else ""
        )
        return f"kvconfig: {label}{record.getMessage()}"


@contextlib.contextmanager
def _cli_logging() -> Iterator[None]:
    """The resolver's log lines (never values) on stderr as ``kvconfig: warning: ...`` for the command's duration."""
    logger = logging.getLogger("kvconfig")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CliLogFormat())
    handler.setLevel(logging.WARNING)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


@contextlib.contextmanager
def open_resolver(
    params: dict[str, Any],
    *,
    on_failure: str = "raise",
    progress: FetchProgress | None = None,
    credential: Callable[[], Any] | None = None,
    ttl: float | None = None,
) -> Iterator[SecretResolver]:
    """A resolver configured by the command's options (on the embedded fake with ``--fake-vault``), closed after.

    ``credential`` makes the credential (a platform's identity, see ``_platforms``) once the fake is patched in; it
    is closed after the resolver. ``ttl`` overrides the resolver's default (App Service's 24 hours).
    """
    with contextlib.ExitStack() as stack:
        seed = params.get("fake_vault")
        if seed is not None:
            from kvconfig.cli._fake_seed import patched_fakes  # the fakes are imported only when asked for

            stack.enter_context(patched_fakes(seed))
        stack.enter_context(_cli_logging())
        # The resolver logs each expiry note and also issues it as an ExpiryWarning: the log line is enough here.
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore", ExpiryWarning)
        made = credential() if credential is not None else None
        options: dict[str, Any] = {"ttl": ttl} if ttl is not None else {}
        if made is not None:
            stack.callback(made.close)
        resolver = SecretResolver(
            made,
            cloud=params["cloud"],
            trusted_hosts=params["trusted_hosts"],
            concurrency=params["concurrency"],
            timeout=params["timeout"],
            embedded=params["embedded"],
            strict=params["strict"],
            on_failure=on_failure,  # type: ignore[arg-type]
            progress=progress,
            fleet=startup_fleet(params, progress),  # --startup-deadline (run, check)
            **options,
        )
        stack.callback(resolver.close)
        yield resolver


@dataclass
class Loaded:
    """The merged settings of a command, where each came from, and what of the process environment was read."""

    settings: dict[str, Any]
    origins: dict[str, str]
    read_environment: bool = False
    environment_size: int = 0
    from_environment: set[str] = field(default_factory=set)


def load(params: dict[str, Any], *, default_env: bool) -> Loaded:
    """Read the sources the options name (the environment first, then ``--env-file``s, then ``--config``s)."""
    sources: list[ConfigSource] = []
    use_env = params["use_env"]
    if use_env is None:
        use_env = default_env or not (params["env_files"] or params["config_files"])
    if use_env:
        sources.append(from_environ())
    interpolate = params.get("interpolate", True)
    sources.extend(from_file(path, interpolate=interpolate) for path in params["env_files"])
    sources.extend(from_file(path, interpolate=interpolate) for path in params["config_files"])
    settings, origins = merge_sources(sources)
    from_env = {key for key, origin in origins.items() if origin == "environment"}
    return Loaded(settings, origins, bool(use_env), len(sources[0].settings) if use_env else 0, from_env)


def reference_settings(settings: dict[str, Any], embedded: bool) -> set[str]:
    """The settings whose values are references (or, with ``embedded``, hold one inside a longer value)."""
    names = set()
    for key, value in settings.items():
        if (
            isinstance(value, str)
            and _MARKER in value.lower()
            and (embedded or value.strip().lower().startswith(_MARKER))
        ):
            names.add(key)
    return names


def embedded_hint(settings: dict[str, Any], embedded: bool) -> None:
    """Warn when values hold references inside longer text that will not be resolved without ``--embedded``."""
    if embedded:
        return
    names = sorted(reference_settings(settings, True) - reference_settings(settings, False))
    if names:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        warn(
            f"{len(names)} {'settings hold' if len(names) > 1 else 'setting holds'} a Key Vault reference inside a "
            f"longer value ({shown}), left as written; add --embedded to resolve references inside values."
        )


def env_name(key: str) -> str:
    """A setting's name as an environment variable: ``db.password`` (a store's ``db:password``) -> ``DB__PASSWORD``."""
    if _ENV_NAME.match(key):
        return key
    nested = key.replace(".", "__").replace(":", "__").replace("[", "__").replace("]", "")
    return re.sub(r"[^A-Za-z0-9_]", "_", nested).upper()


def render(values: dict[str, Any], output_format: str) -> str:
    """Settings as ``dotenv`` (quoted for python-dotenv), ``shell`` (``export`` lines) or ``json``."""
    if output_format == "json":
        return json.dumps(values, indent=2, default=str) + "\n"
    lines = []
    for key, value in values.items():
        text = "" if value is None else str(value)
        if output_format == "shell":
            lines.append(f"export {env_name(key)}={shlex.quote(text)}")
        else:
            lines.append(f"{env_name(key)}={dotenv_quote(text)}")
    return "\n".join(lines) + ("\n" if lines else "")
