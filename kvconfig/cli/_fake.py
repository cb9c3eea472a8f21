"""``kvconfig fake``: the fake Key Vault over loopback HTTPS (``serve``), tokens for it (``token``), seeds."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import ssl
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kvconfig.cli._duration import Seconds

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


class FakeCommandError(click.ClickException):
    """An error of a ``kvconfig fake`` command, printed like the rest of the CLI's: ``kvconfig: <message>``."""

    def show(self, file: Any = None) -> None:
        click.echo(f"kvconfig: {self.format_message()}", err=True, file=file)


@fake_group.command("serve")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(0, 65535), help="0: any free port.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. A non-loopback address needs --allow-remote.",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Listen on a non-loopback --host anyway. The emulator accepts every token: anyone who reaches it can read "
    "and change its secrets.",
)
@click.option(
    "--tunnel-port",
    type=click.IntRange(0, 65535),
    help="Also serve an HTTPS_PROXY tunnel on this port (0: any free port), so clients reach <vault>.localhost "
    "without resolving it.",
)
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON seed file (see `kvconfig fake seed-example`); bare vault names become <name>.localhost:<port>. "
    "An 'appconfig' part seeds App Configuration stores (<store>.azconfig.localhost:<port>).",
)
@click.option("--latency", default=0.0, show_default=True, type=Seconds(0), help="Seconds per request.")
@click.option(
    "--deletion-delay",
    default=0.0,
    show_default=True,
    type=Seconds(0, 300),
    help="Seconds a soft delete (and a recovery) takes, as in the service: meanwhile the object is being deleted (its "
    "deleted form answers 404; recover, purge and re-creating its name answer 409 ObjectIsBeingDeleted) or being "
    "recovered (its live form answers 404; re-creating its name answers 409 ObjectIsBeingRecovered).",
)
@click.option("--strict", is_flag=True, help="Only seeded vaults exist; other vault hosts drop the connection.")
@click.option(
    "--cert-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the CA lives (created if needed) [default: ~/.cache/kvconfig/emulator].",
)
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Once the server answers, write JSON here (port, vault URLs, CA path, tenant, endpoints; mode 0600).",
)
@click.option(
    "--dump-on-exit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the fake's contents as a seed file (values included; mode 0600) when the server stops: the vaults "
    "and, when served, the App Configuration stores (its 'appconfig' part), so --seed reads it back.",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="uvicorn's log level.",
)
@click.option("--access-log", is_flag=True, help="Log every request (method, path, status; never bodies).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the vaults here (mode 0700) and start from them: every acknowledged write survives a restart, even "
    "kill -9. The CA lives in DATA_DIR/tls unless --cert-dir is given; --seed applies only to a new folder.",
)
@click.option(
    "--control-token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file holding a token that lets peers beyond loopback use the control API (/_kvconfig/...) with "
    "'Authorization: Bearer <token>'. Without it, only loopback peers may.",
)
@click.option(
    "--appconfig",
    "serve_appconfig",
    is_flag=True,
    help="Also serve App Configuration stores at https://<store>.azconfig.localhost:PORT (implied by "
    "--appconfig-seed or an 'appconfig' part in the --seed file). Kept in --data-dir like the vaults.",
)
@click.option(
    "--appconfig-seed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='A JSON file of App Configuration stores ({"store": [{"key": ..., "value": ...}, {"key": ..., '
    "\"secret_uri\": ...}]}, or a seed file's 'appconfig' part); with --data-dir, only into a folder that holds "
    "no stores yet.",
)
def serve(
    port: int,
    host: str,
    allow_remote: bool,
    tunnel_port: int | None,
    seed_file: Path | None,
    latency: float,
    deletion_delay: float,
    strict: bool,
    cert_dir: Path | None,
    ready_file: Path | None,
    dump_on_exit: Path | None,
    log_level: str,
    access_log: bool,
    data_dir: Path | None,
    control_token_file: Path | None,
    serve_appconfig: bool,
    appconfig_seed: Path | None,
) -> None:
    """Serve the fake Key Vault at https://<vault>.localhost:PORT until Ctrl-C.

    Any client can use it with its challenge-resource check on: the vault answers 401 with
    resource="https://localhost:PORT", and its certificate comes from a local CA you trust.
    """
    from kvconfig._private_files import write_private
    from kvconfig.cli._fake_stores import (
        StoreSeedError,
        read_store_seed,
        serve_stores,
        split_seed,
    )
    from kvconfig.fake import FakeKeyVault, SeedError
    from kvconfig.fake.serve.emulator import EmulatorServer, loopback_seed, require_uvicorn
    from kvconfig.fake.serve.store_control import loopback_store_seed
    from kvconfig.fake.serve.tls import default_cert_dir

    try:
        require_uvicorn()
    except ModuleNotFoundError as exc:
        raise FakeCommandError(str(exc)) from exc
    if not _is_loopback_host(host):
        if not allow_remote:
            raise FakeCommandError(
                f"--host {host} is not a loopback address. The emulator accepts every token, so anyone who can reach "
                "it could read and change its secrets: pass --allow-remote to listen there anyway."
            )
        click.echo(
            f"kvconfig: warning: listening on {host}, beyond this machine, and every token is accepted: anyone who "
            "reaches this port can read and change the fake's secrets.",
            err=True,
        )
    for target in (ready_file, dump_on_exit):
        if target is not None and target.is_symlink():
            raise FakeCommandError(f"{target} is a symbolic link; kvconfig does not write through links.")
    try:
        vault_seed, stores_seed = split_seed(seed_file) if seed_file is not None else (None, None)
        if appconfig_seed is not None:
            more = read_store_seed(appconfig_seed)
            if twice := sorted(set(stores_seed or {}) & set(more)):
                raise StoreSeedError(f"The store {twice[0]} is seeded by both --seed and --appconfig-seed; keep one.")
            stores_seed = {**(stores_seed or {}), **more}
    except StoreSeedError as exc:
        raise FakeCommandError(str(exc)) from exc
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s: %(message)s")
    fake = FakeKeyVault(latency=latency, strict=strict, deletion_delay=deletion_delay)
    stores = None
    if serve_appconfig or stores_seed is not None:
        stores = serve_stores(fake, strict=strict, latency=latency)
    control_token = _read_control_token(control_token_file) if control_token_file is not None else None
    if cert_dir is None and data_dir is None:
        cert_dir = default_cert_dir()
    try:
        server = EmulatorServer(
            fake,
            host=host,
            port=port,
            cert_dir=cert_dir,
            data_dir=data_dir,
            control_token=control_token,
            log_level=log_level,
            access_log=access_log,
            tunnel_port=tunnel_port,
            appconfig=stores,
        )
    except OSError as exc:
        raise FakeCommandError(f"Cannot use the certificate folder: {exc.strerror or exc}.") from exc
    try:
        bound = server.port
        _ = server.tunnel_port
    except OSError as exc:
        server.stop()
        raise FakeCommandError(f"Cannot listen on {host}: {exc.strerror or exc}.") from exc
    try:
        durable = server.restore()
    except ValueError as exc:  # DataFolderError, SnapshotError: a folder that cannot be used or read
        server.stop()
        raise FakeCommandError(str(exc)) from exc
    if durable is not None and durable.restored_vaults:
        click.echo(f"Restored {durable.restored_vaults} vault(s) from {data_dir}.", err=True)
        vault_seed = None  # the folder's state wins: seeding again would add versions at every restart
    if vault_seed is not None:
        try:
            fake.seed(loopback_seed(vault_seed, bound))
            if durable is not None:
                durable.save()
        except (SeedError, RuntimeError) as exc:  # RuntimeError: PersistenceError, the seed could not be saved
            server.stop()
            raise FakeCommandError(str(exc)) from exc
    if durable is not None and durable.restored_stores:
        click.echo(f"Restored {durable.restored_stores} App Configuration store(s) from {data_dir}.", err=True)
        stores_seed = None  # the folder's stores win, as its vaults do
    if stores is not None and stores_seed is not None:
        try:
            stores.seed(loopback_store_seed(stores_seed, server.store_domain or ""))
            if durable is not None:
                durable.save_stores()
        except (ValueError, TypeError, RuntimeError) as exc:  # AppConfigSeedError names the store and the entry
            server.stop()
            raise FakeCommandError(f"Cannot use the App Configuration seed: {exc}") from exc

    def stop_on_sigterm(signum: int, frame: object) -> None:
        raise SystemExit(0)

    def started(running: EmulatorServer) -> None:
        _announce(running, ready_file, write_private)

    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: make that a normal exit so the dump still happens.
    previous = signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        server.run(on_started=started)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if ready_file is not None:
            with contextlib.suppress(OSError):
                if not ready_file.is_symlink():
                    ready_file.unlink()
        if dump_on_exit is not None:
            text = json.dumps(server.control.dump(bound), indent=2) + "\n"
            try:
                write_private(dump_on_exit, text)
            except OSError as exc:
                raise FakeCommandError(f"Cannot write {dump_on_exit}: {exc.strerror or exc}.") from exc
            click.echo(f"Wrote the fake's contents to {dump_on_exit} (mode 0600).", err=True)
    click.echo("kvconfig fake Key Vault stopped.", err=True)


