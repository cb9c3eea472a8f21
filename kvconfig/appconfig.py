"""kvconfig with Azure App Configuration: the provider (``azure-appconfiguration-provider``) resolves its Key Vault
references through kvconfig's :class:`~kvconfig.SecretResolver` instead of one ``get_secret`` after another.

The provider accepts a ``secret_resolver`` callback, which it calls once per reference, in turn. Called alone, that
callback could only fetch one secret at a time. :class:`ProviderSecretResolver` therefore also watches the pages of
key-values the provider's client receives (an azure-core ``raw_response_hook``): the references of each page start
resolving in the background as soon as the page arrives, while the provider lists the next ones (trusted hosts only,
deduplicated, concurrently, cached by version). When the provider asks for its first secret, kvconfig waits for
those batches (and resolves any reference no page showed). The callback then answers from those results, and a
load with any failing reference raises one :class:`~kvconfig.ResolutionError` listing each of them, with its key
and label.

>>> from kvconfig.appconfig import load
>>> config = load(endpoint="https://mystore.azconfig.io", credential=DefaultAzureCredential())
>>> config["db:password"]
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kvconfig.errors import ResolutionError, ResolutionFailure
from kvconfig.references import APPCONFIG_KEYVAULT_CONTENT_TYPE
from kvconfig.resolve import ResolutionReport, SecretResolver
from kvconfig.sources import StoreAddress

if TYPE_CHECKING:
    from azure.appconfiguration.provider import AzureAppConfigurationProvider
    from azure.appconfiguration.provider.aio import AzureAppConfigurationProvider as AsyncAzureAppConfigurationProvider

__all__ = ["MAX_PENDING_REFERENCES", "ProviderSecretResolver", "load", "load_async"]

_LOG = logging.getLogger(__name__)
_CONTENT_TYPE = APPCONFIG_KEYVAULT_CONTENT_TYPE + ";charset=utf-8"
# References remembered between a page arriving and the provider asking for secrets (bounds a hostile store).
MAX_PENDING_REFERENCES = 100_000
_MAX_PAGE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class _Seen:
    """A Key Vault reference as a page of key-values showed it: where it lives, and its raw value."""

    key: str
    label: str | None
    endpoint: str
    value: str

    @property
    def setting(self) -> str:
        return self.key if self.label is None else f"{self.key} (label {self.label})"

    @property
    def origin(self) -> str:
        return f"App Configuration {self.endpoint}, key {self.key!r}, label {self.label!r}"


def _uri_of(value: str) -> str | None:
    try:
        document = json.loads(value)
    except (ValueError, RecursionError):
        return None
    uri = document.get("uri") if isinstance(document, dict) else None
    return uri.strip() if isinstance(uri, str) else None


class ProviderSecretResolver:
    """The provider's ``secret_resolver``, answered by a kvconfig :class:`~kvconfig.SecretResolver`.

    Give the provider both halves, :meth:`provider_options` does it::

        hook = ProviderSecretResolver(SecretResolver(credential))
        config = azure.appconfiguration.provider.load(endpoint=..., credential=..., **hook.provider_options())

    ``resolver`` defaults to ``SecretResolver(credential, transport=transport, trusted_hosts=trusted_hosts)`` (closed
    with this object); a resolver you pass stays yours to close. On a refresh, a reference that resolved before and
    fails now keeps its last good value (logged as a warning); a new failing reference raises.

    ``pipeline=True`` (the default) starts resolving each page's references when the page arrives, on a worker
    thread, so the fetches overlap the listing of later pages; ``False`` resolves everything at the first secret.
    """

    def __init__(
        self,
        resolver: SecretResolver | None = None,
        *,
        credential: Any = None,
        transport: Any = None,
        pipeline: bool = True,
        trusted_hosts: Sequence[str] = (),
    ) -> None:
        self._owned = resolver is None
        self.resolver = (
            resolver
            if resolver is not None
            else SecretResolver(credential, transport=transport, trusted_hosts=trusted_hosts)
        )
        self.pipeline = pipeline
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str | None], _Seen] = {}
        self._values: dict[str, str] = {}  # secret URI -> last good value
        self._user_hook: Callable[[Any], object] | None = None
        # Batches started while pages arrive: their reports are taken at the provider's next secret request.
        self._started: list[tuple[concurrent.futures.Future[ResolutionReport], dict[str, _Seen]]] = []
        self._workers: concurrent.futures.ThreadPoolExecutor | None = None

    # -- the two halves the provider calls ------------------------------------------------------------------------

    def provider_options(self, **options: Any) -> dict[str, Any]:
        """Keyword arguments for ``load()``: this callback, and the response hook that sees the key-values first.

        A ``raw_response_hook`` in ``options`` is kept and still called.
        """
        for unwanted in ("keyvault_credential", "keyvault_client_configs", "secret_resolver"):
            if options.get(unwanted) is not None:
                raise ValueError(
                    f"{unwanted} would make the provider resolve Key Vault references itself; leave it out when "
                    "kvconfig resolves them."
                )
        self._user_hook = options.pop("raw_response_hook", None)
        return {**options, "secret_resolver": self, "raw_response_hook": self.observe_response}

    def observe_response(self, pipeline_response: Any) -> None:
        """``raw_response_hook``: remember the Key Vault references in each page of key-values (never raises)."""
        try:
            self._observe(pipeline_response)
        except Exception:  # a hook that raised would break the provider's load for a bookkeeping problem
            _LOG.debug("kvconfig could not read a page of key-values; its references resolve one by one.")
        if self._user_hook is not None:
            self._user_hook(pipeline_response)

    def __call__(self, source_id: str) -> str | Awaitable[str]:
        """The provider's callback: the value of the secret at ``source_id`` (a Key Vault secret URL)."""
        return self.resolve(source_id)

    # -- resolving ---------------------------------------------------------------------------------------------------

    def resolve(self, source_id: str) -> str:
        """Take the batches started so far, resolve what no batch has yet, then answer for ``source_id``."""
        started = self._take_started()
        failures: list[ResolutionFailure] = []
        cause: BaseException | None = None
        for future, seen in started:
            report = future.result()
            failures += self._absorb(report, seen)
            cause = cause or report.cause
        batch = self._take_pending()
        if batch:
            settings, origins, content_types, seen = self._request(batch)
            report = self.resolver.resolve_report(settings, origins=origins, content_types=content_types)
            failures += self._absorb(report, seen)
            cause = cause or report.cause
        if failures:
            raise ResolutionError(failures) from cause
        return self._answer(source_id)

    async def resolve_async(self, source_id: str) -> str:
        """The async twin of :meth:`resolve` (for ``azure.appconfiguration.provider.aio.load``)."""
        started = self._take_started()
        failures: list[ResolutionFailure] = []
        cause: BaseException | None = None
        for future, seen in started:
            report = await asyncio.wrap_future(future)
            failures += self._absorb(report, seen)
            cause = cause or report.cause
        batch = self._take_pending()
        if batch:
            settings, origins, content_types, seen = self._request(batch)
            report = await self.resolver.resolve_report_async(settings, origins=origins, content_types=content_types)
            failures += self._absorb(report, seen)
            cause = cause or report.cause
        if failures:
            raise ResolutionError(failures) from cause
        return await self._answer_async(source_id)

    def close(self) -> None:
        self._stop_workers()
        if self._owned:
            self.resolver.close()

    async def aclose(self) -> None:
        self._stop_workers()
        if self._owned:
            await self.resolver.aclose()

    def __enter__(self) -> ProviderSecretResolver:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ProviderSecretResolver(resolved={len(self._values)}, pending={len(self._pending)})"

    # -- internals ---------------------------------------------------------------------------------------------------

    def _observe(self, pipeline_response: Any) -> None:
        response = pipeline_response.http_response
        request = pipeline_response.http_request
        split = urlsplit(str(request.url))
        if request.method.upper() != "GET" or response.status_code != 200 or not split.path.rstrip("/").endswith("/kv"):
            return
        body = response.content  # read already (the provider never streams pages); raises when it was not
        if not isinstance(body, bytes) or not body or len(body) > _MAX_PAGE_BYTES:
            return
        page = json.loads(body)
        items = page.get("items") if isinstance(page, dict) else None
        if not isinstance(items, list):
            return
        endpoint = f"{split.scheme}://{split.netloc}"
        found: list[_Seen] = []
        for item in items:
            if not isinstance(item, dict):
                continue
            content_type, key, value = item.get("content_type"), item.get("key"), item.get("value")
            label = item.get("label")
            if not (isinstance(content_type, str) and isinstance(key, str) and isinstance(value, str)):
                continue
            if content_type.split(";", 1)[0].strip().lower() != APPCONFIG_KEYVAULT_CONTENT_TYPE:
                continue
            found.append(_Seen(key, label if isinstance(label, str) else None, endpoint, value))
        with self._lock:
            for seen in found:
                if len(self._pending) < MAX_PENDING_REFERENCES:
                    self._pending[(seen.key, seen.label)] = seen
        if found and self.pipeline:
            self._start(self._take_pending())

    def _start(self, batch: list[_Seen]) -> None:
        """Resolve ``batch`` on a worker thread (the resolver's sync API may be called from any thread)."""
        if not batch:
            return
        settings, origins, content_types, seen = self._request(batch)
        with self._lock:
            if self._workers is None:
                self._workers = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="kvconfig-appconfig")
            future = self._workers.submit(
                self.resolver.resolve_report, settings, origins=origins, content_types=content_types
            )
            self._started.append((future, seen))

    def _take_started(self) -> list[tuple[concurrent.futures.Future[ResolutionReport], dict[str, _Seen]]]:
        with self._lock:
            started, self._started = self._started, []
        return started

    def _stop_workers(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, None
            started, self._started = self._started, []
        for future, _seen in started:
            future.cancel()
        if workers is not None:
            workers.shutdown(wait=True, cancel_futures=True)

    def _take_pending(self) -> list[_Seen]:
        with self._lock:
            batch = list(self._pending.values())
            self._pending.clear()
        return batch

    @staticmethod
    def _request(
        batch: list[_Seen],
    ) -> tuple[dict[str, str], dict[str, str], dict[str, str | None], dict[str, _Seen]]:
        seen = {item.setting: item for item in batch}
        settings = {name: item.value for name, item in seen.items()}
        origins = {name: item.origin for name, item in seen.items()}
        content_types: dict[str, str | None] = dict.fromkeys(seen, _CONTENT_TYPE)
        return settings, origins, content_types, seen

    def _absorb(self, report: ResolutionReport, seen: Mapping[str, _Seen]) -> list[ResolutionFailure]:
        """Keep the values of ``report``; return its failures, less those that keep a last good value."""
        failures: list[ResolutionFailure] = []
        with self._lock:
            for name, value in report.values.items():
                uri = _uri_of(seen[name].value)
                if uri is not None:
                    self._values[uri] = str(value)
            for failure in report.failures:
                uri = _uri_of(seen[failure.setting].value) if failure.setting in seen else None
                if uri is not None and uri in self._values:
                    _LOG.warning(
                        "kvconfig keeps the last good value of %s (%s): %s",
                        failure.setting,
                        failure.origin,
                        failure.status,
                    )
                    continue
                failures.append(failure)
        return failures

    def _one_off(self, source_id: str) -> tuple[dict[str, str], dict[str, str | None]]:
        name = source_id
        return {name: json.dumps({"uri": source_id})}, {name: _CONTENT_TYPE}

    def _answer(self, source_id: str) -> str:
        with self._lock:
            found = self._values.get(source_id)
        if found is not None:
            return found
        # A reference no page showed (from a snapshot, say): resolved on its own, with the same rules.
        settings, content_types = self._one_off(source_id)
        report = self.resolver.resolve_report(settings, content_types=content_types)
        return self._one_off_value(source_id, report)

    async def _answer_async(self, source_id: str) -> str:
        with self._lock:
            found = self._values.get(source_id)
        if found is not None:
            return found
        settings, content_types = self._one_off(source_id)
        report = await self.resolver.resolve_report_async(settings, content_types=content_types)
        return self._one_off_value(source_id, report)

    def _one_off_value(self, source_id: str, report: ResolutionReport) -> str:
        report.raise_for_failures()
        value = str(report.values[source_id])
        with self._lock:
            self._values[source_id] = value
        return value


class _AsyncCallback:
    """The aio provider awaits what its ``secret_resolver`` returns: this hands it :meth:`resolve_async`."""

    def __init__(self, owner: ProviderSecretResolver) -> None:
        self._owner = owner

    def __call__(self, source_id: str) -> Awaitable[str]:
        return self._owner.resolve_async(source_id)


def load(
    *,
    endpoint: str | None = None,
    connection_string: str | None = None,
    credential: Any = None,
    resolver: SecretResolver | None = None,
    pipeline: bool = True,
    trusted_hosts: Sequence[str] = (),
    **provider_options: Any,
) -> AzureAppConfigurationProvider:
    """``azure.appconfiguration.provider.load`` with Key Vault references resolved by kvconfig.

    ``resolver`` is the :class:`~kvconfig.SecretResolver` to use (default: one built on ``credential``, which then
    also serves Key Vault). ``pipeline`` starts each page's references resolving as the page arrives (see
    :class:`ProviderSecretResolver`). Other keyword arguments go to the provider unchanged (``selects``, ``refresh_on``,
    ``trim_prefixes``, ``transport``...). The resolver stays open for the provider's refreshes; close it with the
    provider's configuration when you own it.

    The store's host must be an App Configuration store's (the Azure clouds', the loopback emulator's) or listed in
    ``trusted_hosts`` (which the default resolver also trusts for vaults): otherwise
    :class:`~kvconfig.sources.UntrustedStoreError`, before the provider or a credential sees it.
    """
    from azure.appconfiguration.provider import load as provider_load

    hook, connection_string = _checked_hook(endpoint, connection_string, credential, resolver, pipeline, trusted_hosts)
    options = hook.provider_options(**provider_options)
    if connection_string is not None:
        return provider_load(connection_string=connection_string, **options)
    return provider_load(endpoint=endpoint, credential=credential, **options)


async def load_async(
    *,
    endpoint: str | None = None,
    connection_string: str | None = None,
    credential: Any = None,
    resolver: SecretResolver | None = None,
    pipeline: bool = True,
    trusted_hosts: Sequence[str] = (),
    **provider_options: Any,
) -> AsyncAzureAppConfigurationProvider:
    """The aio twin of :func:`load` (``azure.appconfiguration.provider.aio.load``)."""
    from azure.appconfiguration.provider.aio import load as provider_load

    hook, connection_string = _checked_hook(endpoint, connection_string, credential, resolver, pipeline, trusted_hosts)
    options = hook.provider_options(**provider_options)
    options["secret_resolver"] = _AsyncCallback(hook)
    if connection_string is not None:
        return await provider_load(connection_string=connection_string, **options)
    return await provider_load(endpoint=endpoint, credential=credential, **options)


def _checked_hook(
    endpoint: str | None,
    connection_string: str | None,
    credential: Any,
    resolver: SecretResolver | None,
    pipeline: bool,
    trusted_hosts: Sequence[str],
) -> tuple[ProviderSecretResolver, str | None]:
    """The hook of :func:`load` and :func:`load_async`, once the store is known trusted
    (:class:`~kvconfig.sources.StoreAddress`'s rule; with neither an endpoint nor a connection string, the provider
    reports what is missing itself), and the connection string to hand the provider: the one checked, in the SDK's
    form (``Endpoint=`` first: the provider takes its first part's value as the endpoint of its replica discovery)."""
    named = connection_string if connection_string is not None else endpoint
    if named is not None:
        address = StoreAddress.parse(named, trusted_hosts=trusted_hosts)
        if connection_string is not None and address.connection_string is not None:
            connection_string = address.connection_string
    credential = None if resolver is not None else credential  # a resolver given brings its own
    hook = ProviderSecretResolver(resolver, credential=credential, pipeline=pipeline, trusted_hosts=trusted_hosts)
    return hook, connection_string
