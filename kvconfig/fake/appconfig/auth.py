"""How the fake store authenticates a request: HMAC-SHA256 signing with a connection string's access key, or an
Entra token from the fake's credentials for the store's audience (``https://azconfig.io`` and the sovereign clouds').

The signature is checked as the service checks it: the string ``VERB\\npath?query\\nx-ms-date;host;content-hash``
signed with the key's secret, the content hash matching the body, and ``x-ms-date`` within 15 minutes of now.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from kvconfig.fake.appconfig.errors import AppConfigError
from kvconfig.fake.appconfig.state import AccessKey, Store
from kvconfig.fake.control.tokens import TokenAuthority
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.identity import Identity
from kvconfig.fake.core.wire import FakeRequest

__all__ = ["MAX_CLOCK_SKEW", "Caller", "audience_for", "authenticate"]

MAX_CLOCK_SKEW = 15 * 60
_SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"


@dataclass(frozen=True)
class Caller:
    """Who sent a request: an access key (``key``) or a token's identity (``None`` for a foreign token)."""

    key: AccessKey | None = None
    identity: Identity | None = None

    @property
    def read_only(self) -> bool:
        return self.key is not None and self.key.read_only


def audience_for(host: str) -> str:
    """The token audience of a store host: ``https://azconfig.io`` for ``x.azconfig.io``, and so on."""
    labels = host.split(":", 1)[0].split(".")
    for index in range(len(labels) - 1, -1, -1):
        if labels[index] in ("azconfig", "appconfig"):
            return "https://" + ".".join(labels[index:])
    return "https://azconfig.io"


def authenticate(store: Store, request: FakeRequest, tokens: TokenAuthority) -> Caller:
    """The caller of ``request``, or a 401 AppConfigError."""
    header = request.header("Authorization") or ""
    scheme, _, rest = header.partition(" ")
    if scheme == "HMAC-SHA256":
        return Caller(key=_verify_hmac(store, request, rest))
    if scheme.lower() == "bearer" and rest:
        try:
            identity = tokens.verify(rest.strip(), audience_for(store.host))
        except ServiceError as exc:
            raise AppConfigError.unauthorized(str(exc.message)) from exc
        return Caller(identity=identity)
    raise AppConfigError.unauthorized("The request has no HMAC-SHA256 signature and no bearer token.")


def _parse_date(text: str) -> float | None:
    """An HTTP date, or the form the Python SDK sends (``Dec, 06 2026 04:26:00.797631 GMT``)."""
    if len(text) > 64:
        return None
    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        pass
    try:
        return datetime.strptime(text, "%b, %d %Y %H:%M:%S.%f GMT").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def _verify_hmac(store: Store, request: FakeRequest, params: str) -> AccessKey:
    if not store.local_auth:
        raise AppConfigError.unauthorized("Local authentication (access keys) is disabled for this store.")
    fields = dict(part.partition("=")[::2] for part in params.split("&"))
    key = store.access_key(fields.get("Credential", ""))
    if key is None:
        raise AppConfigError.unauthorized("The access key credential is not known to this store.")
    if fields.get("SignedHeaders", "").lower() != _SIGNED_HEADERS:
        raise AppConfigError.unauthorized(f"SignedHeaders must be {_SIGNED_HEADERS}.")
    date = request.header("x-ms-date") or ""
    content_hash = request.header("x-ms-content-sha256") or ""
    if content_hash != base64.b64encode(hashlib.sha256(request.body).digest()).decode("ascii"):
        raise AppConfigError.unauthorized("x-ms-content-sha256 does not match the request body.")
    signed_at = _parse_date(date)
    if signed_at is None:
        raise AppConfigError.unauthorized("x-ms-date is missing or not an HTTP date.")
    # The SDK stamps requests with the wall clock, so they are judged against it (not a moved fake clock).
    if abs(time.time() - signed_at) > MAX_CLOCK_SKEW:
        raise AppConfigError.unauthorized("x-ms-date is more than 15 minutes away from the server's time.")
    split = urlsplit(request.url)
    path_and_query = split.path + (f"?{split.query}" if split.query else "")
    host = split.netloc
    string_to_sign = f"{request.method.upper()}\n{path_and_query}\n{date};{host};{content_hash}"
    expected = base64.b64encode(hmac.new(key.secret_bytes, string_to_sign.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected.decode("ascii"), fields.get("Signature", "")):
        raise AppConfigError.unauthorized("The HMAC-SHA256 signature is not valid.")
    return key
