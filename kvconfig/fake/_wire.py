"""Transport-neutral request and response values, and the small encoding helpers of Key Vault's wire format."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

__all__ = ["FakeRequest", "FakeResponse", "b64url_decode", "b64url_encode", "json_response"]


@dataclass(frozen=True)
class FakeRequest:
    """One HTTP request as any adapter hands it to the router."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def parts(self) -> tuple[str, str, str, int | None]:
        """(scheme, lower-cased host, path, explicit port or None)."""
        split = urlsplit(self.url)
        return split.scheme.lower(), (split.hostname or "").lower(), split.path, split.port

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    def header(self, name: str) -> str | None:
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


def json_response(status: int, payload: object | None, headers: Mapping[str, str] | None = None) -> FakeResponse:
    all_headers = {"Cache-Control": "no-cache", "x-ms-keyvault-service-version": "1.9.0.0 (kvconfig-fake)"}
    if headers:
        all_headers.update(headers)
    if payload is None:
        return FakeResponse(status, all_headers, b"")
    all_headers["Content-Type"] = "application/json; charset=utf-8"
    return FakeResponse(status, all_headers, json.dumps(payload, separators=(",", ":")).encode())


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding (the SDK sends none; other clients may)."""
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
