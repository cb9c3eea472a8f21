"""The portal: a read-only web page of the fake's state, served on the emulator's own host, loopback only.

* ``GET /_kvconfig/portal``: the page (``portal_page.py``), with a fresh reveal token in a ``<meta>`` tag;
* ``GET /_kvconfig/portal/portal.css`` and ``portal.js``: its style and its one script (``portal_assets.py``);
* ``POST /_kvconfig/portal/reveal``: one secret value (``{"vault", "name", "version"}``) or one App Configuration
  key-value's (``{"store", "key", "label"}``, ``null`` for the null label), as ``{"value": ...}``, for the page's
  "Reveal" buttons.

Only ``https://localhost:<port>`` (or ``127.0.0.1``/``[::1]``) serves it, and only to a client on loopback: another
``Host`` (a DNS-rebinding page's) or another address gets 403. The page holds no value. A value leaves the fake only
through the reveal endpoint, and only to a same-origin ``POST`` (the ``Origin`` header must be this host, a
``Sec-Fetch-Site`` header, when sent, must say ``same-origin``, the body must be JSON) carrying a token issued with
a page less than :data:`TOKEN_LIFETIME` seconds ago. A page on another origin can neither read the token (the page
is same-origin only) nor send a same-origin request, so it cannot reveal anything.

Every answer carries a strict Content-Security-Policy (``default-src 'self'``, no inline script or style at all),
``X-Content-Type-Options: nosniff``, ``Cache-Control: no-store``, ``Referrer-Policy: no-referrer`` and is not
frameable. The reveal request body is bounded to :data:`MAX_REVEAL_BODY` bytes.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Mapping

from cachetools import TTLCache

from kvconfig.fake.core.state import Vault
from kvconfig.fake.core.wire import FakeRequest, FakeResponse
from kvconfig.fake.serve.host import ServedService, StoreService
from kvconfig.fake.serve.portal_assets import SCRIPT, STYLE
from kvconfig.fake.serve.portal_page import PortalSource, render_page
from kvconfig.fake.serve.tls import is_loopback_address

__all__ = ["MAX_REVEAL_BODY", "PORTAL_PATH", "TOKEN_HEADER", "TOKEN_LIFETIME", "Portal"]

PORTAL_PATH = "/_kvconfig/portal"
TOKEN_HEADER = "X-Kvconfig-Portal-Token"
TOKEN_LIFETIME = 3600.0
"""Seconds a page's reveal token stays good (reload the page for a new one)."""
MAX_REVEAL_BODY = 4096
_MAX_TOKENS = 1024
_MAX_FIELD = 512