def _read_control_token(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(4097)
    except OSError as exc:
        raise FakeCommandError(f"Cannot read the control token file {path}: {exc.strerror or exc}.") from exc
    token = raw.decode("utf-8", "replace").strip()
    if len(raw) > 4096 or len(token) < 16 or any(char.isspace() for char in token):
        raise FakeCommandError(
            f"The control token file {path} must hold one token of 16 to 4096 characters without spaces."
        )
    return token


def _is_loopback_host(host: str) -> bool:
    from kvconfig.fake.serve.tls import is_loopback_address

    return host.lower().rstrip(".") == "localhost" or is_loopback_address(host)


def _announce(server: Any, ready_file: Path | None, write: Callable[[Path, str], None]) -> None:
    from kvconfig.cli._fake_startup import banner, public_roots, ready_document

    bundle = str(server.ca.write_bundle(public_roots()))
    if ready_file is not None:
        try:
            write(ready_file, json.dumps(ready_document(server, bundle), indent=2) + "\n")
        except OSError as exc:
            click.echo(f"kvconfig: warning: cannot write the ready file {ready_file}: {exc.strerror or exc}.", err=True)

    def show() -> None:  # off the event loop: the name lookup may wait on a DNS server
        click.echo(banner(server, bundle, localhost_resolves=_localhost_resolves(server.port)), err=True)

    threading.Thread(target=show, name="kvconfig-banner", daemon=True).start()


def _localhost_resolves(port: int) -> bool:
    try:
        socket.getaddrinfo("myvault.localhost", port, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return True


@fake_group.command("token")
@click.option("--identity", default="test-user", show_default=True, help="The principal the token names.")
@click.option(
    "--port",
    default=8443,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="The running emulator's port on localhost (ignored with --url).",
)
@click.option("--url", help="The emulator's address [default: https://localhost:PORT].")
@click.option("--resource", help="The token audience [default: the emulator's, https://localhost:PORT].")
@click.option(
    "--lifetime",
    default=3600.0,
    show_default=True,
    type=Seconds(1, 366 * 24 * 3600),
    help="Seconds the token is valid for.",
)
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
    import urllib.error
    import urllib.parse
    import urllib.request

    from kvconfig.fake.serve.tls import CA_FILE, default_cert_dir

    base = (url or f"https://localhost:{port}").rstrip("/")
    query = {"identity": identity, "lifetime": f"{lifetime:g}"}
    if resource:
        query["resource"] = resource
    ca = (cert_dir or default_cert_dir()) / CA_FILE
    if not ca.is_file():
        raise FakeCommandError(f"No emulator CA at {ca}: start `kvconfig fake serve` (with the same --cert-dir).")
    context = ssl.create_default_context(cafile=str(ca))
    target = f"{base}/_kvconfig/token?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(target, context=context, timeout=10) as response:
            payload = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FakeCommandError(f"Cannot get a token from {base}: {exc}.") from exc
    click.echo(json.dumps(payload, indent=2) if as_json else payload["access_token"])


@fake_group.command("seed-example")
def seed_example() -> None:
    """Print an example seed file for `kvconfig fake serve --seed` (and `FakeKeyVault.seed`)."""
    json.dump(SEED_EXAMPLE, sys.stdout, indent=2)
    sys.stdout.write("\n")
