"""``FakeKeyVault.patch()``: moto-style interception for code that builds its own SDK clients and credentials.

While active, azure-core's default transports (requests-based sync, aiohttp-based async) serve Key Vault hosts from
the fake and refuse every other host, so a test can never reach the real network by accident; and azure-identity's
credentials return the fake's tokens. Everything is restored on exit, also when the block raises.

The patching is process-wide, so active patches form one stack: the first to start installs the replacements, the
newest active one serves (its fake, its identity), and the last to stop restores the originals, in whatever order
they stop. Nesting a patch (of the same fake or of another one) therefore works as a ``with`` block reads, and
patches started and stopped out of order (fixtures, threads) never leave a replacement behind.

A patch can serve other fakes too (``also=``, :class:`ServedHosts`): ``FakeAppConfiguration.patch()`` serves its
stores' hosts, and the fake Key Vault's when it shares one. While such a patch is active, dnspython's SRV lookups of
those hosts (the App Configuration provider's replica discovery) answer "no such name" without a DNS query.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar, cast
from unittest import mock

from azure.core.exceptions import ServiceRequestError

from kvconfig.fake.control.tokens import FakeCredential, Identity, TokenAuthority
from kvconfig.fake.core.clouds import match_domain
from kvconfig.fake.serve.host import Dispatcher, ServedService
from kvconfig.fake.serve.transport import FakeAsyncTransport, FakeTransport, to_fake_request

__all__ = ["PATCHED_CREDENTIALS", "FakePatch", "ServedHosts"]

F = TypeVar("F", bound=Callable[..., Any])

_SYNC_TRANSPORTS = (("azure.core.pipeline.transport", "RequestsTransport"),)
_ASYNC_TRANSPORTS = (
    ("azure.core.pipeline.transport", "AioHttpTransport"),
    ("azure.core.pipeline.transport", "AsyncioRequestsTransport"),
)
PATCHED_CREDENTIALS = (
    "DefaultAzureCredential",
    "ManagedIdentityCredential",
    "ClientSecretCredential",
    "CertificateCredential",
    "WorkloadIdentityCredential",
    "AzureCliCredential",
    "AzureDeveloperCliCredential",
    "AzurePowerShellCredential",
    "EnvironmentCredential",
    "ChainedTokenCredential",
    "ClientAssertionCredential",
    "InteractiveBrowserCredential",
    "DeviceCodeCredential",
    "SharedTokenCacheCredential",
)


def _blocked(url: str) -> ServiceRequestError:
    return ServiceRequestError(
        f"kvconfig's fake Key Vault is patched in and refused a request to {url}: only Key Vault hosts are served "
        "while FakeKeyVault.patch() is active (and App Configuration hosts under FakeAppConfiguration.patch()), so "
        "tests never reach the real network."
    )


@dataclass(frozen=True)
class ServedHosts:
    """Another fake a patch serves: which hosts are its (``host`` or ``host:port``) and the service answering them."""

    serves: Callable[[str], bool]
    service: Dispatcher


class FakePatch(contextlib.AbstractContextManager["FakePatch"]):
    """The context manager (and decorator) returned by :meth:`FakeKeyVault.patch`."""

    def __init__(
        self,
        fake: ServedService | None,
        identity: Identity,
        *,
        also: Sequence[ServedHosts] = (),
        tokens: TokenAuthority | None = None,
    ) -> None:
        if fake is None and (tokens is None or not also):
            raise ValueError("A patch without a fake Key Vault needs the tokens and the hosts it serves.")
        self.fake = fake
        self.identity = identity
        self.also = tuple(also)
        self._tokens: TokenAuthority = tokens if tokens is not None else fake.tokens  # type: ignore[union-attr]
        first: Dispatcher = fake if fake is not None else self.also[0].service
        # Sleeps (retry back-off, poller intervals) move the first service's clock, as its own transport would.
        self._transport = FakeTransport(first)
        self._async_transport = FakeAsyncTransport(first)
        self._others = [
            (entry.serves, FakeTransport(entry.service), FakeAsyncTransport(entry.service)) for entry in self.also
        ]
        self._issuer = FakeCredential(self._tokens, identity)

    # -- context manager -------------------------------------------------------------------------------------------

    def start(self) -> FakePatch:
        with _LOCK:
            if any(active is self for active in _ACTIVE):
                raise RuntimeError("This FakeKeyVault.patch() is already active.")
            if not _ACTIVE:
                _install()
            if self.also:
                _patch_dns()
            _ACTIVE.append(self)
        return self

    def stop(self) -> None:
        global _INSTALLED
        with _LOCK:
            if not any(active is self for active in _ACTIVE):
                return
            _ACTIVE[:] = [active for active in _ACTIVE if active is not self]
            if not _ACTIVE and _INSTALLED is not None:
                installed, _INSTALLED = _INSTALLED, None
                _DNS_PATCHED.clear()
                installed.close()

    def __enter__(self) -> FakePatch:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __call__(self, func: F) -> F:
        """Use as a decorator on functions, coroutine functions and (async) generator functions: the patch is active
        while each call runs (for a generator, from its first step until it finishes or is closed)."""
        if inspect.isasyncgenfunction(func):

            @functools.wraps(func)
            async def async_generator_wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
                with self._twin():
                    inner = func(*args, **kwargs)
                    try:
                        value = await inner.__anext__()
                        while True:
                            try:
                                sent = yield value
                            except GeneratorExit:
                                raise
                            except BaseException as exc:
                                value = await inner.athrow(exc)
                            else:
                                value = await inner.asend(sent)
                    except StopAsyncIteration:
                        return
                    finally:
                        await inner.aclose()

            return cast(F, async_generator_wrapper)

        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def generator_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
                with self._twin():
                    return (yield from func(*args, **kwargs))

            return cast(F, generator_wrapper)

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._twin():
                    return await func(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._twin():
                return func(*args, **kwargs)

        return cast(F, wrapper)

    def _twin(self) -> FakePatch:
        """A new patch like this one (each decorated call starts and stops its own)."""
        return FakePatch(self.fake, self.identity, also=self.also, tokens=self._tokens)

    def serves_host(self, host: str) -> bool:
        """Whether one of the fakes of this patch answers ``host`` (``host`` or ``host:port``)."""
        return self._route(host) is not None

    def _route(self, host: str) -> tuple[FakeTransport, FakeAsyncTransport] | None:
        if self.fake is not None and match_domain(host, self.fake.domains) is not None:
            return self._transport, self._async_transport
        for serves, transport, async_transport in self._others:
            if serves(host):
                return transport, async_transport
        return None

    def _route_url(self, url: str) -> tuple[FakeTransport, FakeAsyncTransport] | None:
        request = to_fake_request(_UrlOnly(url))
        _scheme, hostname, _path, port = request.parts
        return self._route(hostname if port in (None, 443) else f"{hostname}:{port}")

    def _is_vault(self, url: str) -> bool:
        return self._route_url(url) is not None


# -- the process-wide replacements, serving the newest active patch -------------------------------------------------

_LOCK = threading.RLock()
_ACTIVE: list[FakePatch] = []  # started and not stopped, oldest first
_INSTALLED: contextlib.ExitStack | None = None


def _serving() -> FakePatch:
    with _LOCK:
        if not _ACTIVE:
            # A call that entered a replacement just as the last patch stopped.
            raise ServiceRequestError("kvconfig's fake Key Vault was unpatched while this request was being sent.")
        return _ACTIVE[-1]


def _install() -> None:
    global _INSTALLED
    stack = contextlib.ExitStack()
    try:
        _patch_transports(stack)
        _patch_credentials(stack)
    except BaseException:
        stack.close()
        raise
    _INSTALLED = stack


def _patch_transports(stack: contextlib.ExitStack) -> None:
    def send(transport: Any, request: Any, **kwargs: Any) -> Any:
        route = _serving()._route_url(request.url)
        if route is None:
            raise _blocked(request.url)
        return route[0].send(request, **kwargs)

    async def async_send(transport: Any, request: Any, **kwargs: Any) -> Any:
        route = _serving()._route_url(request.url)
        if route is None:
            raise _blocked(request.url)
        _as_aiohttp_sends(transport, request)
        return await route[1].send(request, **kwargs)

    # The SDK waits (retry back-off, Retry-After, poller intervals) through its transport's sleep(): on the fake
    # they move a ManualClock and cost no wall time, as with fake.transport().
    def sleep(transport: Any, duration: float) -> None:
        _serving()._transport.sleep(duration)

    async def async_sleep(transport: Any, duration: float) -> None:
        await _serving()._async_transport.sleep(duration)

    for module_name, class_name in _SYNC_TRANSPORTS:
        cls = _optional(module_name, class_name)
        if cls is not None:
            stack.enter_context(mock.patch.object(cls, "send", send))
            stack.enter_context(mock.patch.object(cls, "sleep", sleep))
    for module_name, class_name in _ASYNC_TRANSPORTS:
        cls = _optional(module_name, class_name)
        if cls is not None:
            stack.enter_context(mock.patch.object(cls, "send", async_send))
            stack.enter_context(mock.patch.object(cls, "sleep", async_sleep))


def _as_aiohttp_sends(transport: Any, request: Any) -> None:
    """The URL as aiohttp puts it on the wire: yarl re-quotes it (``%3A`` becomes ``:``), and signatures made for
    aiohttp (App Configuration's HMAC) are made over that form."""
    aiohttp_transport = _optional("azure.core.pipeline.transport", "AioHttpTransport")
    if aiohttp_transport is None or not isinstance(transport, aiohttp_transport):
        return
    try:
        from yarl import URL
    except ImportError:  # pragma: no cover - aiohttp depends on yarl
        return
    request.url = str(URL(request.url))


def _patch_credentials(stack: contextlib.ExitStack) -> None:
    def init(credential: Any, *args: Any, **kwargs: Any) -> None:
        # Production code passes tenant ids, client ids, secrets, certificates: none of it matters here, and
        # credentials that read the environment (workload identity, environment) must not fail without it.
        credential._kvconfig_fake = True
        # The credential's own close() would fail on the state this init never made: closing stays harmless after
        # the patch ends (a resolver or client made under the patch and closed later, or collected).
        credential.close = _close_nothing

    def async_init(credential: Any, *args: Any, **kwargs: Any) -> None:
        credential._kvconfig_fake = True
        credential.close = _aclose_nothing

    # The Key Vault clients ask for the tenant of the vault's challenge: the token is issued in it, as for a
    # credential allowed every tenant (the vault refuses a token of another tenant).
    def get_token(credential: Any, *scopes: str, **kwargs: Any) -> Any:
        return _serving()._issuer.get_token(*scopes, tenant_id=kwargs.get("tenant_id"))

    def get_token_info(credential: Any, *scopes: str, options: Any = None) -> Any:
        return _serving()._issuer.get_token_info(*scopes, options=options)

    def close(credential: Any) -> None:
        pass

    async def async_get_token(credential: Any, *scopes: str, **kwargs: Any) -> Any:
        return _serving()._issuer.get_token(*scopes, tenant_id=kwargs.get("tenant_id"))

    async def async_get_token_info(credential: Any, *scopes: str, options: Any = None) -> Any:
        return _serving()._issuer.get_token_info(*scopes, options=options)

    async def async_close(credential: Any) -> None:
        pass

    for module_name, constructor, methods in (
        ("azure.identity", init, {"get_token": get_token, "get_token_info": get_token_info, "close": close}),
        (
            "azure.identity.aio",
            async_init,
            {"get_token": async_get_token, "get_token_info": async_get_token_info, "close": async_close},
        ),
    ):
        for class_name in PATCHED_CREDENTIALS:
            cls = _optional(module_name, class_name)
            if cls is None:
                continue
            stack.enter_context(mock.patch.object(cls, "__init__", constructor))
            for method_name, replacement in methods.items():
                stack.enter_context(mock.patch.object(cls, method_name, replacement))


# -- DNS: the App Configuration provider looks up SRV records of a store's replicas --------------------------------

_DNS_PATCHED: set[str] = set()  # which dnspython entry points the installed stack replaced


def _served_name(name: object) -> bool:
    """Whether a DNS query name (``_origin._tcp.<host>``, ``_alt0._tcp.<host>``) is of a host the patch serves."""
    text = str(name).rstrip(".").lower()
    host = text.split("._tcp.", 1)[1] if "._tcp." in text else text
    with _LOCK:
        return bool(_ACTIVE) and _ACTIVE[-1].serves_host(host)


def _patch_dns() -> None:
    """Answer SRV lookups of served hosts with NXDOMAIN (no replicas), without a query; called under ``_LOCK``."""
    if _INSTALLED is None or "dns" in _DNS_PATCHED:
        return
    resolver = _optional_module("dns.resolver")
    if resolver is None:
        return
    _DNS_PATCHED.add("dns")
    original = resolver.resolve

    def resolve(qname: Any, *args: Any, **kwargs: Any) -> Any:
        if _served_name(qname):
            raise resolver.NXDOMAIN()
        return original(qname, *args, **kwargs)

    _INSTALLED.enter_context(mock.patch.object(resolver, "resolve", resolve))
    async_resolver = _optional_module("dns.asyncresolver")
    if async_resolver is None:
        return
    async_original = async_resolver.resolve

    async def async_resolve(qname: Any, *args: Any, **kwargs: Any) -> Any:
        if _served_name(qname):
            raise resolver.NXDOMAIN()
        return await async_original(qname, *args, **kwargs)

    _INSTALLED.enter_context(mock.patch.object(async_resolver, "resolve", async_resolve))


def _optional_module(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ImportError:
        return None


def _close_nothing() -> None:
    pass


async def _aclose_nothing() -> None:
    pass


class _UrlOnly:
    """Just enough of a request for ``to_fake_request`` to read its URL."""

    method = "GET"
    headers: dict[str, str] = {}
    content = b""

    def __init__(self, url: str) -> None:
        self.url = url


def _optional(module_name: str, class_name: str) -> type[Any] | None:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    found = getattr(module, class_name, None)
    return found if isinstance(found, type) else None
