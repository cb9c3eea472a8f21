"""Transport-neutral request and response values, and the small encoding helpers of Key Vault's wire format."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "ConnectionFault",
    "ConnectionKind",
    "FakeRequest",
    "FakeResponse",
    "b64url_decode",
    "b64url_encode",
    "json_response",
]


@lru_cache(maxsize=1024)
def _parse_url(url: str) -> tuple[tuple[str, str, str, int | None], tuple[tuple[str, str], ...]]:
    split = urlsplit(url)
    parts = split.scheme.lower(), (split.hostname or "").lower(), split.path, split.port
    return parts, tuple(parse_qsl(split.query, keep_blank_values=True))


@dataclass(frozen=True)
class FakeRequest:
    """One HTTP request as any adapter hands it to the router."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    # Parsed once per distinct URL (clients repeat the same URLs): the router, the operations and the listeners all
    # read them. Not functools.cached_property: before Python 3.12 it takes a lock on each first access, which cost
    # more than the cached parse it guards.
    @property
    def parts(self) -> tuple[str, str, str, int | None]:
        """(scheme, lower-cased host, path, explicit port or None)."""
        return _parse_url(self.url)[0]

    @property
    def query(self) -> dict[str, str]:
        """The query parameters (read-only by convention: the dict is shared by everyone reading the request)."""
        # Kept in the instance __dict__, which a frozen dataclass leaves writable, so every reader gets one dict.
        found: dict[str, str] | None = self.__dict__.get("_query")
        if found is None:
            found = self.__dict__["_query"] = dict(_parse_url(self.url)[1])
        return found

    def header(self, name: str) -> str | None:
        found = self.headers.get(name)
        if found is not None:
            return found
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    def __repr__(self) -> str:
        # Bodies can hold secret values: never show them.
        return f"FakeRequest({self.method} {self.url}, {len(self.body)} bytes)"


@dataclass(frozen=True)
class FakeResponse:
    """One HTTP response produced by the router."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> object:
        return json.loads(self.body) if self.body else None

    @property
    def reason(self) -> str:
        return _REASONS.get(self.status, "Unknown")

    def __repr__(self) -> str:
        return f"FakeResponse({self.status}, {len(self.body)} bytes)"


_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # json.dumps with options builds an encoder per call


def json_response(status: int, payload: object | None, headers: Mapping[str, str] | None = None) -> FakeResponse:
    all_headers = {"Cache-Control": "no-cache", "x-ms-keyvault-service-version": "1.9.0.0 (kvconfig-fake)"}
    if headers:
        all_headers.update(headers)
    if payload is None:
        return FakeResponse(status, all_headers, b"")
    all_headers["Content-Type"] = "application/json; charset=utf-8"
    return FakeResponse(status, all_headers, _ENCODER.encode(payload).encode())


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding (the SDK sends none; other clients may)."""
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


ConnectionKind = Literal["timeout", "drop", "dns"]


class ConnectionFault(Exception):
    """Raised by the router when a request never gets an HTTP answer; adapters turn it into their own error."""

    def __init__(self, kind: ConnectionKind, message: str) -> None:
        super().__init__(message)
        self.kind: ConnectionKind = kind
