"""``FakeAppConfiguration``: a fake Azure App Configuration service, holding stores, served to the official clients
(``azure-appconfiguration``, ``azure-appconfiguration-provider``) through the same azure-core transports as the fake
Key Vault."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from kvconfig.fake.appconfig.router import dispatch
from kvconfig.fake.appconfig.seed import KEYVAULT_REF_CONTENT_TYPE, dump_appconfig_seed, load_appconfig_seed
from kvconfig.fake.appconfig.state import ROLES, KeyValue, Role, Store
from kvconfig.fake.appconfig.store_state import dumps_store, restore_store
from kvconfig.fake.control.tokens import TokenAuthority
from kvconfig.fake.core.clock import Clock, SystemClock
from kvconfig.fake.core.identity import Identity
from kvconfig.fake.core.router import Outcome
from kvconfig.fake.core.wire import FakeRequest
from kvconfig.fake.serve.face import InProcessFace
from kvconfig.fake.serve.host import ServedService
from kvconfig.fake.serve.patch import FakePatch, ServedHosts
from kvconfig.references import APPCONFIG_STORE_DOMAINS, LOOPBACK_STORE_DOMAIN, is_store_name

__all__ = ["KEYVAULT_REF_CONTENT_TYPE", "LOOPBACK_STORE_DOMAIN", "STORE_SUFFIXES", "FakeAppConfiguration"]

# The store domains of the clouds and the loopback emulator's (<store>.azconfig.localhost:<port>, see
# add_loopback_port) are the ones the library trusts with a credential: one list, in kvconfig.references.
STORE_SUFFIXES = APPCONFIG_STORE_DOMAINS


class FakeAppConfiguration(InProcessFace):
    """An in-memory, REST-faithful fake of the Azure App Configuration data plane.

    Any ``https://<name>.azconfig.io`` host (and the other clouds' suffixes) is a store, created on first use unless
    ``strict=True``. Pass ``keyvault=`` a :class:`~kvconfig.fake.FakeKeyVault` to share its clock and token authority,
    so one ``fake.credential()`` reaches both services.

    >>> appconfig = FakeAppConfiguration()
    >>> client = AzureAppConfigurationClient.from_connection_string(
    ...     appconfig.connection_string("mystore"), transport=appconfig.transport())
    """

    def __init__(
        self,
        *,
        keyvault: ServedService | None = None,
        latency: float = 0.0,
        clock: Clock | None = None,
        strict: bool = False,
    ) -> None:
        if latency < 0:
            raise ValueError("latency must not be negative.")
        self.latency = float(latency)
        self.clock: Clock = clock or (keyvault.clock if keyvault is not None else SystemClock())
        self.tokens: TokenAuthority = keyvault.tokens if keyvault is not None else TokenAuthority(self.clock)
        self.strict = strict
        self.keyvault = keyvault
        self.operation_counts: Counter[str] = Counter()
        self._stores: dict[str, Store] = {}
        self._lock = threading.Lock()
        self._suffixes: frozenset[str] = frozenset(STORE_SUFFIXES)
        # Called with a store's host after each write it acknowledged, before the response goes out (the
        # emulator's data folder commits there: see persist/durable.py).
        self.write_listeners: list[Callable[[str], None]] = []

    # -- stores ----------------------------------------------------------------------------------------------------

    def add_loopback_port(self, port: int) -> str:
        """Serve stores at ``<store>.azconfig.localhost:<port>`` too (the loopback emulator's hosts); returns that
        suffix. The official client's token audience for them is ``https://azconfig.localhost``."""
        if not 0 < port < 65536:
            raise ValueError(f"{port} is not a TCP port.")
        suffix = LOOPBACK_STORE_DOMAIN if port == 443 else f"{LOOPBACK_STORE_DOMAIN}:{port}"
        with self._lock:
            self._suffixes = self._suffixes | {suffix}
        return suffix

    @staticmethod
    def _host_for(name: str) -> str:
        text = name.strip().lower()
        if "://" in text:
            text = text.split("://", 1)[1]
        text = text.split("/", 1)[0].removesuffix(":443")
        if "." not in text:
            if not is_store_name(text):
                raise ValueError(f"{name!r} is not a valid store name: use 5-50 letters, digits and hyphens.")
            text = f"{text}.azconfig.io"
        return text

    def store(self, name: str) -> Store:
        """The store with this name (``mystore``) or endpoint, created if needed (even in strict mode)."""
        host = self._host_for(name)
        with self._lock:
            found = self._stores.get(host)
            if found is None:
                found = self._stores[host] = Store(host.split(".", 1)[0], host)
            return found

    @property
    def stores(self) -> list[Store]:
        with self._lock:
            return list(self._stores.values())

    def remove_store(self, host: str) -> bool:
        """Forget the store at ``host`` (key-values, snapshots, access keys and roles); whether there was one. Unless
        strict, the next request to ``host`` makes a new, empty store with new access keys."""
        with self._lock:
            return self._stores.pop(host.lower(), None) is not None

    def locate_store(self, host: str) -> Store | None:
        """The store serving ``host``, made on first use unless strict; None when the host is no store's."""
        name, _, suffix = host.partition(".")
        if suffix not in self._suffixes or not is_store_name(name):
            return None
        with self._lock:
            found = self._stores.get(host)
        if found is None and not self.strict:
            return self.store(host)
        return found

    def serves_host(self, host: str) -> bool:
        """Whether ``host`` is a store host of this fake's clouds (in strict mode, an unknown store then answers as
        a DNS failure does); nothing is created."""
        name, _, suffix = host.lower().partition(".")
        return suffix in self._suffixes and is_store_name(name)

    def endpoint(self, name: str) -> str:
        return self.store(name).endpoint

    def connection_string(self, name: str, *, read_only: bool = False) -> str:
        """A connection string with the store's read-write (or read-only) access key."""
        return self.store(name).connection_string(read_only=read_only)

    def assign_role(self, name: str, identity: str | Identity, role: Role) -> None:
        """Give an identity a data-plane role; from the first assignment on, the store checks every token caller."""
        if role not in ROLES:
            raise ValueError(f"{role!r} is not an App Configuration data role: use one of {', '.join(ROLES)}.")
        store = self.store(name)
        with store.lock:
            store.roles[Identity.of(identity).object_id] = role

    # -- credentials and transports -------------------------------------------------------------------------------

    def identity_of(self, identity: str | Identity | None) -> Identity:
        """An :class:`Identity` as given, or one named ``identity`` (default ``test-user``) of the tenant of the fake
        Key Vault this fake shares tokens with (its default tenant without one)."""
        if isinstance(identity, Identity) or self.keyvault is None:
            return Identity.of(identity)
        return Identity(identity or "test-user", tenant_id=self.keyvault.tenant_id)

    def patch(self, identity: str | Identity | None = None) -> FakePatch:
        """Route App Configuration clients and the provider's ``load()``, built by the code under test with any
        azure-identity credential or a connection string, to this fake; with ``keyvault=``, that fake Key Vault's
        hosts are served too (one patch for both). Every other host is refused; restored on exit.

        Works as a context manager and as a decorator, and nests with ``FakeKeyVault.patch()`` (the newest serves).
        """
        return FakePatch(
            self.keyvault, self.identity_of(identity), also=(ServedHosts(self.serves_host, self),), tokens=self.tokens
        )

    def dispatch(self, request: FakeRequest) -> Outcome:
        """Serve one request (the surface the transports use)."""
        outcome = dispatch(self, request)
        response = outcome.response
        wrote = response is not None and 200 <= response.status < 300 and request.method.upper() not in ("GET", "HEAD")
        if wrote and self.write_listeners:
            _scheme, hostname, _path, port = request.parts
            host = hostname if port in (None, 443) else f"{hostname}:{port}"
            for listener in list(self.write_listeners):
                listener(host)  # a failure to save propagates: the write must not be acknowledged
        return outcome

    def pass_time(self, seconds: float) -> None:
        """What the SDK's waits (retry back-off) do on the fake: nothing, as on the fake Key Vault's system clock."""
        advance = getattr(self.clock, "advance", None)
        if callable(advance) and seconds > 0:
            advance(seconds)

    def record(self, operation: str) -> None:
        self.operation_counts[operation] += 1

    # -- arranging state without HTTP ------------------------------------------------------------------------------

    def set(
        self,
        name: str,
        key: str,
        value: str | None,
        *,
        label: str | None = None,
        content_type: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> KeyValue:
        """Add or replace a key-value directly (for arranging tests)."""
        store = self.store(name)
        with store.lock:
            return store.put(
                key, label, value=value, content_type=content_type, tags=dict(tags or {}), now=self.clock.now()
            )

    def set_secret_reference(self, name: str, key: str, secret_uri: str, *, label: str | None = None) -> KeyValue:
        """Add a Key Vault reference (the content type and ``{"uri": ...}`` value the portal writes)."""
        return self.set(name, key, json.dumps({"uri": secret_uri}), label=label, content_type=KEYVAULT_REF_CONTENT_TYPE)

    def get(self, name: str, key: str, *, label: str | None = None) -> KeyValue:
        """A key-value as stored (KeyError when absent)."""
        store = self.store(name)
        with store.lock:
            return store.items[(key, label)]

    def seed(self, data: Mapping[str, Any]) -> None:
        """Load stores from ``{"mystore": [{"key": ..., "value": ..., "label": ..., "content_type": ..., "tags": {}}
        | {"key": ..., "secret_uri": ...}]}`` (the ``appconfig`` part of a seed file); a store with snapshots is
        ``{"key_values": [...], "snapshots": [{"name": ..., "filters": [...], ...}]}`` (see ``seed.py``).

        All or nothing: when an entry is refused (``AppConfigSeedError``), the stores it names are put back as they
        were (a store the seed made is forgotten), so a bad seed loses nothing and leaves no half of itself."""
        hosts = set()
        for name in data if isinstance(data, Mapping) else ():
            try:
                hosts.add(self._host_for(str(name)))
            except ValueError:
                continue  # refused by the load itself, before it touches that store
        with self._lock:
            saved = {host: dumps_store(self._stores[host]) if host in self._stores else None for host in hosts}
        try:
            load_appconfig_seed(self, data)
        except Exception:
            self._put_back(saved)
            raise

    def _put_back(self, saved: Mapping[str, bytes | None]) -> None:
        for host, blob in saved.items():
            if blob is None:
                self.remove_store(host)
                continue
            store = Store(host.split(".", 1)[0], host)
            restore_store(store, blob)
            with self._lock:
                self._stores[host] = store

    def dump(self) -> dict[str, Any]:
        """Every store as a seed mapping, snapshots included (values included: this is test data)."""
        return dump_appconfig_seed(self)

    def export_state(self, host: str | None = None) -> dict[str, bytes]:
        """The whole state of the store at ``host`` (``None``: of every store) by host, for the data folder."""
        with self._lock:
            chosen = (
                list(self._stores.values()) if host is None else [self._stores[host]] if host in self._stores else []
            )
        return {store.host: dumps_store(store) for store in chosen}

    def restore_state(self, rows: Mapping[str, bytes]) -> int:
        """Make the stores ``export_state`` wrote (by host) again; how many. Raises ``StoreStateError``."""
        for host, blob in rows.items():
            restore_store(self.store(host), blob)
        return len(rows)

    def __iter__(self) -> Iterator[Store]:
        return iter(self.stores)

    def __repr__(self) -> str:
        return f"FakeAppConfiguration(stores={len(self._stores)}, latency={self.latency})"
