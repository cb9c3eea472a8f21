"""Settings from an Azure App Configuration store, read with the official ``azure-appconfiguration`` client: the
key-values of a key filter and labels (a later label wins), a key prefix trimmed, each setting with its origin (store,
key, label) and content type, so Key Vault references stored the App Configuration way are recognised.

The store is named by its endpoint (``https://mystore.azconfig.io``, read with a token credential) or by a connection
string (``Endpoint=...;Id=...;Secret=...``, signed with its access key). A connection string holds a secret: it never
appears in a message or a repr.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kvconfig.sources._base import ConfigSource, SourceError

__all__ = ["MAX_STORE_SETTINGS", "AppConfigSource", "StoreAddress", "from_appconfig"]

MAX_STORE_SETTINGS = 100_000  # key-values read from one store before the read is refused
_FEATURE_FLAG_PREFIX = ".appconfig.featureflag/"
NULL_LABEL = "\0"


@dataclass(frozen=True)
class StoreAddress:
    """Where a store is: its endpoint and, when it was given as one, the connection string (never shown)."""

    endpoint: str
    connection_string: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, text: str) -> StoreAddress:
        """An endpoint (``https://...``) or a connection string; anything else is a :class:`SourceError`."""
        value = text.strip()
        if "endpoint=" in value.lower() and ";" in value:
            return cls._from_connection_string(value)
        if value.startswith("https://") and " " not in value and len(value) <= 2048:
            return cls(value.rstrip("/"))
        raise SourceError(
            "An App Configuration store is named by its endpoint (https://<name>.azconfig.io) or a connection string."
        )

    @classmethod
    def _from_connection_string(cls, value: str) -> StoreAddress:
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
        return cls(endpoint.rstrip("/"), f"Endpoint={endpoint};Id={fields['id']};Secret={fields['secret']}")

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

    def __repr__(self) -> str:
        return f"AppConfigSource({self.endpoint}, {len(self.settings)} settings)"


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
    client: Any = None,
    **client_options: Any,
) -> AppConfigSource:
    """The key-values of ``store`` matching ``key_filter``, for each of ``labels`` in turn (``None``: the null label;
    a later label's value wins), with the first matching prefix of ``trim_prefixes`` trimmed from each key.

    Feature flags (``.appconfig.featureflag/...``) are left out. ``client`` is an ``AzureAppConfigurationClient`` to
    use (not closed); otherwise one is made with ``credential`` and ``client_options`` (``transport=``...) and closed.
    Failing to read the store is a :class:`SourceError` naming the store, never a credential.
    """
    address = store if isinstance(store, StoreAddress) else StoreAddress.parse(store)
    owned = client is None
    reader = address.client(credential, **client_options) if owned else client
    settings: dict[str, Any] = {}
    origins: dict[str, str] = {}
    content_types: dict[str, str | None] = {}
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
