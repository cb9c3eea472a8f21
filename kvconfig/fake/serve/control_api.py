"""The emulator's control API: JSON over HTTPS at ``https://localhost:<port>/_kvconfig/...`` for tests in any language.

Move the clock, add and clear faults, set throttling, seed and dump, read the audit log and the events, list vaults,
objects and versions (``docs/emulator.md`` has the table). Served on the emulator's own host only, never on a vault
host. Who may call it:

- loopback peers; a peer beyond loopback only with the configured control token (``Authorization: Bearer ...``,
  compared in constant time), and never without one, whatever ``--allow-remote`` says;
- no browser page of another origin: a request whose ``Origin`` is not the emulator's own gets 403, and requests
  that change something must be ``Content-Type: application/json`` (which a cross-site form cannot send without a
  CORS preflight this API never answers).

Values leave only when asked: ``GET /_kvconfig/dump`` needs ``?reveal=1``, listings show metadata unless
``?reveal=1``. With App Configuration stores served, ``/_kvconfig/appconfig/...`` lists, seeds and removes them
(``store_control.py``), ``seed`` takes an ``appconfig`` part and ``dump`` writes one. Bad input gets a 4xx with
``{"error": {"code", "message"}}``, never a 500.
"""

from __future__ import annotations

import hmac
import math
import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Protocol

from kvconfig.fake.control.audit import AuditLog
from kvconfig.fake.control.events import EventHub
from kvconfig.fake.control.faults import Fault, FaultSet
from kvconfig.fake.core.clock import Clock, ManualClock, OffsetClock
from kvconfig.fake.core.clouds import valid_vault_name
from kvconfig.fake.core.seeding import SeedError
from kvconfig.fake.core.state import Vault
from kvconfig.fake.core.wire import FakeRequest, FakeResponse, json_response
from kvconfig.fake.serve.control_requests import Refused, error_response, json_body, limit_of, only, reveal_asked
from kvconfig.fake.serve.host import ServedService
from kvconfig.fake.serve.inventory import KINDS, object_detail, vault_detail, vault_summary
from kvconfig.fake.serve.store_control import StoreControl
from kvconfig.fake.serve.tls import is_loopback_address

__all__ = ["PREFIX", "ControlApi", "ControlledService"]

PREFIX = "/_kvconfig/"
_MAX_ADVANCE = 200 * 366 * 86400.0
_CHANGES = frozenset({"POST", "PUT", "DELETE"})
_FAULT_FIELDS = {
    "status": (int,),
    "error": (str,),
    "retry_after": (int, float),
    "times": (int, type(None)),
    "operation": (str,),
    "vault": (str,),
    "identity": (str,),
    "probability": (int, float),
    "seed": (int,),
    "delay": (int, float),
}
_OBJECT = re.compile(r"^vaults/(?P<vault>[^/]+)/(?P<kind>secrets|keys|certificates)/(?P<name>[0-9A-Za-z-]{1,127})/?$")


class ControlledService(ServedService, Protocol):
    """What the control API drives (``FakeKeyVault`` is one)."""

    @property
    def faults(self) -> FaultSet: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def events(self) -> EventHub: ...

    @property
    def clock(self) -> Clock: ...

    @clock.setter
    def clock(self, clock: Clock) -> None: ...

    def throttle(
        self,
        vault: str,
        *,
        enabled: bool = True,
        limit: int | None = None,
        limits: Mapping[str, int] | None = None,
        window: float = 10.0,
    ) -> None: ...

    def seed(self, data: Mapping[str, Any]) -> None: ...

    def dump(self) -> dict[str, Any]: ...

    def tick(self) -> None: ...

    def locate_existing_vault(self, host: str) -> Vault | None: ...