_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class Portal:
    """The portal of one fake (and of the App Configuration ``stores`` served beside it): its routes and the reveal
    tokens it has issued (at most 1,024 live at once)."""

    def __init__(self, fake: ServedService, stores: StoreService | None = None) -> None:
        self.fake = fake
        self.stores = stores
        self._tokens: TTLCache[str, bool] = TTLCache(maxsize=_MAX_TOKENS, ttl=TOKEN_LIFETIME, timer=time.monotonic)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Portal({self.fake!r})"

    def serve(self, request: FakeRequest) -> FakeResponse | None:
        """Answer a portal request, or ``None`` when ``request`` is not for the portal."""
        _, hostname, path, _ = request.parts
        if path != PORTAL_PATH and not path.startswith(PORTAL_PATH + "/"):
            return None
        fake = self.fake
        if not isinstance(fake, PortalSource):
            return _error(404, "NotFound", "This fake has no portal.")
        if hostname not in _LOOPBACK_HOSTS or not _from_loopback(request):
            return _error(
                403,
                "Forbidden",
                "The portal answers only on https://localhost:<port>, to clients on this machine.",
            )
        method = request.method.upper()
        if path in (PORTAL_PATH, PORTAL_PATH + "/"):
            return _only(method, "GET") or self._page(fake)
        if path == f"{PORTAL_PATH}/portal.css":
            return _only(method, "GET") or _asset(STYLE, "text/css; charset=utf-8")
        if path == f"{PORTAL_PATH}/portal.js":
            return _only(method, "GET") or _asset(SCRIPT, "text/javascript; charset=utf-8")
        if path == f"{PORTAL_PATH}/reveal":
            return _only(method, "POST") or self._reveal(fake, request)
        return _error(404, "NotFound", f"The portal has no page {path}.")

    # -- the page --------------------------------------------------------------------------------------------------

    def issue_token(self) -> str:
        """A new reveal token (what each page load gets)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = True
        return token

    def _token_is_live(self, token: str) -> bool:
        with self._lock:
            return bool(token) and self._tokens.get(token, False)

    def _page(self, fake: PortalSource) -> FakeResponse:
        page = render_page(fake, token=self.issue_token(), wall_time=time.time(), stores=self.stores)
        return FakeResponse(200, {**SECURITY_HEADERS, "Content-Type": "text/html; charset=utf-8"}, page.encode())

    # -- revealing one value ---------------------------------------------------------------------------------------

    def _reveal(self, fake: PortalSource, request: FakeRequest) -> FakeResponse:
        refusal = self._refuse_cross_site(request)
        if refusal is not None:
            return refusal
        if len(request.body) > MAX_REVEAL_BODY:
            return _error(413, "RequestBodyTooLarge", f"A reveal request is at most {MAX_REVEAL_BODY} bytes.")
        try:
            asked = json.loads(request.body)
        except (ValueError, RecursionError):  # 4 KiB of '[' nests past the parser's recursion limit
            asked = None
        if isinstance(asked, dict) and "store" in asked:
            return self._reveal_key_value(asked)
        fields = _fields(asked)
        if fields is None:
            return _error(
                400, "BadRequest", 'The body must be {"vault": host, "name": secret name, "version": version id}.'
            )
        host, name, version_id = fields
        vault = _vault(fake, host)
        found = None
        if vault is not None:
            with vault.lock:
                obj = vault.secrets.get(name)
                found = obj.versions.get(version_id.lower()) if obj is not None and version_id else None
        if found is None:
            return _error(404, "SecretNotFound", "There is no such secret version in this fake.")
        return _value(found.value)

    def _reveal_key_value(self, asked: dict[str, object]) -> FakeResponse:
        host, key, label = asked.get("store"), asked.get("key"), asked.get("label")
        if not (
            set(asked) <= {"store", "key", "label"}
            and isinstance(host, str)
            and 0 < len(host) <= _MAX_FIELD
            and isinstance(key, str)
            and 0 < len(key) <= MAX_REVEAL_BODY
            and (label is None or isinstance(label, str))
        ):
            return _error(400, "BadRequest", 'The body must be {"store": host, "key": key, "label": label or null}.')
        served = self.stores.stores if self.stores is not None else []
        store = next((item for item in served if item.host == host.lower()), None)
        found = None
        if store is not None:
            with store.lock:
                found = store.items.get((key, label))
        if found is None:
            return _error(404, "KeyValueNotFound", "There is no such key-value in this fake.")
        return _value(found.value)

    def _refuse_cross_site(self, request: FakeRequest) -> FakeResponse | None:
        _, hostname, _, port = request.parts
        own_origin = f"https://{hostname}" if port in (None, 443) else f"https://{hostname}:{port}"
        if request.header("Origin") != own_origin:
            return _error(403, "Forbidden", "A reveal request must come from the portal's own page (Origin).")
        fetch_site = request.header("Sec-Fetch-Site")
        if fetch_site is not None and fetch_site != "same-origin":
            return _error(403, "Forbidden", "A reveal request must come from the portal's own page (Sec-Fetch-Site).")
        content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _error(415, "UnsupportedMediaType", "A reveal request's body is JSON (application/json).")
        if not self._token_is_live(request.header(TOKEN_HEADER) or ""):
            return _error(
                403, "Forbidden", f"A reveal request needs the token of a page loaded in the last {TOKEN_LIFETIME:g} s."
            )
        return None


def _value(value: str | None) -> FakeResponse:
    body = json.dumps({"value": value}).encode()
    return FakeResponse(200, {**SECURITY_HEADERS, "Content-Type": "application/json; charset=utf-8"}, body)


def _from_loopback(request: FakeRequest) -> bool:
    """The emulator's ASGI app puts the address it saw in ``X-Forwarded-For`` (replacing any the client sent)."""
    client = (request.header("X-Forwarded-For") or "").split(",")[0].strip()
    return is_loopback_address(client)


def _fields(asked: object) -> tuple[str, str, str] | None:
    if not isinstance(asked, dict):
        return None
    values = [asked.get(key) for key in ("vault", "name", "version")]
    if not all(isinstance(value, str) and 0 < len(value) <= _MAX_FIELD for value in values):
        return None
    host, name, version = (str(value) for value in values)
    return host.lower(), name, version


def _vault(fake: PortalSource, host: str) -> Vault | None:
    for vault in fake.vaults:
        if vault.properties.host == host:
            return vault
    return None


def _only(method: str, allowed: str) -> FakeResponse | None:
    if method == allowed:
        return None
    response = _error(405, "MethodNotAllowed", f"Use {allowed}.")
    return FakeResponse(405, {**response.headers, "Allow": allowed}, response.body)


def _asset(text: str, content_type: str) -> FakeResponse:
    return FakeResponse(200, {**SECURITY_HEADERS, "Content-Type": content_type}, text.encode())


def _error(status: int, code: str, message: str) -> FakeResponse:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return FakeResponse(status, {**SECURITY_HEADERS, "Content-Type": "application/json; charset=utf-8"}, body)
