"""Route table machinery: ``(method, path template) -> operation``, and the context an operation runs in.

Templates use ``{name}`` for a path parameter and ``{version?}`` for an optional trailing version; literal segments
match case-insensitively (the service accepts ``wrapKey`` and ``wrapkey`` alike). An empty version segment
(``/secrets/s1/`` or ``/keys/k1//release``) means "latest", as the SDK sends it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kvconfig.fake.core.api_versions import at_least
from kvconfig.fake.core.clock import Clock
from kvconfig.fake.core.clouds import VaultDomain
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.identity import Identity
from kvconfig.fake.core.records import RequestRecord, UnhandledErrors
from kvconfig.fake.core.state import IdGenerator, Vault, VaultKind
from kvconfig.fake.core.wire import FakeRequest

__all__ = [
    "FaultPicker",
    "InjectedFault",
    "ObjectEvents",
    "OperationContext",
    "Route",
    "RouteTable",
    "ServiceHost",
    "TickHook",
    "TokenVerifier",
    "progress_time",
]

Handler = Callable[["OperationContext"], object]
_PARAM = re.compile(r"\{(\w+)(\?)?\}")


@dataclass(frozen=True)
class Route:
    """One REST operation of the service.

    ``handler`` is ``None`` for operations the fake knows about but does not implement yet: those answer
    ``FakeVaultNotImplementedError`` rather than pretending to succeed.
    """

    method: str
    template: str
    operation: str
    handler: Handler | None
    success: int = 200
    kinds: frozenset[VaultKind] = frozenset({"vault"})
    since: str = "2016-10-01"
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _compile(self.template))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {key: value or "" for key, value in found.groupdict().items()}


def _compile(template: str) -> re.Pattern[str]:
    pieces: list[str] = []
    position = 0
    for param in _PARAM.finditer(template):
        literal = template[position : param.start()]
        optional = bool(param.group(2))
        if optional:
            # "/{version?}" at the end: the slash and the segment may both be absent.
            if not literal.endswith("/"):
                raise ValueError(f"optional parameter must follow a slash in {template!r}")
            pieces.append(f"(?i:{re.escape(literal[:-1])})" if literal[:-1] else "")
            pieces.append(f"(?:/(?P<{param.group(1)}>[^/]*))?")
        else:
            pieces.append(f"(?i:{re.escape(literal)})" if literal else "")
            pieces.append(f"(?P<{param.group(1)}>[^/]*)")
        position = param.end()
    tail = template[position:]
    if tail:
        pieces.append(f"(?i:{re.escape(tail)})")
    return re.compile("".join(pieces))


class RouteTable:
    """All routes, matched in order (specific literals such as ``/secrets/restore`` come before templates)."""

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self.routes: list[Route] = list(routes)
        self._view = _View([])

    def extend(self, routes: Iterable[Route]) -> None:
        self.routes.extend(routes)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        # Clients repeat the same paths: remember each (method, path)'s answer until the table changes. The index
        # and the answers live in one view, replaced whole when the table changes, so an answer computed from an
        # older table while another thread re-indexes goes into the old view and is never served again. Callers get
        # their own copy of the parameters.
        view = self._view
        if view.routes != self.routes:
            view = self._view = _View(list(self.routes))
        key = (method, path)
        memo = view.memo
        try:
            found = memo[key]
        except KeyError:
            found = view.match(method, path)
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[key] = found
        if found is None:
            return None
        return found[0], dict(found[1])

    def allowed_methods(self, path: str) -> list[str]:
        return sorted({route.method for route in self.routes if route.pattern.fullmatch(path)})


_MEMO_SIZE = 4096


class _View:
    """The routes of one state of the table, indexed by method and first path segment, and the answers so far."""

    def __init__(self, routes: list[Route]) -> None:
        index: dict[tuple[str, str], list[Route]] = {}
        wildcards: dict[str, list[Route]] = {}
        for route in routes:
            first = _first_literal(route.template)
            if first is not None:
                index.setdefault((route.method, first), [])
        for route in routes:
            first = _first_literal(route.template)
            for (method, segment), bucket in index.items():
                if method == route.method and first in (segment, None):
                    bucket.append(route)
            if first is None:
                wildcards.setdefault(route.method, []).append(route)
        self.routes = routes
        self.index = index
        self.wildcards = wildcards
        self.memo: dict[tuple[str, str], tuple[Route, dict[str, str]] | None] = {}

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        # Only the routes of the path's first segment (and method) are tried, in table order: matching every
        # template in turn was a visible share of each request.
        first = path.lstrip("/").split("/", 1)[0].lower()
        candidates = self.index.get((method, first))
        if candidates is None:
            candidates = self.wildcards.get(method, [])
        for route in candidates:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None


def _first_literal(template: str) -> str | None:
    """The template's first path segment in lower case, or None when it is a parameter."""
    first = template.lstrip("/").split("/", 1)[0]
    return None if "{" in first else first.lower()


# -- the service, as the layers below the face see it ---------------------------------------------------------------