class ControlApi:
    """The ``/_kvconfig/...`` endpoints of one emulator. ``on_change`` runs after every change (the data folder
    saves there); ``control_token`` lets peers beyond loopback in when they present it."""

    def __init__(
        self,
        fake: ControlledService,
        *,
        control_token: str | None = None,
        on_change: Callable[[], None] | None = None,
        persistent: bool = False,
        stores: StoreControl | None = None,
    ) -> None:
        self.fake = fake
        self.stores = stores  # the App Configuration endpoints (store_control.py), when the emulator serves stores
        self._token = control_token.encode() if control_token else None
        self.on_change = on_change
        self.persistent = persistent
        self._fault_ids: list[tuple[str, Fault]] = []
        self._next_fault = 1
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ControlApi({self.fake!r})"

    def set_token(self, control_token: str | None) -> None:
        """Let peers beyond loopback in when they present ``control_token`` (``None``: loopback only)."""
        self._token = control_token.encode() if control_token else None

    def handle(self, request: FakeRequest, peer: str | None) -> FakeResponse | None:
        """Answer a control request on the emulator's own host; ``None`` for paths that are not the control API's."""
        _, _, path, port = request.parts
        if not path.startswith(PREFIX):
            return None
        route = path[len(PREFIX) :]
        method = request.method.upper()
        try:
            if route.rstrip("/") == "health":
                return json_response(200, self._health(port))
            if not _ROUTES.match(route):
                return None
            self._admit(request, peer, port)
            return self._dispatch(method, route, request, port)
        except Refused as refused:
            return error_response(refused.status, refused.code, refused.message)

    # -- who may call ----------------------------------------------------------------------------------------------

    def _admit(self, request: FakeRequest, peer: str | None, port: int | None) -> None:
        if not is_loopback_address(peer):
            presented = (request.header("Authorization") or "").removeprefix("Bearer ").strip().encode()
            if self._token is None or not hmac.compare_digest(presented, self._token):
                raise Refused(
                    403,
                    "Forbidden",
                    "The control API answers loopback peers only, or peers presenting the emulator's control token.",
                )
        origin = request.header("Origin")
        if origin is not None and origin.lower().rstrip("/") not in _own_origins(port):
            raise Refused(403, "Forbidden", f"Requests from the origin {origin} may not drive the emulator.")
        if request.method.upper() in ("POST", "PUT"):
            content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
            if content_type != "application/json":
                raise Refused(415, "UnsupportedMediaType", "Send the body as Content-Type: application/json.")

    # -- routing ---------------------------------------------------------------------------------------------------

    def _dispatch(self, method: str, route: str, request: FakeRequest, port: int | None) -> FakeResponse:
        parts = route.strip("/").split("/")
        head = parts[0]
        result: tuple[int, Any]
        if head == "clock" and len(parts) == 1:
            result = self._clock(method, request)
        elif head == "faults":
            result = self._faults(method, parts[1:], request)
        elif head == "seed" and len(parts) == 1:
            result = self._seed(method, request, port)
        elif head == "dump" and len(parts) == 1:
            result = self._dump(method, request, port)
        elif head in ("audit", "events") and len(parts) == 1:
            result = self._log(method, head, request)
        elif head == "vaults":
            result = self._vaults(method, parts[1:], route, request, port)
        elif head == "appconfig":
            if self.stores is None:
                raise Refused(
                    404, "NoStores", "This emulator serves no App Configuration stores (start it with --appconfig)."
                )
            result = self.stores.handle(method, parts[1:], request)
        else:
            raise Refused(404, "NotFound", f"{PREFIX}{route} is not part of the control API.")
        if method in _CHANGES and self.on_change is not None:
            self.on_change()
        status, payload = result
        return json_response(status, payload)

    # -- endpoints -------------------------------------------------------------------------------------------------

    def _health(self, port: int | None) -> dict[str, Any]:
        tail = "localhost" if port in (None, 443) else f"localhost:{port}"
        return {
            "status": "ok",
            "vaults": f"https://<vault>.{tail}",
            "clock": self._clock_state(),
            "persistent": self.persistent,
            **({"stores": f"https://<store>.{self.stores.domain}"} if self.stores is not None else {}),
        }

    def _clock_state(self) -> dict[str, Any]:
        clock = self.fake.clock
        now = float(clock.now())
        kind = "manual" if isinstance(clock, ManualClock) else "offset" if isinstance(clock, OffsetClock) else "system"
        iso = datetime.fromtimestamp(now, tz=timezone.utc).isoformat().replace("+00:00", "Z")
        offset = clock.offset if isinstance(clock, OffsetClock) else 0.0 if kind == "system" else None
        return {"now": now, "iso": iso, "kind": kind, "offset": offset}

    def _clock(self, method: str, request: FakeRequest) -> tuple[int, Any]:
        if method == "GET":
            return 200, self._clock_state()
        only(method, "GET", "POST")
        body = json_body(request)
        if set(body) not in ({"advance"}, {"set"}):
            raise Refused(400, "BadParameter", 'Give exactly one of {"advance": seconds} or {"set": time}.')
        if "advance" in body:
            seconds = _number(body["advance"], "advance")
            if not 0 <= seconds <= _MAX_ADVANCE:
                raise Refused(400, "BadParameter", "advance must be 0 to 200 years of seconds (time only moves on).")
        else:
            when = _instant(body["set"])
        with self._lock:
            clock = self.fake.clock
            if not isinstance(clock, (ManualClock, OffsetClock)):
                clock = self.fake.clock = OffsetClock()
            if "advance" in body:
                clock.advance(seconds)
            else:
                clock.set(when)
        self.fake.tick()
        return 200, self._clock_state()

    def _faults(self, method: str, rest: list[str], request: FakeRequest) -> tuple[int, Any]:
        if rest:
            only(method, "DELETE")
            with self._lock:
                found = [fault for fault_id, fault in self._fault_ids if fault_id == rest[0]]
            if len(rest) != 1 or not found:
                raise Refused(404, "FaultNotFound", f"There is no fault {'/'.join(rest)}.")
            found[0].remove()
            return 200, {"removed": 1}
        if method == "GET":
            return 200, {"value": [self._fault_wire(fault) for fault in self.fake.faults]}
        if method == "DELETE":
            removed = len(self.fake.faults)
            self.fake.faults.clear()
            return 200, {"removed": removed}
        only(method, "GET", "POST", "DELETE")
        body = json_body(request)
        unknown = set(body) - set(_FAULT_FIELDS)
        if unknown:
            raise Refused(400, "BadParameter", f"Unknown fault member(s): {', '.join(sorted(unknown))}.")
        for name, value in body.items():
            if not isinstance(value, _FAULT_FIELDS[name]) or isinstance(value, bool):
                raise Refused(400, "BadParameter", f"The fault member {name!r} has the wrong type.")
        if body.get("error") not in (None, "timeout", "drop"):
            raise Refused(400, "BadParameter", 'error must be "timeout" or "drop".')
        for name in ("retry_after", "delay"):
            if name in body and not 0 <= float(body[name]) <= 3600:
                raise Refused(400, "BadParameter", f"{name} must be 0 to 3600 seconds.")
        if "times" in body and body["times"] is not None and body["times"] < 1:
            raise Refused(400, "BadParameter", "times must be at least 1 (or null: always).")
        try:
            fault = self.fake.faults.add(Fault(**body))
        except ValueError as exc:
            raise Refused(400, "BadParameter", str(exc)) from None
        return 201, self._fault_wire(fault)

    def _fault_wire(self, fault: Fault) -> dict[str, Any]:
        with self._lock:
            fault_id = next((known for known, item in self._fault_ids if item is fault), None)
            if fault_id is None:
                fault_id = str(self._next_fault)
                self._next_fault += 1
                self._fault_ids = [(known, item) for known, item in self._fault_ids if item in list(self.fake.faults)]
                self._fault_ids.append((fault_id, fault))
        wire = {name: getattr(fault, name) for name in _FAULT_FIELDS}
        return {"id": fault_id, **wire, "hits": fault.hits, "predicate": fault.predicate is not None}

    def _seed(self, method: str, request: FakeRequest, port: int | None) -> tuple[int, Any]:
        only(method, "POST")
        body = json_body(request)
        vaults = body.get("vaults")
        if isinstance(vaults, Mapping):
            body = {**body, "vaults": {_vault_host(name, port): content for name, content in vaults.items()}}
        stores = body.pop("appconfig", None)
        if stores is not None and self.stores is None:
            raise Refused(
                400, "BadSeed", "This emulator serves no App Configuration stores: 'appconfig' needs --appconfig."
            )
        # The store names are checked before the vaults are loaded: a name refused leaves everything as it was.
        store_hosts = self.stores.hosts_of({"appconfig": stores}) if stores is not None and self.stores else None
        try:
            self.fake.seed(body)
        except SeedError as exc:
            raise Refused(400, "BadSeed", str(exc)) from None
        hosts = list(body.get("vaults", {})) if isinstance(body.get("vaults"), Mapping) else []
        seeded = {"vaults": [f"https://{host}" for host in hosts]}
        if store_hosts is not None and self.stores is not None:
            seeded.update(self.stores.seed_hosts(store_hosts))
        return 200, seeded

    def _dump(self, method: str, request: FakeRequest, port: int | None) -> tuple[int, Any]:
        only(method, "GET")
        if not reveal_asked(request):
            raise Refused(403, "RevealRequired", "A dump holds secret values: ask for it with ?reveal=1.")
        return 200, self.dump(port)

    def dump(self, port: int | None) -> dict[str, Any]:
        """Everything the emulator holds as a seed document (values included): its vaults by bare name
        (``myvault``, for ``myvault.localhost:<port>``) and, when it serves stores, their ``appconfig`` part."""
        dump = self.fake.dump()
        tail = ".localhost" if port in (None, 443) else f".localhost:{port}"
        vaults = {
            (host[: -len(tail)] if host.endswith(tail) and "." not in host[: -len(tail)] else host): content
            for host, content in dump.get("vaults", {}).items()
        }
        if self.stores is not None:
            dump["appconfig"] = self.stores.stores.dump()
        return {**dump, "vaults": vaults}

    def _log(self, method: str, kind: str, request: FakeRequest) -> tuple[int, Any]:
        only(method, "GET")
        limit = limit_of(request)
        vault = request.query.get("vault")
        if kind == "audit":
            records = self.fake.audit.records(vault=vault.split(".")[0] if vault else None)
            return 200, {"value": [event.to_dict() for event in records[-limit:]], "dropped": self.fake.audit.dropped}
        events = self.fake.events.published
        if vault:
            events = [event for event in events if f"/vaults/{vault.split('.')[0].lower()}" in event.topic.lower()]
        return 200, {"value": [event.to_dict() for event in events[-limit:]]}

    def _vaults(
        self, method: str, rest: list[str], route: str, request: FakeRequest, port: int | None
    ) -> tuple[int, Any]:
        if not rest or rest == [""]:
            only(method, "GET")
            return 200, {"value": [vault_summary(vault) for vault in self.fake.vaults]}
        host = _vault_host(rest[0], port)
        if len(rest) == 2 and rest[1] == "throttling":
            only(method, "PUT")
            return 200, self._throttling(host, json_body(request))
        only(method, "GET")
        vault = self.fake.locate_existing_vault(host)
        if vault is None:
            raise Refused(404, "VaultNotFound", f"There is no vault {host} in this emulator.")
        if len(rest) == 1:
            return 200, vault_detail(vault)
        match = _OBJECT.match(route.strip("/"))
        if match is None:
            raise Refused(404, "NotFound", f"{PREFIX}{route} is not part of the control API.")
        found = object_detail(vault, match["kind"], match["name"], reveal=reveal_asked(request))
        if found is None:
            raise Refused(404, f"{KINDS[match['kind']].capitalize()}NotFound", f"There is no {match['name']}.")
        return 200, found

    def _throttling(self, host: str, body: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - {"enabled", "limit", "limits", "window"}
        if unknown:
            raise Refused(400, "BadParameter", f"Unknown throttling member(s): {', '.join(sorted(unknown))}.")
        enabled = body.get("enabled", True)
        limit = body.get("limit")
        limits = body.get("limits")
        window = body.get("window", 10.0)
        if not isinstance(enabled, bool):
            raise Refused(400, "BadParameter", "enabled must be true or false.")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10**6):
            raise Refused(400, "BadParameter", "limit must be a whole number from 1 to 1000000.")
        if limits is not None and not (
            isinstance(limits, dict)
            and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 10**6 for v in limits.values())
        ):
            raise Refused(400, "BadParameter", "limits must map categories to whole numbers from 1 to 1000000.")
        if not 0.1 <= _number(window, "window") <= 3600:
            raise Refused(400, "BadParameter", "window must be 0.1 to 3600 seconds.")
        try:
            self.fake.throttle(host, enabled=enabled, limit=limit, limits=limits, window=float(window))
        except ValueError as exc:
            raise Refused(400, "BadParameter", str(exc)) from None
        return {"vault": f"https://{host}", "enabled": enabled, "limit": limit, "limits": limits, "window": window}


_ROUTES = re.compile(r"^(clock|faults(/[^/]*)?|seed|dump|audit|events|vaults(/.*)?|appconfig(/.*)?)/?$")


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise Refused(400, "BadParameter", f"{name} must be a finite number.")
    return float(value)


def _instant(value: object) -> float:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise Refused(400, "BadParameter", "set must be epoch seconds or an ISO 8601 time.") from None
        when = (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
    else:
        when = _number(value, "set")
    if not 0 <= when <= 253402300799:  # 9999-12-31T23:59:59Z
        raise Refused(400, "BadParameter", "set must be a time from 1970 to 9999.")
    return when


def _vault_host(name: str, port: int | None) -> str:
    text = name.strip().lower()
    if "." in text:
        return text.removesuffix(":443")
    if not valid_vault_name(text):
        raise Refused(400, "BadParameter", f"{name!r} is not a vault name or vault host.")
    return f"{text}.localhost" if port in (None, 443) else f"{text}.localhost:{port}"


def _own_origins(port: int | None) -> set[str]:
    suffix = "" if port in (None, 443) else f":{port}"
    return {f"https://{host}{suffix}" for host in ("localhost", "127.0.0.1", "[::1]")}
