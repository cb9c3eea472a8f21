"""Settings from an Azure App Configuration store for pydantic-settings, with the store's Key Vault references resolved
by kvconfig and refresh through a sentinel key (the provider's ``refresh_on`` pattern).

:class:`AppConfigurationStore` reads the store (a key prefix chosen and trimmed, labels in order, ``:`` and ``__``
nesting) and resolves every reference in one batch; :meth:`AppConfigurationStore.source` is the pydantic-settings
source for a settings class; :meth:`AppConfigurationStore.refresh` answers a new settings object when the sentinel
changed (one conditional request, 304 when it did not), else the same object.

Async apps: a pydantic-settings source is called inside ``BaseSettings.__init__``, which is synchronous, so a
source cannot await. As with :class:`~kvconfig.settings.KeyVaultSettings` (``load_async``, ``refresh_async``), the
async face runs the sync path in a worker thread: :meth:`AppConfigurationStore.load_async`,
:meth:`~AppConfigurationStore.refresh_async` and :meth:`~AppConfigurationStore.aclose` keep the event loop serving
while the store is read (the references are resolved concurrently on the resolver's own loop, as always).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

from kvconfig.errors import ResolutionError, ResolutionFailure
from kvconfig.resolve import SecretResolver
from kvconfig.settings._common import HARD_FAILURES, hide_inputs_in_errors
from kvconfig.sources import AppConfigSource, SourceError, StoreAddress, from_appconfig

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

__all__ = ["AppConfigurationSource", "AppConfigurationStore"]

logger = logging.getLogger("kvconfig")
SettingsT = TypeVar("SettingsT", bound="BaseSettings")
MAX_DEPTH = 32  # nesting levels a key may have


def _escaped(prefix: str) -> str:
    """A key prefix as a key filter: ``*``, ``,`` and ``\\`` escaped, then ``*`` for "starts with"."""
    return "".join("\\" + char if char in "*,\\" else char for char in prefix) + "*"


class AppConfigurationStore:
    """A store read as settings: ``AppConfigurationStore("https://mystore.azconfig.io", key_prefix="app:")``.

    :param store: endpoint (read with ``credential``, ``DefaultAzureCredential`` by default) or connection string.
    :param key_prefix: only keys starting with it are read, and it is trimmed (``app:db:password`` -> ``db.password``).
    :param labels: labels read in order, a later label's value winning (``None``: the null label, the default).
    :param refresh_on: the sentinel key (with ``sentinel_label``): :meth:`refresh` reloads only when it changed.
    :param resolver: the :class:`~kvconfig.SecretResolver` for the store's references (default: one on
        ``credential`` and ``trusted_hosts``, closed by :meth:`close`); a reference that resolved before and fails on
        a refresh for a passing reason (a timeout, an unreachable vault) keeps its last good value.
    :param trusted_hosts: hosts (``mystore.example.com:8443``) or ``.suffixes`` trusted with a credential besides the
        Azure clouds' App Configuration stores (and, for the default resolver, their Key Vaults); any other store
        endpoint is an :class:`~kvconfig.sources.UntrustedStoreError` before a credential is made.
    :param client_options: for the ``AzureAppConfigurationClient`` (``transport=``, ``retry_total=``...).
    """

    def __init__(
        self,
        store: str,
        *,
        credential: Any = None,
        key_prefix: str = "",
        labels: Sequence[str | None] = (None,),
        separators: Sequence[str] = (":", "__"),
        refresh_on: str | None = None,
        sentinel_label: str | None = None,
        resolver: SecretResolver | None = None,
        trusted_hosts: Sequence[str] = (),
        **client_options: Any,
    ) -> None:
        self.address = StoreAddress.parse(store, trusted_hosts=trusted_hosts)  # first: before any credential
        self.key_prefix = key_prefix
        self.labels = tuple(labels) or (None,)
        self.separators = tuple(sorted((s for s in separators if s), key=len, reverse=True))
        self.refresh_on = refresh_on
        self.sentinel_label = sentinel_label
        self._owned_resolver = resolver is None
        self.resolver = (
            resolver if resolver is not None else SecretResolver(credential, trusted_hosts=self.address.trusted_hosts)
        )
        self._client = self.address.client(credential, **client_options)
        self._lock = threading.RLock()
        self._sentinel_etag: str | None = None
        self._flat: dict[str, Any] | None = None  # setting -> value (references resolved)
        self._references: dict[str, Any] = {}  # setting -> its text as stored (a reference's), last load
        self._read: AppConfigSource | None = None  # the last load's key-values, as read (keys and labels)
        self.loads = 0

    # -- the public face ---------------------------------------------------------------------------------------------

    def source(self, settings_cls: type[BaseSettings]) -> AppConfigurationSource:
        """The pydantic-settings source of this store for ``settings_cls`` (for ``settings_customise_sources``)."""
        return AppConfigurationSource(settings_cls, self)

    def values(self) -> dict[str, Any]:
        """The store's settings, flat (``db:password``) after the prefix, references resolved (loaded once)."""
        with self._lock:
            if self._flat is None:
                self._load()
            assert self._flat is not None
            return dict(self._flat)

    def changed(self) -> bool:
        """Whether the sentinel changed since the last load (always True without ``refresh_on``)."""
        if self.refresh_on is None or self._flat is None:
            return True
        from azure.core import MatchConditions

        try:
            found = self._client.get_configuration_setting(
                self.refresh_on,
                label=self.sentinel_label,
                etag=self._sentinel_etag,
                match_condition=MatchConditions.IfModified,
            )
        except Exception as exc:
            if getattr(exc, "status_code", None) == 404:
                return self._sentinel_etag is not None  # the sentinel was deleted
            raise SourceError(f"Cannot read the sentinel {self.refresh_on!r} of {self.address.endpoint}.") from None
        return found is not None  # None: 304 Not Modified

    def refresh(self, settings: SettingsT) -> SettingsT:
        """A new ``type(settings)`` built from the store reloaded when the sentinel changed; else ``settings`` itself.

        A failing reference that is new, or that fails for good (``SecretNotFound``...), raises
        :class:`~kvconfig.ResolutionError` and leaves the store's last values in place.
        """
        with self._lock:
            if not self.changed():
                return settings
            self._load()
        return type(settings)()

    async def load_async(self, settings_cls: type[SettingsT], *args: Any, **values: Any) -> SettingsT:
        """``settings_cls(*args, **values)`` built in a worker thread, so an async start-up hook (FastAPI's
        lifespan) does not block its event loop while the store is read and its references resolved."""
        return await asyncio.to_thread(lambda: settings_cls(*args, **values))

    async def refresh_async(self, settings: SettingsT) -> SettingsT:
        """:meth:`refresh` in a worker thread: the sentinel check (and a reload when it changed) never blocks the
        event loop. Concurrent calls are serialised by the store, as threads calling :meth:`refresh` are."""
        return await asyncio.to_thread(self.refresh, settings)

    def close(self) -> None:
        self._client.close()
        if self._owned_resolver:
            self.resolver.close()

    async def aclose(self) -> None:
        """:meth:`close` in a worker thread (closing an owned resolver waits for its loop thread)."""
        await asyncio.to_thread(self.close)

    def __enter__(self) -> AppConfigurationStore:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    async def __aenter__(self) -> AppConfigurationStore:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AppConfigurationStore({self.address.endpoint}, prefix={self.key_prefix!r}, labels={self.labels!r})"

    # -- loading -----------------------------------------------------------------------------------------------------

    def _read_sentinel(self) -> str | None:
        if self.refresh_on is None:
            return None
        try:
            return str(self._client.get_configuration_setting(self.refresh_on, label=self.sentinel_label).etag)
        except Exception as exc:
            if getattr(exc, "status_code", None) == 404:
                return None
            raise SourceError(f"Cannot read the sentinel {self.refresh_on!r} of {self.address.endpoint}.") from None

    def _load(self) -> None:
        # The sentinel first: a change made while the key-values are listed shows at the next refresh.
        etag = self._read_sentinel()
        source = from_appconfig(
            self.address,
            client=self._client,
            key_filter=_escaped(self.key_prefix),
            labels=self.labels,
            trim_prefixes=[self.key_prefix] if self.key_prefix else [],
        )
        report = self.resolver.resolve_report(
            source.settings, origins=source.origins, content_types=source.content_types
        )
        values = dict(report.values)
        previous = self._flat or {}
        hard: list[ResolutionFailure] = []
        for failure in report.failures:
            unchanged = self._references.get(failure.setting) == source.settings.get(failure.setting)
            if failure.setting in previous and unchanged and failure.status not in HARD_FAILURES:
                logger.warning("kvconfig keeps the last good value of %s (%s): %s", failure.setting, failure.origin,
                               failure.status)  # fmt: skip
                values[failure.setting] = previous[failure.setting]
            else:
                hard.append(failure)
        if hard:
            raise ResolutionError(hard) from report.cause
        self._flat = values
        self._references = dict(source.settings)
        self._read = source
        self._sentinel_etag = etag
        self.loads += 1

    # -- mapping keys to fields --------------------------------------------------------------------------------------

    def tree(self, *, case_sensitive: bool = True) -> dict[str, Any]:
        """The settings nested by the separators (``db:password`` -> ``{"db": {"password": ...}}``).

        Two keys that name one field (``db:password`` and ``db__password``; ``Db:Password`` too unless
        ``case_sensitive``) are a :class:`~kvconfig.sources.KeyCollisionError` naming both.
        """
        with self._lock:  # one load's values and keys, even when a refresh runs on another thread
            values = self.values()
            read = self._read
        if read is not None:
            read.names_as(lambda name: self._field_path(name, case_sensitive))
        tree: dict[str, Any] = {}
        for key, value in sorted(values.items(), key=lambda item: item[0].count(":")):
            parts = self._split(key)
            if len(parts) > MAX_DEPTH or not all(parts):
                logger.warning("kvconfig skips the App Configuration key %r: it cannot name a field.", key)
                continue
            node = tree
            for part in parts[:-1]:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}  # a nested key wins over a plain value at the same name
                node = child
            node[parts[-1]] = value
        return tree

    def _split(self, key: str) -> list[str]:
        parts = [key]
        for separator in self.separators:
            parts = [piece for part in parts for piece in part.split(separator)]
        return parts

    def _field_path(self, key: str, case_sensitive: bool) -> str:
        # A '.' inside a part is escaped: "db.password" is one field's name, not the path of "db:password".
        path = ".".join(part.replace(".", "\\.") for part in self._split(key))
        return path if case_sensitive else path.lower()


