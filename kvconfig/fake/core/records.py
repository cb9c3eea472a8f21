"""What one request leaves behind for the router's listeners (the audit log, Event Grid), and who sent it."""

from __future__ import annotations

import threading
import traceback
from collections import deque
from dataclasses import dataclass

from kvconfig.fake.core.identity import Identity
from kvconfig.fake.core.wire import FakeRequest

__all__ = ["RequestRecord", "UnhandledError", "UnhandledErrors", "client_address"]


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


@dataclass(frozen=True)
class UnhandledError:
    """An exception no operation turned into a service error (the router answered 500 for it).

    Only the exception's type and where it was raised are kept, never its message or the frames' locals: a message
    may quote a request body, and request bodies hold secret values.
    """

    operation: str | None
    method: str
    exception_type: str
    where: tuple[str, ...]

    def __str__(self) -> str:
        trail = " <- ".join(reversed(self.where[-4:]))
        return f"{self.method} {self.operation or '(no route)'}: {self.exception_type} at {trail}"


class UnhandledErrors:
    """The fake's count of unhandled exceptions, and the last few of them: a test asserts ``count == 0``."""

    _KEEP = 50

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.recent: deque[UnhandledError] = deque(maxlen=self._KEEP)

    def record(self, operation: str | None, method: str, error: BaseException) -> UnhandledError:
        frames = traceback.extract_tb(error.__traceback__)
        where = tuple(f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}" for frame in frames)
        found = UnhandledError(operation, method, type(error).__qualname__, where)
        with self._lock:
            self.count += 1
            self.recent.append(found)
        return found

    def clear(self) -> None:
        with self._lock:
            self.count = 0
            self.recent.clear()

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"UnhandledErrors(count={self.count}, recent={[str(item) for item in self.recent]})"
