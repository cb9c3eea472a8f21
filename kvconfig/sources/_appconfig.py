"""Settings from an Azure App Configuration store, read with the official ``azure-appconfiguration`` client: the
key-values of a key filter and labels (a later label wins), a key prefix trimmed, each setting with its origin (store,
key, label) and content type, so Key Vault references stored the App Configuration way are recognised.

The store is named by its endpoint (``https://mystore.azconfig.io``, read with a token credential) or by a connection
string (``Endpoint=...;Id=...;Secret=...``, signed with its access key). A connection string holds a secret: it never
appears in a message or a repr. Either way the store's host must be trusted (``kvconfig.references``' store rule: a
store of the Azure clouds' App Configuration domains, the loopback emulator's, or one of ``trusted_hosts``) before a
credential is made or a request sent: :class:`UntrustedStoreError` otherwise.

Two distinct keys that name one setting once the prefix is trimmed (``app:x`` trimmed, and ``x``) are refused with
:class:`KeyCollisionError`, as is a mapping of the settings' names (:meth:`AppConfigSource.names_as`: environment
variable names, template settings) that makes two keys one name: nothing is read or written past it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kvconfig.references import is_trusted_store_host, store_host
from kvconfig.sources._base import ConfigSource, SourceError

__all__ = [
    "MAX_STORE_SETTINGS",
    "AppConfigSource",
    "KeyCollisionError",
    "StoreAddress",
    "UntrustedStoreError",
    "from_appconfig",
]

MAX_STORE_SETTINGS = 100_000  # key-values read from one store before the read is refused
_FEATURE_FLAG_PREFIX = ".appconfig.featureflag/"
NULL_LABEL = "\0"
StoreKey = tuple[str, str | None]  # a key-value's key and label


class UntrustedStoreError(SourceError):
    """A store endpoint whose host is not a trusted App Configuration host: no credential was made, nothing sent."""

    def __init__(self, host: str) -> None:
        self.host = host
        super().__init__(
            f"Refusing to send a credential to untrusted App Configuration host {host!r}: trusted are the stores of "
            "the Azure clouds (*.azconfig.io, *.appconfig.azure.com, *.azconfig.azure.us, *.azconfig.azure.cn) and "
            f"the emulator's (*.azconfig.localhost); allow it with --trusted-host {host} (trusted_hosts= in Python) "
            "if you mean it."
        )


class KeyCollisionError(SourceError):
    """Two distinct keys of a store map to one setting or variable name; nothing was read or written past it."""

    def __init__(self, endpoint: str, first: StoreKey, second: StoreKey, name: str) -> None:
        self.endpoint = endpoint
        self.keys = (first, second)
        self.name = name
        super().__init__(
            f"App Configuration {endpoint}: keys {_shown(first)} and {_shown(second)} both map to {name!r}; rename "
            "one of them or narrow --key-filter/--label (key_filter=, labels=)."
        )


def _shown(key: StoreKey) -> str:
    return f"{key[0]!r} ({'no label' if key[1] is None else f'label {key[1]!r}'})"


@dataclass(frozen=True)
class StoreAddress:
    """Where a store is: its endpoint and, when it was given as one, the connection string (never shown)."""

    endpoint: str
    connection_string: str | None = field(default=None, repr=False)
    trusted_hosts: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        # Every address is checked when made, however it was made: a credential only ever meets a trusted host.
        try:
            host = store_host(self.endpoint)
        except ValueError as exc:
            raise SourceError(f"The App Configuration endpoint is not valid: {exc}.") from None
        try:
            trusted = is_trusted_store_host(host, self.trusted_hosts)
        except ValueError as exc:  # a malformed trusted_hosts entry
            raise SourceError(f"{exc}.") from None
        if not trusted:
            raise UntrustedStoreError(host)

    @classmethod
    def parse(cls, text: str, *, trusted_hosts: Iterable[str] = ()) -> StoreAddress:
        """An endpoint (``https://...``) or a connection string; anything else is a :class:`SourceError`, and a host
        that is neither an App Configuration store's nor listed in ``trusted_hosts`` an :class:`UntrustedStoreError`.
        """
        value = text.strip()
        trusted = (trusted_hosts,) if isinstance(trusted_hosts, str) else tuple(trusted_hosts)
        if "endpoint=" in value.lower() and ";" in value:
            return cls._from_connection_string(value, trusted)
        if value.startswith("https://") and " " not in value and len(value) <= 2048:
            return cls(value.rstrip("/"), trusted_hosts=trusted)
        raise SourceError(
            "An App Configuration store is named by its endpoint (https://<name>.azconfig.io) or a connection string."
        )

    @classmethod
    def _from_connection_string(cls, value: str, trusted_hosts: tuple[str, ...]) -> StoreAddress:
        # Exactly Endpoint, Id and Secret (in any order and case, a trailing ';' or spaces allowed), handed to the SDK
        # in its own form: its parser takes three ';'-separated parts only and raises a bare ValueError otherwise.
        fields: dict[str, str] = {}
        for part in value.split(";"):
            if part.strip():
                name, _, item = part.partition("=")
                fields[name.strip().lower()] = item.strip()
        endpoint = fields.get("endpoint", "")
        if (
            set(fields) != {"endpoint", "id", "secret"}
            or not endpoint.startswith("https://")
            or not fields["id"]
            or not _is_base64(fields["secret"])
        ):
            raise SourceError(
                "The App Configuration connection string is not valid: it is Endpoint=https://...;Id=...;Secret=... "
                "(the access key's Secret in base64)."
            )
        connection_string = f"Endpoint={endpoint};Id={fields['id']};Secret={fields['secret']}"
        return cls(endpoint.rstrip("/"), connection_string, trusted_hosts)

    def client(self, credential: Any = None, **options: Any) -> Any:
        """An ``AzureAppConfigurationClient`` for the store (``DefaultAzureCredential`` for an endpoint by default)."""
        try:
            from azure.appconfiguration import AzureAppConfigurationClient
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise SourceError(
                "Reading App Configuration needs azure-appconfiguration: pip install 'kvconfig[appconfig]'"
            ) from exc
        if self.connection_string is not None:
            return AzureAppConfigurationClient.from_connection_string(self.connection_string, **options)
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return AzureAppConfigurationClient(self.endpoint, credential, **options)


@dataclass(repr=False)
class AppConfigSource(ConfigSource):
    """A :class:`ConfigSource` read from a store: ``content_types`` by setting, and the store's endpoint."""

    content_types: dict[str, str | None] = field(default_factory=dict)
    endpoint: str = ""
    labels: tuple[str | None, ...] = (None,)
    keys: dict[str, StoreKey] = field(default_factory=dict)  # setting -> the key and label it was read from

    def __repr__(self) -> str:
        return f"AppConfigSource({self.endpoint}, {len(self.settings)} settings)"

    def names_as(self, name_of: Callable[[str], str | tuple[str, ...] | None]) -> dict[str, str]:
        """``{setting: name_of(setting)}``: each setting's name as a command uses it (``db:password`` ->
        ``DB__PASSWORD``; ``None`` leaves a setting out; a tuple is every name the setting sets, the first one
        returned). Two settings mapped to one name are a :class:`KeyCollisionError` naming both keys and labels."""
        names: dict[str, str] = {}
        owners: dict[str, str] = {}
        for setting in self.settings:
            found = name_of(setting)
            if found is None:
                continue
            each = (found,) if isinstance(found, str) else found
            names[setting] = each[0]
            for name in each:
                other = owners.setdefault(name, setting)
                if other != setting:
                    raise KeyCollisionError(self.endpoint, self._key_of(other), self._key_of(setting), name)
        return names

    def _key_of(self, setting: str) -> StoreKey:
        return self.keys.get(setting, (setting, None))


def _is_base64(text: str) -> bool:
    try:
        return bool(text) and bool(base64.b64decode(text, validate=True))
    except ValueError:
        return False


def origin_of(endpoint: str, key: str, label: str | None) -> str:
    """How a setting read from a store names where it came from (never its value)."""
    return f"App Configuration {endpoint}, key {key!r}, " + ("no label" if label is None else f"label {label!r}")


def from_appconfig(
    store: str | StoreAddress,
    *,
    credential: Any = None,
    key_filter: str = "*",
    labels: Sequence[str | None] = (None,),
    trim_prefixes: Sequence[str] = (),
    trusted_hosts: Iterable[str] = (),
    client: Any = None,
    **client_options: Any,
) -> AppConfigSource:
    """The key-values of ``store`` matching ``key_filter``, for each of ``labels`` in turn (``None``: the null label;
    a later label's value wins), with the first matching prefix of ``trim_prefixes`` trimmed from each key.

    Feature flags (``.appconfig.featureflag/...``) are left out. ``client`` is an ``AzureAppConfigurationClient`` to
    use (not closed); otherwise one is made with ``credential`` and ``client_options`` (``transport=``...) and closed.
    The store's host must be an App Configuration store's or listed in ``trusted_hosts``
    (:class:`UntrustedStoreError`, before anything is made or sent). Two distinct keys naming one setting (``app:x``
    trimmed and ``x``) are a :class:`KeyCollisionError`. Failing to read the store is a :class:`SourceError` naming
    the store, never a credential.
    """
    address = store if isinstance(store, StoreAddress) else StoreAddress.parse(store, trusted_hosts=trusted_hosts)
    owned = client is None
    reader = address.client(credential, **client_options) if owned else client
    settings: dict[str, Any] = {}
    origins: dict[str, str] = {}
    content_types: dict[str, str | None] = {}
    keys: dict[str, StoreKey] = {}
    prefixes = sorted(trim_prefixes, key=len, reverse=True)
    read = 0
    try:
        for label in labels:
            listing = reader.list_configuration_settings(
                key_filter=key_filter, label_filter=NULL_LABEL if label is None else label
            )
            for item in listing:
                read += 1
                if read > MAX_STORE_SETTINGS:
                    raise SourceError(
                        f"App Configuration {address.endpoint} holds more than {MAX_STORE_SETTINGS} key-values for "
                        f"key filter {key_filter!r}: narrow the filter."
                    )
                if item.key.startswith(_FEATURE_FLAG_PREFIX):
                    continue
                name = next((item.key[len(p) :] for p in prefixes if item.key.startswith(p)), item.key)
                first = keys.get(name)
                if first is not None and first[0] != item.key:  # the same key under a later label wins; not another
                    raise KeyCollisionError(address.endpoint, first, (item.key, item.label), name)
                keys[name] = (item.key, item.label)
                settings[name] = item.value
                origins[name] = origin_of(address.endpoint, item.key, item.label)
                content_types[name] = item.content_type
    except SourceError:
        raise
    except Exception as exc:  # an azure-core error: report it in one line, naming the store only
        raise SourceError(f"Cannot read App Configuration {address.endpoint}: {_reason(exc)}") from None
    finally:
        if owned:
            reader.close()
    return AppConfigSource(
        settings,
        origins,
        "appconfig",
        content_types=content_types,
        endpoint=address.endpoint,
        labels=tuple(labels),
        keys=keys,
    )


def _reason(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    if status == 401:
        return "the credential was refused (401)."
    if status == 403:
        return "the caller may not read this store (403)."
    if status is not None:
        return f"the store answered {status} ({getattr(exc, 'reason', None) or type(exc).__name__})."
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {text[:200]}"
