"""``FakeKeyVault``: one fake Key Vault service, holding vaults, issuing credentials and transports."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kvconfig.fake.certificates.authority import FakeCertificateAuthority
from kvconfig.fake.certificates.issuance import certificate_authority_of, set_issuance_time
from kvconfig.fake.certificates.state import CertificateNotification, vault_state
from kvconfig.fake.control.access import AccessControl
from kvconfig.fake.control.audit import AuditLog
from kvconfig.fake.control.events import EventHub
from kvconfig.fake.control.faults import Fault, FaultSet
from kvconfig.fake.control.throttle import Throttle
from kvconfig.fake.control.tokens import TokenAuthority
from kvconfig.fake.core.clock import Clock, ManualClock, SystemClock
from kvconfig.fake.core.clouds import DEFAULT_DOMAINS, VaultDomain
from kvconfig.fake.core.identity import Identity
from kvconfig.fake.core.records import RequestRecord, UnhandledErrors
from kvconfig.fake.core.router import Outcome, dispatch
from kvconfig.fake.core.routing import OperationContext, TickHook
from kvconfig.fake.core.state import Attributes, IdGenerator, RandomIds, SecretVersion, Vault, VaultProperties
from kvconfig.fake.core.wire import FakeRequest
from kvconfig.fake.routes import route_table
from kvconfig.fake.secrets.operations import new_secret_version
from kvconfig.fake.seed import dump_seed, load_seed
from kvconfig.fake.serve.asgi import FakeKeyVaultApp
from kvconfig.fake.serve.emulator import EmulatorServer
from kvconfig.fake.serve.face import InProcessFace
from kvconfig.fake.vaults import VaultDirectory

if TYPE_CHECKING:
    # The httpx transports need the optional ``httpx`` extra: imported when asked for (see httpx_transport()).
    from kvconfig.fake.serve.httpx_transport import FakeAsyncHttpxTransport, FakeHttpxTransport
    from kvconfig.fake.serve.patch import FakePatch

__all__ = ["FakeKeyVault"]


class FakeKeyVault(InProcessFace, VaultDirectory):
    """An in-memory, REST-faithful fake of the Azure Key Vault service.

    Any ``https://<name>.vault.azure.net`` host (and the sovereign clouds' suffixes) is a vault, created on first use
    unless ``strict=True``, in which case unknown vaults fail as a DNS failure would. ``latency`` delays every request
    (seconds); ``clock`` and ``ids`` make time and version ids deterministic. ``deletion_delay`` (seconds, default 0)
    makes soft deletes and recoveries take time in the vaults the fake makes, as in the service (see
    :meth:`create_vault`).

    >>> fake = FakeKeyVault()
    >>> client = SecretClient("https://myvault.vault.azure.net", fake.credential(), transport=fake.transport())
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        strict: bool = False,
        tenant_id: str = "72f988bf-86f1-41af-91ab-2d7cd011db47",
        domains: tuple[VaultDomain, ...] = DEFAULT_DOMAINS,
        extra_domains: tuple[VaultDomain, ...] = (),
        deletion_delay: float = 0.0,
    ) -> None:
        if latency < 0:
            raise ValueError("latency must not be negative.")
        # Checked as a vault property is, before any vault is made with it.
        checked = VaultProperties("check", "check", deletion_delay=deletion_delay, tenant_id=tenant_id)
        self.deletion_delay = checked.deletion_delay
        self.latency = float(latency)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self.ids: IdGenerator = ids if ids is not None else RandomIds()
        self.strict = strict
        self.tenant_id = tenant_id
        self.domains: tuple[VaultDomain, ...] = (*extra_domains, *domains)
        self.tokens = TokenAuthority(self._clock)
        self.faults = FaultSet()
        self.routes = route_table()
        self.operation_counts: Counter[str] = Counter()
        self.unhandled_errors = UnhandledErrors()
        self.skipped_waits = 0.0
        # Access control, throttling, the audit log and Event Grid events plug into the router's hooks; each lives
        # in its own module of kvconfig/fake/control/. Throttling runs first: a 429 costs nothing,
        # other failed requests count toward the limit.
        self.audit = AuditLog(self)
        self.events = EventHub(self)
        self._throttle = Throttle()
        self.listeners: list[Callable[[RequestRecord], None]] = [self.audit, self.events.on_request]
        self.authorizers: list[Callable[[OperationContext], None]] = [self._throttle, AccessControl()]
        self.tick_hooks: list[TickHook] = [self.events.on_tick]
        self._vaults: dict[str, Vault] = {}
        self._deleted_vaults: dict[str, tuple[Vault, float]] = {}
        self._building: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    @property
    def clock(self) -> Clock:
        """The fake's time; assigning another clock also moves token issuing and checking onto it."""
        return self._clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self._clock = clock
        self.tokens.clock = clock

    # -- credentials and transports -------------------------------------------------------------------------------

    def identity_of(self, identity: str | Identity | None) -> Identity:
        """An :class:`Identity` as given, or one of this fake's tenant named ``identity`` (default ``test-user``)."""
        if isinstance(identity, Identity):
            return identity
        return Identity(identity or "test-user", tenant_id=self.tenant_id)

    def httpx_transport(self) -> FakeHttpxTransport:
        """An ``httpx.BaseTransport`` serving this fake (needs the ``httpx`` extra)."""
        from kvconfig.fake.serve.httpx_transport import FakeHttpxTransport

        return FakeHttpxTransport(self)

    def async_httpx_transport(self) -> FakeAsyncHttpxTransport:
        """An ``httpx.AsyncBaseTransport`` serving this fake (needs the ``httpx`` extra)."""
        from kvconfig.fake.serve.httpx_transport import FakeAsyncHttpxTransport

        return FakeAsyncHttpxTransport(self)

    def asgi_app(self) -> FakeKeyVaultApp:
        """This fake as an ASGI 3 application (serve it over TLS: the SDK sends tokens to https URLs only)."""
        return FakeKeyVaultApp(self)

    def serve(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cert_dir: str | Path | None = None,
        tunnel_port: int | None = None,
        data_dir: str | Path | None = None,
        control_token: str | None = None,
    ) -> EmulatorServer:
        """Start the loopback HTTPS emulator on a background thread (needs the ``serve`` extra: uvicorn).

        ``port=0`` picks a free port. Vaults are ``server.url_for("myvault")`` (``https://myvault.localhost:<port>``);
        clients trust ``server.ca_path``. Use it as a context manager to stop it. ``tunnel_port`` (``0``: any)
        also serves a ``CONNECT`` proxy (``server.proxy_url``) for clients that cannot resolve ``*.localhost``.
        ``data_dir`` restores the fake from that folder and saves every acknowledged write there (docs/emulator.md);
        ``control_token`` lets non-loopback peers use the control API (``/_kvconfig/...``).
        """
        server = EmulatorServer(
            self, host=host, port=port, cert_dir=cert_dir, tunnel_port=tunnel_port, data_dir=data_dir
        )
        server.control.set_token(control_token)
        return server.start()

    def patch(self, identity: str | Identity | None = None) -> FakePatch:
        """Route SDK clients and azure-identity credentials built by the code under test to this fake.

        Works as a context manager and as a decorator; everything is restored on exit, also on exceptions.
        """
        from kvconfig.fake.serve.patch import FakePatch  # unittest.mock and the SDK's transports: only when patching

        return FakePatch(self, self.identity_of(identity))

    # -- the framework-free entry point ----------------------------------------------------------------------------

    def dispatch(self, request: FakeRequest) -> Outcome:
        """Serve one request: the router's full answer (response or connection fault, and any injected delay)."""
        return dispatch(self, request)

    def request_counter(self) -> int:
        return next(self._counter)

    def pass_time(self, seconds: float) -> None:
        """What the SDK's waits do on the fake: move a ManualClock, and never sleep for real.

        Work that takes time in the service (certificate issuance) also counts the waits the fake skipped, at least
        a second each, so a poller finishes even at ``_polling_interval=0`` and on the system clock.
        """
        clock = self.clock
        moved = seconds if isinstance(clock, ManualClock) and seconds > 0 else 0.0
        if isinstance(clock, ManualClock) and moved:
            clock.advance(moved)
        with self._lock:
            self.skipped_waits += max(seconds, 1.0) - moved

    def set_issuance_time(self, issuer: str, seconds: float | None) -> None:
        """How long a certificate issuer takes to sign (default 2 s; ``"Self"``, an issuer name, a provider or
        ``"*"``); ``None`` leaves requests ``inProgress`` until cancelled or deleted."""
        set_issuance_time(self, issuer, seconds)

    # -- time ------------------------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Let time act on every vault now: purge what is past retention, run the tick hooks (expiry events, ...).

        The router does the same for one vault before each of its requests; call this after moving the clock to
        see effects without a request. Tick hooks are ``hook(fake, vault, now)`` callables in ``fake.tick_hooks``.
        """
        now = self.clock.now()
        with self._lock:
            expired = [
                host
                for host, (vault, deleted) in self._deleted_vaults.items()
                if now >= deleted + vault.properties.retention_days * 86400
            ]
            for host in expired:
                del self._deleted_vaults[host]
        for vault in self.vaults:
            vault.sweep(now, progress=now + self.skipped_waits)
            for hook in self.tick_hooks:
                hook(self, vault, now)

    def advance(self, delta: float | timedelta = 0.0, *, days: float = 0, hours: float = 0, seconds: float = 0) -> None:
        """Move the fake's ManualClock forward and :meth:`tick`: ``fake.advance(days=31)``."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs FakeKeyVault(clock=ManualClock()); the system clock cannot be moved.")
        self.clock.advance(delta, days=days, hours=hours, seconds=seconds)
        self.tick()

    # -- certificates ----------------------------------------------------------------------------------------------

    @property
    def certificate_authority(self) -> FakeCertificateAuthority:
        """The test PKI that signs for certificate issuers with a provider (``DigiCert``, ``GlobalSign``, ...).

        Trust :meth:`FakeCertificateAuthority.root_pem` in a test to validate the chains of such certificates.
        """
        return certificate_authority_of(self)

    @property
    def certificate_notifications(self) -> list[CertificateNotification]:
        """What EmailContacts lifetime actions would have emailed, in every vault, oldest first."""
        return [note for vault in self.vaults for note in vault_state(vault).notifications]

    # -- faults ----------------------------------------------------------------------------------------------------

    def inject_fault(
        self,
        *,
        status: int | None = None,
        error: Literal["timeout", "drop"] | None = None,
        retry_after: float | None = None,
        times: int | None = 1,
        operation: str | None = None,
        vault: str | None = None,
        identity: str | None = None,
        predicate: Callable[[FakeRequest], bool] | None = None,
        probability: float = 1.0,
        seed: int | None = None,
        delay: float = 0.0,
    ) -> Fault:
        """Make matching requests fail: an error ``status`` (with ``Retry-After`` if given) or a connection
        ``error`` (``"timeout"``/``"drop"``), ``times`` times (``None``: always), optionally only for an operation
        name (``"GetSecret"``), a vault name or an identity, or with a seeded ``probability``."""
        return self.faults.add(
            Fault(
                status=status,
                error=error,
                retry_after=retry_after,
                times=times,
                operation=operation,
                vault=vault,
                identity=identity,
                predicate=predicate,
                probability=probability,
                seed=seed,
                delay=delay,
            )
        )

    # -- arranging state without HTTP ------------------------------------------------------------------------------

    def set_secret(
        self,
        vault: str,
        name: str,
        value: str,
        *,
        content_type: str | None = None,
        tags: dict[str, str] | None = None,
        enabled: bool = True,
        not_before: datetime | int | None = None,
        expires_on: datetime | int | None = None,
        version: str | None = None,
    ) -> str:
        """Add a secret version directly (for arranging tests); returns the new version id."""
        now = int(self.clock.now())
        attrs = Attributes(created=now, updated=now, enabled=enabled, nbf=_epoch(not_before), exp=_epoch(expires_on))
        version_id = (version or self.ids.new_version()).lower()
        new_secret_version(
            self.vault(vault),
            name,
            value,
            version_id=version_id,
            now=now,
            content_type=content_type,
            tags=tags,
            attributes=attrs,
        )
        return version_id

    def get_secret_value(self, vault: str, name: str, version: str | None = None) -> str:
        """Read a secret's value directly (for asserting in tests); KeyError when absent."""
        obj = self.vault(vault).secrets.get(name)
        found: SecretVersion | None = obj.get(version) if obj else None
        if found is None:
            raise KeyError(f"{name}/{version}" if version else name)
        return found.value

    def seed(self, data: Mapping[str, Any] | str | Path) -> None:
        """Load vaults and secrets from a seed mapping or JSON file (see docs/fake.md for the format)."""
        load_seed(self, data)

    def dump(self) -> dict[str, Any]:
        """Everything in the fake as a seed mapping (values included: this is test data)."""
        return dump_seed(self)

    def __iter__(self) -> Iterator[Vault]:
        return iter(self.vaults)

    def __repr__(self) -> str:
        return f"FakeKeyVault(vaults={len(self._vaults)}, latency={self.latency})"


def _epoch(value: datetime | int | None) -> int | None:
    if value is None:
        return None
    return int(value.timestamp()) if isinstance(value, datetime) else int(value)
