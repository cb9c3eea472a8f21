"""Commands of the ``kvconfig`` CLI (Click): resolve, run, check and inject."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from kvconfig.errors import KvConfigError, ResolutionError
from kvconfig.references import cloud_vault_suffix, find_references, trusted_entries
from kvconfig.resolve import (
    ExpiryWarning,
    ReferenceStatus,
    SecretResolver,
    format_status_summary,
    format_status_table,
    merge_sources,
)
from kvconfig.sources import ConfigSource, SourceError, dotenv_quote, file_kind, from_environ, from_file

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])
MASK = "********"
MASK_TEXT = b"<concealed by kvconfig>"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _valid_cloud(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        cloud_vault_suffix(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _valid_trusted_hosts(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    try:
        trusted_entries(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _resolver_options(func: F) -> F:
    options = [
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
            callback=_valid_trusted_hosts,
            help="Also allow this vault host (or .suffix) to receive a token.",
        ),
        click.option("--concurrency", default=32, show_default=True, type=click.IntRange(1, 256)),
        click.option(
            "--timeout",
            default=30.0,
            show_default=True,
            type=click.FloatRange(0, min_open=True),
            help="Seconds per secret.",
        ),
        click.option("--embedded", is_flag=True, help="Also resolve references inside longer values."),
        click.option("--strict", is_flag=True, help="Expired or not-yet-valid secrets are failures."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@contextlib.contextmanager
def _resolver(params: dict[str, Any], *, on_failure: str = "raise") -> Iterator[SecretResolver]:
    with contextlib.ExitStack() as stack:
        seed = params.get("fake_vault")
        if seed is not None:
            from kvconfig.fake import FakeKeyVault

            fake = FakeKeyVault()
            try:
                fake.seed(seed)
            except (ValueError, OSError) as exc:
                raise SourceError(f"Cannot use the --fake-vault seed {seed}: {exc}") from None
            stack.enter_context(fake.patch())
        # The resolver logs each expiry note and also issues it as an ExpiryWarning; on a terminal that printed it
        # twice, once with a line of kvconfig's source. The log line is enough here.
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore", ExpiryWarning)
        resolver = SecretResolver(
            cloud=params["cloud"],
            trusted_hosts=params["trusted_hosts"],
            concurrency=params["concurrency"],
            timeout=params["timeout"],
            embedded=params["embedded"],
            strict=params["strict"],
            on_failure=on_failure,  # type: ignore[arg-type]
        )
        stack.callback(resolver.close)
        yield resolver


def _load(params: dict[str, Any], *, default_env: bool) -> tuple[dict[str, Any], dict[str, str], list[ConfigSource]]:
    sources: list[ConfigSource] = []
    use_env = params["use_env"]
    if use_env is None:
        use_env = default_env or not (params["env_files"] or params["config_files"])
    if use_env:
        sources.append(from_environ())
    interpolate = params["interpolate"]
    sources.extend(from_file(path, interpolate=interpolate) for path in params["env_files"])
    sources.extend(from_file(path, interpolate=interpolate) for path in params["config_files"])
    settings, origins = merge_sources(sources)
    return settings, origins, sources


def _reference_settings(settings: dict[str, Any], embedded: bool) -> set[str]:
    names = set()
    for key, value in settings.items():
        if isinstance(value, str) and "@microsoft.keyvault(" in value.lower():
            stripped = value.strip()
            if embedded or stripped.lower().startswith("@microsoft.keyvault("):
                names.add(key)
    return names


def _fail(exc: KvConfigError) -> None:
    click.echo(f"kvconfig: {exc}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="kvconfig")
def cli() -> None:
    """Resolve Azure Key Vault references in environment variables and config files.

    Settings hold references such as @Microsoft.KeyVault(VaultName=myvault;SecretName=db-password); kvconfig reads
    them through the official Azure SDK with DefaultAzureCredential. Add --fake-vault SEED.json to any command to
    run it against kvconfig's embedded fake Key Vault instead.
    """


@cli.command()
@_resolver_options
@click.option(
    "--format", "output_format", type=click.Choice(["dotenv", "json", "shell"]), default="dotenv", show_default=True
)
@click.option("--reveal", is_flag=True, help="Print secret values (masked by default).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here (mode 600).")
def resolve(output_format: str, reveal: bool, output: Path | None, **params: Any) -> None:
    """Resolve every reference and print the settings."""
    try:
        settings, origins, _sources = _load(params, default_env=False)
        secret_names = _reference_settings(settings, params["embedded"])
        with _resolver(params) as resolver:
            resolved = resolver.resolve(settings, origins=origins)
    except KvConfigError as exc:
        _fail(exc)
        return
    shown = {key: (value if reveal or key not in secret_names else MASK) for key, value in resolved.items()}
    text = _render(shown, output_format)
    if output is None:
        click.echo(text, nl=False)
    else:
        _write_private(output, text)
        click.echo(f"Wrote {len(shown)} settings to {output}.", err=True)


def _env_name(key: str) -> str:
    if _ENV_NAME.match(key):
        return key
    return re.sub(r"[^A-Za-z0-9_]", "_", key.replace(".", "__").replace("[", "__").replace("]", "")).upper()


def _render(values: dict[str, Any], output_format: str) -> str:
    if output_format == "json":
        return json.dumps(values, indent=2, default=str) + "\n"
    lines = []
    for key, value in values.items():
        text = "" if value is None else str(value)
        if output_format == "shell":
            lines.append(f"export {_env_name(key)}={shlex.quote(text)}")
        else:
            lines.append(f"{_env_name(key)}={dotenv_quote(text)}")
    return "\n".join(lines) + ("\n" if lines else "")


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # O_CREAT's mode only applies to a new file
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@_resolver_options
@click.option("--mask/--no-mask", default=False, help="Replace secret values in the child's output.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(command: Sequence[str], mask: bool, **params: Any) -> None:
    """Run COMMAND with resolved settings in its environment: kvconfig run --env-file .env -- python app.py"""
    try:
        settings, origins, _sources = _load(params, default_env=True)
        secret_names = _reference_settings(settings, params["embedded"])
        with _resolver(params) as resolver:
            resolved = resolver.resolve(settings, origins=origins)
    except KvConfigError as exc:
        _fail(exc)
        return
    env = dict(os.environ)
    env.update({_env_name(key): str(value) for key, value in resolved.items() if value is not None})
    sys.exit(_run_child(list(command), env, _mask_patterns(resolved, secret_names) if mask else []))


def _mask_patterns(resolved: dict[str, Any], secret_names: set[str]) -> list[str]:
    """The texts to conceal: each secret value, and each line of a multi-line one (output is masked line by line).
    Very short values are left alone: masking every "1" or "on" would garble the output."""
    patterns: set[str] = set()
    for name in secret_names:
        if name not in resolved:
            continue
        value = str(resolved[name])
        for part in (value, *value.splitlines()):
            if len(part.strip()) >= 3:
                patterns.add(part)
    return sorted(patterns, key=len, reverse=True)


def _run_child(command: list[str], env: dict[str, str], secrets: list[str]) -> int:
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
        threading.Thread(target=_pump, args=(process.stdout, sys.stdout.buffer, secrets), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, sys.stderr.buffer, secrets), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        code = process.wait()
    for pump in pumps:
        pump.join()
    process.stdout.close()
    process.stderr.close()
    return code


def _pump(source: IO[bytes], sink: IO[bytes], secrets: list[str]) -> None:
    encoded = [secret.encode() for secret in secrets]
    for line in iter(source.readline, b""):
        for secret in encoded:
            line = line.replace(secret, MASK_TEXT)
        sink.write(line)
        sink.flush()


@cli.command()
@_resolver_options
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def check(output_format: str, **params: Any) -> None:
    """Check every reference: status, version and expiry. Exits 1 if any fails."""
    try:
        settings, origins, _sources = _load(params, default_env=False)
        with _resolver(params) as resolver:
            statuses = resolver.check(settings, origins=origins)
    except KvConfigError as exc:
        _fail(exc)
        return
    if output_format == "json":
        click.echo(json.dumps([_status_json(status) for status in statuses], indent=2))
    else:
        click.echo(format_status_table(statuses))
    warn_only = {"SecretExpired", "SecretNotYetValid"}
    failed = [s for s in statuses if not s.ok and (params["strict"] or s.status not in warn_only)]
    if output_format != "json":
        click.echo(f"\n{format_status_summary(statuses, strict=params['strict'])}", err=True)
    if failed:
        sys.exit(1)


def _status_json(status: ReferenceStatus) -> dict[str, Any]:
    return {
        "setting": status.setting,
        "reference": status.reference,
        "status": status.status,
        "version": status.version,
        "expires_on": status.expires_on.isoformat() if status.expires_on else None,
        "not_before": status.not_before.isoformat() if status.not_before else None,
        "detail": status.detail,
        "origin": status.origin,
    }


@cli.command()
@_resolver_options
@click.option(
    "-i",
    "--in",
    "template",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The file to render: JSON, YAML, TOML, .env, or any text with embedded references.",
)
@click.option(
    "-o",
    "--out",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write (mode 600); stdout when omitted.",
)
def inject(template: Path, output: Path | None, **params: Any) -> None:
    """Render a config file with its references replaced by their values."""
    try:
        text = _inject(template, params)
    except KvConfigError as exc:
        _fail(exc)
        return
    if output is None:
        click.echo(text, nl=False)
    else:
        _write_private(output, text)
        click.echo(f"Wrote {output}.", err=True)


def _inject(template: Path, params: dict[str, Any]) -> str:
    with _resolver(params) as resolver:
        if file_kind(template) is not None:
            source = from_file(template, interpolate=params["interpolate"])
            resolved = resolver.resolve(source.settings, origins=source.origins)
            return source.render_text(resolved)
        return _inject_text(template, resolver, params)


def _inject_text(template: Path, resolver: SecretResolver, params: dict[str, Any]) -> str:
    """Any other text: every embedded reference is replaced, each named after its place (``file:line:column``)."""
    try:
        text = template.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"Cannot read {template}: it is not readable UTF-8 text ({type(exc).__name__}).") from None
    found = find_references(text, origin=str(template), cloud=params["cloud"], trusted_hosts=params["trusted_hosts"])
    places = {}
    for start, end, _ref in found:
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        places[f"{template}:{line}:{column}"] = (start, end)
    resolved = resolver.resolve({place: text[start:end] for place, (start, end) in places.items()})
    pieces, position = [], 0
    for place, (start, end) in places.items():
        pieces.append(text[position:start])
        pieces.append(str(resolved[place]))
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``kvconfig`` console script."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="kvconfig")
    except ResolutionError as exc:  # pragma: no cover - commands report their own errors
        click.echo(f"kvconfig: {exc}", err=True)
        sys.exit(1)


from kvconfig.cli._fake import fake_group  # noqa: E402

cli.add_command(fake_group)
