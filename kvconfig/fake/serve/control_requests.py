"""What every control API endpoint shares: the refusal that becomes a 4xx, and reading a request's body and query.

``control_api.py`` (vaults, clock, faults, logs) and ``store_control.py`` (App Configuration stores) raise
:class:`Refused`; the control API turns it into ``{"error": {"code", "message"}}`` with its status.
"""

from __future__ import annotations

import json
from typing import Any

from kvconfig.fake.core.wire import FakeRequest, FakeResponse, json_response

__all__ = ["MAX_LIMIT", "Refused", "error_response", "json_body", "limit_of", "only", "reveal_asked"]

MAX_LIMIT = 10_000


class Refused(Exception):
    """A control request answered with a 4xx: ``status``, the error ``code`` and a one-line ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> FakeResponse:
    return json_response(status, {"error": {"code": code, "message": message}})


def only(method: str, *allowed: str) -> None:
    """Refuse any method but ``allowed`` with 405."""
    if method not in allowed:
        raise Refused(405, "MethodNotAllowed", f"Use {' or '.join(allowed)} here.")


def json_body(request: FakeRequest) -> dict[str, Any]:
    """The request's JSON object (an empty body is ``{}``); 400 for anything else."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        raise Refused(400, "BadParameter", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Refused(400, "BadParameter", "The body must be a JSON object.")
    return body


def reveal_asked(request: FakeRequest) -> bool:
    """Whether the caller asked for values (``?reveal=1``)."""
    return request.query.get("reveal", "").lower() in ("1", "true", "yes")


def limit_of(request: FakeRequest, default: int = 100) -> int:
    """``?limit=``: a whole number from 1 to :data:`MAX_LIMIT` (``default`` when not given); 400 otherwise."""
    raw = request.query.get("limit", str(default))
    # isascii: "²".isdigit() is true and int() refuses it; the length keeps int() off a 5,000-digit string.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not 1 <= int(raw) <= MAX_LIMIT:
        raise Refused(400, "BadParameter", f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)