class TokenVerifier(Protocol):
    def verify(self, token: str, resource: str, tenant: str | None = None) -> Identity | None:
        """The caller a bearer token names (None for a foreign token); 401 ``ServiceError`` for a bad one of ours,
        or one issued in a tenant other than ``tenant`` (the vault's)."""
        ...


class InjectedFault(Protocol):
    @property
    def delay(self) -> float: ...

    def fire(self) -> None:
        """Raise what the fault stands for (a ``ServiceError`` or a ``ConnectionFault``)."""
        ...


class FaultPicker(Protocol):
    def pick(self, request: FakeRequest, operation: str, vault: str, identity: str | None) -> InjectedFault | None: ...


class ObjectEvents(Protocol):
    def object_changed(
        self, vault: Vault, object_type: str, name: str, version: str, *, nbf: int | None, exp: int | None
    ) -> object:
        """Publish that an object got a new version made outside a request (renewal, rotation)."""
        ...


TickHook = Callable[["ServiceHost", Vault, float], None]


class ServiceHost(Protocol):
    """What the router, the control hooks and the operations need from the service (``FakeKeyVault`` is one).

    Lower layers are handed this, never the ``FakeKeyVault`` class, so imports only run downhill: the face composes
    the layers, and each layer knows only the narrow surface it uses.
    """

    @property
    def clock(self) -> Clock: ...

    @property
    def ids(self) -> IdGenerator: ...

    @property
    def tokens(self) -> TokenVerifier: ...

    @property
    def faults(self) -> FaultPicker: ...

    @property
    def events(self) -> ObjectEvents: ...

    @property
    def routes(self) -> RouteTable: ...

    @property
    def operation_counts(self) -> Counter[str]: ...

    @property
    def listeners(self) -> list[Callable[[RequestRecord], None]]: ...

    @property
    def authorizers(self) -> list[Callable[[OperationContext], None]]: ...

    @property
    def tick_hooks(self) -> list[TickHook]: ...

    @property
    def unhandled_errors(self) -> UnhandledErrors: ...

    @property
    def skipped_waits(self) -> float:
        """Seconds the SDK asked to wait (``transport.sleep``) that the fake did not spend; each wait counts >= 1 s."""
        ...

    def locate_vault(self, host: str) -> tuple[Vault, VaultDomain] | None: ...

    def locate_existing_vault(self, host: str) -> Vault | None: ...

    def vault(self, name: str, *, cloud: str = "vault.azure.net") -> Vault: ...

    def request_counter(self) -> int: ...


def progress_time(service: ServiceHost) -> float:
    """The clock that work taking time in the service (a soft delete, certificate issuance) is measured on: the
    fake's clock plus the SDK waits the fake skipped. So an SDK poller sees the work end without real sleeping,
    whatever the clock, and a test moving a ``ManualClock`` ends it too."""
    return service.clock.now() + service.skipped_waits


# -- one operation's context -----------------------------------------------------------------------------------------


@dataclass
class OperationContext:
    """Everything an operation needs: the vault, the request, its parameters, the time, the caller.

    ``version_id`` presets the id of the version the operation makes (seeding keeps the ids a seed names); without
    it, :meth:`new_version` asks the fake's id generator.
    """

    service: ServiceHost
    vault: Vault
    request: FakeRequest
    route: Route
    params: Mapping[str, str]
    api_version: str
    now: int
    identity: Identity | None
    version_id: str | None = None
    # Headers the operation adds to its success response (``Retry-After`` on a pending certificate operation).
    response_headers: dict[str, str] = field(default_factory=dict)
    _body: Any = field(default=None, repr=False)
    _parsed: bool = field(default=False, repr=False)

    def param(self, name: str) -> str:
        return self.params.get(name, "")

    @property
    def query(self) -> dict[str, str]:
        return self.request.query

    def api_at_least(self, version: str) -> bool:
        return at_least(self.api_version, version)

    def body(self) -> dict[str, Any]:
        """The JSON request body as an object; 400 BadParameter when it is missing or not an object."""
        if not self._parsed:
            self._parsed = True
            if not self.request.body:
                self._body = {}
            else:
                try:
                    self._body = json.loads(self.request.body)
                except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: '[' * 3000
                    raise ServiceError.malformed_body() from exc
        if not isinstance(self._body, dict):
            raise ServiceError.malformed_body()
        return self._body

    def deletion_finish(self) -> float | None:
        """When a soft delete (or a recovery) made now finishes on the progress clock (:func:`progress_time`): the
        service takes about as long for both (a poll interval in its recordings), so one ``deletion_delay`` times
        both. ``None``: at once (the vault has no deletion window, or no soft delete)."""
        props = self.vault.properties
        if not props.soft_delete or props.deletion_delay <= 0:
            return None
        return progress_time(self.service) + props.deletion_delay

    def new_version(self) -> str:
        """The id of the operation's new version: the preset ``version_id`` the first time, else a fresh one."""
        preset, self.version_id = self.version_id, None
        return preset.lower() if preset else self.service.ids.new_version()
