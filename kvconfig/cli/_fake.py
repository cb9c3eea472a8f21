"""``kvconfig fake``: the fake Key Vault over loopback HTTPS (``serve``), tokens for it (``token``), seeds."""

from __future__ import annotations

import json
import logging
import signal
import socket
import ssl
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import click

__all__ = ["fake_group"]

SEED_EXAMPLE: dict[str, Any] = {
    "vaults": {
        "myvault": {
            "properties": {"soft_delete": True, "retention_days": 90, "purge_protection": False, "sku": "standard"},
            "secrets": {
                "db-password": "s3cret",
                "api-key": {"value": "k-123", "contentType": "text/plain", "tags": {"env": "dev"}},
                "rotated": {"versions": [{"value": "old"}, {"value": "new"}]},
            },
        },
        "othervault": {"secrets": {"feature-flag": "on"}},
    }
}


@click.group("fake")
def fake_group() -> None:
    """The fake Key Vault: serve it over loopback HTTPS to other processes, and get tokens for it."""


@fake_group.command("serve")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(0, 65535), help="0: any free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (keep it loopback).")
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON seed file (see `kvconfig fake seed-example`); bare vault names become <name>.localhost:<port>.",
)
@click.option("--latency", default=0.0, show_default=True, type=click.FloatRange(0), help="Seconds per request.")
@click.option("--strict", is_flag=True, help="Only seeded vaults exist; other vault hosts drop the connection.")
@click.option(
    "--cert-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the CA lives (created if needed) [default: ~/.cache/kvconfig/emulator].",
)
@click.option(
    "--dump-on-exit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the fake's contents as a seed file (values included) when the server stops.",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.option("--access-log", is_flag=True, help="Log every request (method, path, status; never bodies).")
def serve(
    port: int,
    host: str,
    seed_file: Path | None,
    latency: float,
    strict: bool,
    cert_dir: Path | None,
    dump_on_exit: Path | None,
    log_level: str,
    access_log: bool,
) -> None:
    """Serve the fake Key Vault at https://<vault>.localhost:PORT until Ctrl-C.

    Any client can use it with its challenge-resource check on: the vault answers 401 with
    resource="https://localhost:PORT", and its certificate comes from a local CA you trust.
    """
    from kvconfig.fake import FakeKeyVault, SeedError
    from kvconfig.fake.serve.emulator import EmulatorServer, loopback_seed, require_uvicorn, unloopback_dump
    from kvconfig.fake.serve.tls import default_cert_dir

    try:
        require_uvicorn()
    except ModuleNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s: %(message)s")
    fake = FakeKeyVault(latency=latency, strict=strict)
    server = EmulatorServer(
        fake,
        host=host,
        port=port,
        cert_dir=cert_dir or default_cert_dir(),
        log_level=log_level,
        access_log=access_log,
    )
    try:
        bound = server.port
    except OSError as exc:
        raise click.ClickException(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from exc
    if seed_file is not None:
        try:
            fake.seed(loopback_seed(seed_file, bound))
        except SeedError as exc:
            server.stop()
            raise click.ClickException(str(exc)) from exc

    def stop_on_sigterm(signum: int, frame: object) -> None:
        raise SystemExit(0)

    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: make that a normal exit so the dump still happens.
    previous = signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        server.run(on_started=_banner)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if dump_on_exit is not None:
            dump_on_exit.write_text(json.dumps(unloopback_dump(fake.dump(), bound), indent=2) + "\n", encoding="utf-8")
            click.echo(f"Wrote the fake's contents to {dump_on_exit}.", err=True)
    click.echo("kvconfig fake Key Vault stopped.", err=True)


def _public_roots() -> str | None:
    try:
        import certifi
    except ImportError:
        return ssl.get_default_verify_paths().cafile
    return str(certifi.where())


def _banner(server: Any) -> None:
    ca = server.ca_path
    bundle = server.ca.write_bundle(_public_roots())
    port = server.port
    vaults = sorted(vault.properties.host for vault in server.fake.vaults)
    lines = [
        f"kvconfig fake Key Vault on {server.host}:{port} (Ctrl-C to stop)",
        f"  vaults     {server.url_for('<vault>')}   challenge resource {server.resource}",
        *(f"  seeded     https://{host}" for host in vaults),
        f"  CA         {ca}",
        "  trust it   Python SDKs: SecretClient(url, credential, connection_verify=" + json.dumps(str(ca)) + ")",
        f"             other clients: export SSL_CERT_FILE={bundle} REQUESTS_CA_BUNDLE={bundle}",
        "             (that bundle is the public roots plus this CA: real Azure hosts keep working)",
        "  tokens     any bearer token works (anonymous caller); for a named identity:",
        f"             ClientSecretCredential(tenant, '<client-id>', '<any>', authority='{server.authority}',"
        " disable_instance_discovery=True)",
        f"             export IDENTITY_ENDPOINT={server.base_url}/msi/token IDENTITY_HEADER=kvconfig"
        "   (ManagedIdentityCredential, DefaultAzureCredential)",
        f"             kvconfig fake token --identity app --port {port}",
    ]
    click.echo("\n".join(lines), err=True)
    threading.Thread(target=_warn_if_localhost_unresolved, args=(port,), daemon=True).start()


def _warn_if_localhost_unresolved(port: int) -> None:
    try:
        socket.getaddrinfo("myvault.localhost", port, type=socket.SOCK_STREAM)
    except OSError:
        click.echo(
            "  note       *.localhost names do not resolve on this machine: add a hosts-file line per vault, "
            "e.g. '127.0.0.1 myvault.localhost'.",
            err=True,
        )


@fake_group.command("token")
@click.option("--identity", default="test-user", show_default=True, help="The principal the token names.")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(1, 65535))
@click.option("--url", help="The emulator's address [default: https://localhost:PORT].")
@click.option("--resource", help="The token audience [default: the emulator's, https://localhost:PORT].")
@click.option("--lifetime", default=3600.0, show_default=True, type=click.FloatRange(1), help="Seconds.")
@click.option(
    "--cert-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the emulator's CA is [default: ~/.cache/kvconfig/emulator].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole token response as JSON.")
def token(
    identity: str,
    port: int,
    url: str | None,
    resource: str | None,
    lifetime: float,
    cert_dir: Path | None,
    as_json: bool,
) -> None:
    """Print an access token of a running emulator for IDENTITY (e.g. for curl -H "Authorization: Bearer ...")."""
    from kvconfig.fake.serve.tls import CA_FILE, default_cert_dir

    base = (url or f"https://localhost:{port}").rstrip("/")
    query = {"identity": identity, "lifetime": f"{lifetime:g}"}
    if resource:
        query["resource"] = resource
    ca = (cert_dir or default_cert_dir()) / CA_FILE
    if not ca.is_file():
        raise click.ClickException(f"No emulator CA at {ca}: start `kvconfig fake serve` (with the same --cert-dir).")
    context = ssl.create_default_context(cafile=str(ca))
    target = f"{base}/_kvconfig/token?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(target, context=context, timeout=10) as response:
            payload = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise click.ClickException(f"Cannot get a token from {base}: {exc}.") from exc
    click.echo(json.dumps(payload, indent=2) if as_json else payload["access_token"])


@fake_group.command("seed-example")
def seed_example() -> None:
    """Print an example seed file for `kvconfig fake serve --seed` (and `FakeKeyVault.seed`)."""
    json.dump(SEED_EXAMPLE, sys.stdout, indent=2)
    sys.stdout.write("\n")