class AppConfigurationSource(PydanticBaseSettingsSource):
    """The pydantic-settings source of an :class:`AppConfigurationStore` for one settings class.

    Keys are matched to fields (and nested models' fields) by name or alias, ignoring case unless the class sets
    ``case_sensitive``; keys no field names are left out, complex fields take JSON values, as with environment
    variables. Validation errors never show the values (``hide_input_in_errors``).
    """

    def __init__(self, settings_cls: type[BaseSettings], store: AppConfigurationStore) -> None:
        super().__init__(settings_cls)
        self.store = store
        hide_inputs_in_errors(settings_cls)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ does the work

    def __call__(self) -> dict[str, Any]:
        case_sensitive = bool(self.config.get("case_sensitive", False))
        return self._fit(self.settings_cls.model_fields, self.store.tree(case_sensitive=case_sensitive), case_sensitive)

    def _fit(self, fields: Mapping[str, FieldInfo], tree: Mapping[str, Any], case_sensitive: bool) -> dict[str, Any]:
        if not case_sensitive:
            tree = _folded(tree.items())  # "Db:Host" and "db:port" fill one model: neither replaces the other
        by_name: dict[str, tuple[str, FieldInfo]] = {}
        for name, info in fields.items():
            key = info.validation_alias if isinstance(info.validation_alias, str) else (info.alias or name)
            by_name[key if case_sensitive else key.lower()] = (key, info)
        fitted: dict[str, Any] = {}
        for raw, value in tree.items():
            found = by_name.get(raw if case_sensitive else raw.lower())
            if found is None:
                continue
            key, info = found
            model = _model_of(info.annotation)
            if isinstance(value, dict):
                fitted[key] = self._fit(model.model_fields, value, case_sensitive) if model is not None else value
            elif isinstance(value, str) and self.field_is_complex(info):
                fitted[key] = self.decode_complex_value(key, info, value)
            else:
                fitted[key] = value
        return fitted

    def __repr__(self) -> str:
        return f"AppConfigurationSource({self.store!r})"


def _folded(entries: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """A tree's entries with names that differ only in case made one (the first spelling kept): their nested entries
    merged, and a nested entry winning over a plain value as in :meth:`AppConfigurationStore.tree`. (Two plain values
    of one name never get here: :meth:`AppConfigurationStore.tree` refuses them as colliding keys.)"""
    groups: dict[str, list[tuple[str, Any]]] = {}
    for name, value in entries:
        groups.setdefault(name.lower(), []).append((name, value))
    folded: dict[str, Any] = {}
    for group in groups.values():
        nested = [value for _, value in group if isinstance(value, dict)]
        folded[group[0][0]] = _folded(item for value in nested for item in value.items()) if nested else group[-1][1]
    return folded


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds (``Db``, ``Db | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        if isinstance(argument, type) and issubclass(argument, BaseModel):
            return argument
    return None
