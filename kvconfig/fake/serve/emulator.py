"""The loopback HTTPS emulator: uvicorn serving a fake's ASGI app over TLS, in the foreground or on a thread.

Programs in other processes (other languages' SDKs, ``az``-style tools) reach the fake at
``https://<vault>.localhost:<port>`` with the SDK's challenge-resource check left on: the challenge names
``resource="https://localhost:<port>"``, and the server certificate comes from a local CA they trust
(see ``tls.py``). ``*.localhost`` resolves to loopback through systemd-resolved, nss-myhostname, macOS and Windows;
elsewhere add ``127.0.0.1 myvault.localhost`` to the hosts file.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from kvconfig.fake.core.clouds import loopback_domains
from kvconfig.fake.core.seeding import SeedError
from kvconfig.fake.persist import DurableState, PersistedService, open_data_dir
from kvconfig.fake.serve.asgi import MAX_BODY_BYTES, FakeKeyVaultApp
from kvconfig.fake.serve.control_api import ControlApi, ControlledService
from kvconfig.fake.serve.host import StoreService
from kvconfig.fake.serve.peers import TunnelPeers
from kvconfig.fake.serve.store_control import StoreControl
from kvconfig.fake.serve.tls import LoopbackCertificateAuthority
from kvconfig.fake.serve.tunnel import LoopbackTunnel

if TYPE_CHECKING:
    import ssl

    import uvicorn


__all__ = ["EmulatedService", "EmulatorServer", "loopback_seed", "require_uvicorn", "unloopback_dump"]

INSTALL_HINT = "The loopback HTTPS emulator needs uvicorn: pip install 'kvconfig[serve]'."
_START_TIMEOUT = 10.0


def require_uvicorn() -> None:
    """Fail with an install hint when the ``serve`` extra is missing."""
    try:
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ModuleNotFoundError(INSTALL_HINT, name="uvicorn") from exc


class EmulatedService(ControlledService, PersistedService, Protocol):
    """What the emulator serves, drives through its control API and keeps in its data folder (``FakeKeyVault``)."""


class EmulatorServer:
    """The emulator for one fake: listening on ``host:port`` (``port=0``: any free port) once :meth:`start` or
    :meth:`run` is called.

    >>> with FakeKeyVault().serve() as server:
    ...     client = SecretClient(server.url_for("myvault"), credential, connection_verify=str(server.ca_path))

    ``tunnel_port`` (``0``: any free port) also serves an HTTP ``CONNECT`` proxy that reaches the vaults by name, for
    clients whose resolver does not know ``*.localhost`` (``HTTPS_PROXY=server.proxy_url``; see ``tunnel.py``).
    Request bodies over ``max_body_bytes`` get 413 without being buffered. ``cert_dir`` holds the CA (default: a
    temporary directory removed on :meth:`stop`, or ``<data_dir>/tls``); ``log_config`` is uvicorn's
    (``None`` leaves the process's logging alone, the right choice in-process).

    ``data_dir`` keeps the fake's state across restarts (``persist/``: restored before serving, every acknowledged
    write committed before its response). The control API (``control_api.py``) answers loopback peers, and others
    presenting ``control_token``. ``appconfig`` (a ``FakeAppConfiguration``) is served too, its stores at
    ``https://<store>.azconfig.localhost:<port>`` (:meth:`store_url_for`), and kept in ``data_dir`` like the vaults.
    """

    def __init__(
        self,
        fake: EmulatedService,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cert_dir: str | Path | None = None,
        log_level: str = "warning",
        log_config: dict[str, Any] | None = None,
        access_log: bool = False,
        timeout_hold: float = 60.0,
        tunnel_port: int | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        data_dir: str | Path | None = None,
        control_token: str | None = None,
        appconfig: StoreService | None = None,
    ) -> None:
        self.fake = fake
        self.appconfig = appconfig
        self._store_domain = ""
        self.host = host
        self._requested_port = port
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        # -- state that survives (persist/) and the control API -------------------------------------------------
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.durable: DurableState | None = None
        self.control = ControlApi(
            fake,
            control_token=control_token,
            on_change=self._save,
            persistent=bool(data_dir),
            stores=StoreControl(appconfig) if appconfig is not None else None,
        )
        if cert_dir is None and self.data_dir is not None:
            cert_dir = self.data_dir / "tls"
        # ---------------------------------------------------------------------------------------------------------
        if cert_dir is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="kvconfig-emulator-")
            cert_dir = self._scratch.name
        self.ca = LoopbackCertificateAuthority.load_or_create(cert_dir)
        self.peers = TunnelPeers()  # the tunnel tells the app which client each of its connections carries
        self.app = FakeKeyVaultApp(
            fake,
            timeout_hold=timeout_hold,
            max_body_bytes=max_body_bytes,
            control=self.control,
            stores=appconfig,
            peers=self.peers,
        )
        self._log_level = log_level
        self._log_config = log_config
        self._access_log = access_log
        self._socket: socket.socket | None = None
        self._tunnel_port = tunnel_port
        self._tunnel_socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._ready = threading.Event()
        self._stopped = False

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"EmulatorServer({self.base_url if self._socket else self.host}, {state})"

    # -- addresses -------------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (binds the socket if that has not happened yet)."""
        return int(self.bind().getsockname()[1])

    @property
    def ca_path(self) -> Path:
        """The CA certificate clients must trust (``connection_verify=str(ca_path)``, ``SSL_CERT_FILE``)."""
        return self.ca.ca_path

    @property
    def base_url(self) -> str:
        """The emulator's own address, where the token endpoints live: ``https://localhost:<port>``."""
        return "https://localhost" if self.port == 443 else f"https://localhost:{self.port}"

    @property
    def resource(self) -> str:
        """The challenge's ``resource`` for the emulator's vaults (the token audience): ``https://localhost:<port>``."""
        return self.base_url

    @property
    def authority(self) -> str:
        """``authority=`` for azure-identity credentials that get their tokens here (with
        ``disable_instance_discovery=True``): ``https://localhost:<port>``."""
        return self.base_url

    @property
    def proxy_url(self) -> str | None:
        """``http://127.0.0.1:<tunnel port>`` for ``HTTPS_PROXY`` (``None`` without a tunnel): clients then reach
        ``https://<vault>.localhost:<port>`` with no name resolution of their own."""
        if self._tunnel_port is None:
            return None
        address = self._tunnel_bind().getsockname()[0]
        return f"http://[{address}]:{self.tunnel_port}" if ":" in address else f"http://{address}:{self.tunnel_port}"

    @property
    def tunnel_port(self) -> int | None:
        """The tunnel's bound port (``None`` without a tunnel)."""
        return None if self._tunnel_port is None else int(self._tunnel_bind().getsockname()[1])

    def url_for(self, vault: str, *, managed_hsm: bool = False) -> str:
        """The URL of a vault on this emulator: ``https://<vault>.localhost:<port>``."""
        middle = ".managedhsm" if managed_hsm else ""
        return f"https://{vault.lower()}{middle}.{self.base_url.removeprefix('https://')}"

    def store_url_for(self, store: str) -> str:
        """The endpoint of an App Configuration store on this emulator (with ``appconfig=``):
        ``https://<store>.azconfig.localhost:<port>``."""
        domain = self.store_domain
        if domain is None:
            raise RuntimeError("This emulator serves no App Configuration stores: pass appconfig=.")
        return f"https://{store.lower()}.{domain}"

    @property
    def store_domain(self) -> str | None:
        """The domain of this emulator's App Configuration stores, ``azconfig.localhost:<port>`` (``None`` without
        ``appconfig=``; binds the socket if that has not happened yet)."""
        if self.appconfig is None:
            return None
        self.bind()
        return self._store_domain

    def env(self) -> dict[str, str]:
        """Environment variables that make a child process trust the emulator and get managed-identity tokens
        from it (``DefaultAzureCredential`` picks them up)."""
        ca = str(self.ca_path)
        return {
            "SSL_CERT_FILE": ca,
            "REQUESTS_CA_BUNDLE": ca,
            "IDENTITY_ENDPOINT": f"{self.base_url}/msi/token",
            "IDENTITY_HEADER": "kvconfig-fake",
        }

    # -- life cycle ------------------------------------------------------------------------------------------------

    def bind(self) -> socket.socket:
        """Bind the listening socket now, so the port is known before serving (and seeding) starts."""
        if self._socket is None:
            sock = _listening_socket(self.host, self._requested_port)
            self._socket = sock
            self.fake.add_domains(*loopback_domains(int(sock.getsockname()[1])))
            if self.appconfig is not None:
                self._store_domain = self.appconfig.add_loopback_port(int(sock.getsockname()[1]))
                if self.control.stores is not None:
                    self.control.stores.domain = self._store_domain
        return self._socket

    def restore(self) -> DurableState | None:
        """Open the data folder (once): restore the fake from it and keep it saved. ``None`` without ``data_dir``.

        Raises ``DataFolderError``/``SnapshotError`` (``ValueError``) when the folder cannot be used or read."""
        if self.data_dir is not None and self.durable is None:
            try:
                self.durable = open_data_dir(self.fake, self.data_dir, port=self.port, stores=self.appconfig)
            except BaseException:
                self._close()  # the bound socket and a temporary CA go with the failed start
                raise
        return self.durable

    def _save(self) -> None:
        if self.durable is not None:
            self.durable.save_service()
            self.durable.save()

    def _tunnel_bind(self) -> socket.socket:
        if self._tunnel_socket is None:
            assert self._tunnel_port is not None
            self._tunnel_socket = _listening_socket(self.host, self._tunnel_port)
        return self._tunnel_socket

    def _tunnel_target(self) -> tuple[str, int]:
        address = str(self.bind().getsockname()[0])
        wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1"}
        return wildcard.get(address, address), self.port

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.started and not self._server.should_exit

    def start(self) -> EmulatorServer:
        """Serve on a background thread; returns once the server accepts connections."""
        if self._thread is not None:
            return self
        self._refuse_if_stopped()
        self.restore()
        server = self._make_server()
        sockets = [self.bind()]

        def serve() -> None:
            try:
                asyncio.run(self._serve(server, sockets, None))
            except BaseException as exc:  # reported by start() or stop(), not lost in the thread
                self._failure = exc

        self._thread = threading.Thread(target=serve, name=f"kvconfig-emulator-{self.port}", daemon=True)
        self._thread.start()
        started = False
        for _ in range(int(_START_TIMEOUT / 0.005)):
            if self._ready.is_set() or not self._thread.is_alive():
                started = self._ready.is_set()
                break
            self._thread.join(0.005)
        if not started:
            self.stop()
            failure = self._failure
            raise RuntimeError(f"The kvconfig emulator did not start on {self.host}:{self.port}.") from failure
        return self

    def run(self, *, on_started: Callable[[EmulatorServer], None] | None = None) -> None:
        """Serve in the foreground until interrupted (Ctrl-C, SIGTERM): what ``kvconfig fake serve`` does."""
        self._refuse_if_stopped()
        self.restore()
        server = self._make_server()
        sockets = [self.bind()]

        try:
            asyncio.run(self._serve(server, sockets, on_started))
        finally:
            self._close()

    async def _serve(
        self,
        server: uvicorn.Server,
        sockets: list[socket.socket],
        on_started: Callable[[EmulatorServer], None] | None,
    ) -> None:
        """Serve until ``server`` exits: uvicorn, and the tunnel when there is one."""
        tunnel = (
            LoopbackTunnel(self._tunnel_bind(), self._tunnel_target, peers=self.peers)
            if self._tunnel_port is not None
            else None
        )
        task = asyncio.create_task(server.serve(sockets=sockets))
        try:
            while not server.started and not task.done():
                await asyncio.sleep(0.005)
            if server.started:
                if tunnel is not None:
                    await tunnel.start()
                self._ready.set()
                if on_started is not None:
                    on_started(self)
            await task
        finally:
            if tunnel is not None:
                await tunnel.close()

    def stop(self) -> None:
        """Stop serving (idempotent): open requests get a few seconds to finish. A stopped server does not start
        again (its port and its temporary CA are gone): serve anew with ``fake.serve()``."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(_START_TIMEOUT)
            self._thread = None
        self._close()

    def _refuse_if_stopped(self) -> None:
        if self._stopped:
            raise RuntimeError(
                "This EmulatorServer was stopped and cannot serve again (its socket is closed, its temporary CA "
                "removed): start a new one with fake.serve()."
            )

    def _close(self) -> None:
        if self.durable is not None:
            self.durable.close()
            self.durable = None
        if self._socket is not None:
            self._socket.close()
            self._stopped = True
        if self._tunnel_socket is not None:
            self._tunnel_socket.close()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _make_server(self) -> uvicorn.Server:
        require_uvicorn()
        import uvicorn

        context = self.ca.server_context()
        options: dict[str, Any] = {
            "lifespan": "off",
            "log_level": self._log_level,
            "log_config": self._log_config,
            "access_log": self._access_log,
            "proxy_headers": False,
            "server_header": False,
            "timeout_graceful_shutdown": 3,
            "ws": "none",  # no WebSocket routes: "auto" would import websockets or wsproto at start-up for nothing
        }
        factory_supported = "ssl_context_factory" in inspect.signature(uvicorn.Config).parameters
        if factory_supported:
            options["ssl_context_factory"] = _fixed_context(context)
        config = uvicorn.Config(self.app, **options)
        if not factory_supported:  # older uvicorn: load, then swap in the context before serving
            config.load()
            config.ssl = context
        from kvconfig.fake.serve.uvicorn_server import EmulatorUvicornServer

        self._server = EmulatorUvicornServer(config)
        return self._server


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose ``proto`` says TCP (they inherit it
    # from the listener). Without it, a keep-alive response's body waits ~40 ms behind the client's delayed ACK of
    # its headers.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _fixed_context(context: ssl.SSLContext) -> Callable[..., ssl.SSLContext]:
    def factory(*_: object) -> ssl.SSLContext:
        return context

    return factory


def loopback_seed(data: Mapping[str, Any] | str | Path, port: int) -> dict[str, Any]:
    """A seed whose bare vault names (``myvault``) are the emulator's vaults (``myvault.localhost:<port>``)."""

    if isinstance(data, Mapping):
        seed = dict(data)
    else:
        try:
            loaded = json.loads(Path(data).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SeedError(f"Cannot read the seed file {data}: {exc.strerror}.") from exc
        except ValueError as exc:
            raise SeedError(f"The seed file {data} is not valid JSON: {exc}.") from exc
        if not isinstance(loaded, dict):
            raise SeedError(f"The seed file {data} must hold a JSON object with a 'vaults' member.")
        seed = loaded
    vaults = seed.get("vaults")
    if isinstance(vaults, Mapping):
        tail = "localhost" if port == 443 else f"localhost:{port}"
        seed["vaults"] = {
            (name if "." in name or "://" in name else f"{name}.{tail}"): content for name, content in vaults.items()
        }
    return seed


def unloopback_dump(dump: Mapping[str, Any], port: int) -> dict[str, Any]:
    """The inverse of :func:`loopback_seed`: ``myvault.localhost:<port>`` back to ``myvault``."""
    tail = ".localhost" if port == 443 else f".localhost:{port}"
    vaults = dump.get("vaults", {})
    renamed = {
        (host[: -len(tail)] if host.endswith(tail) and "." not in host[: -len(tail)] else host): content
        for host, content in vaults.items()
    }
    return {**dump, "vaults": renamed}
