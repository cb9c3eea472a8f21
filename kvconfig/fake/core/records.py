"""What one request leaves behind for the router's listeners (the audit log, Event Grid), and who sent it."""

from __future__ import annotations

from dataclasses import dataclass

from kvconfig.fake.core.identity import Identity
from kvconfig.fake.core.wire import FakeRequest

__all__ = ["RequestRecord", "client_address"]


@dataclass(frozen=True)
class RequestRecord:
    """What happened to one request, for listeners such as the audit log (never a body or a value)."""

    time: float
    method: str
    url: str
    operation: str | None
    vault: str | None
    identity: Identity | None
    status: int
    error_code: str | None
    duration: float
    client_ip: str | None
    # Added for the audit log and Event Grid: the response's x-ms-request-id, the caller's User-Agent, and the id
    # of the object version an operation returned (``.../secrets/<name>/<version>``, a key's ``kid``).
    request_id: str | None = None
    user_agent: str | None = None
    object_id: str | None = None


def client_address(request: FakeRequest, identity: Identity | None) -> str | None:
    """The caller's address: ``X-Forwarded-For`` (set by the loopback emulator) or the token's ``ipaddr`` claim."""
    forwarded = request.header("X-Forwarded-For")
    if forwarded and forwarded.split(",")[0].strip():
        return forwarded.split(",")[0].strip()
    return identity.client_ip if identity else None
