"""Injected faults: error statuses (429 with ``Retry-After``, 500, 503), timeouts and dropped connections,
for requests that match an operation, vault, identity or predicate, a given number of times or with a seeded
probability."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.wire import ConnectionFault, FakeRequest

__all__ = ["ConnectionFault", "Fault", "FaultSet"]

_MESSAGES = {
    429: ("Throttled", "Request was not processed because too many requests were received. Reason: A1"),
    500: ("InternalServerError", "An internal server error occurred (injected by the kvconfig fake)."),
    502: ("BadGateway", "Bad gateway (injected by the kvconfig fake)."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable (injected by the kvconfig fake)."),
    504: ("GatewayTimeout", "The gateway timed out (injected by the kvconfig fake)."),
}


@dataclass
class Fault:
    """One injected fault. ``times=None`` means every matching request; ``hits`` counts how often it fired."""

    status: int | None = None
    error: Literal["timeout", "drop"] | None = None
    retry_after: float | None = None
    times: int | None = 1
    operation: str | None = None
    vault: str | None = None
    identity: str | None = None
    predicate: Callable[[FakeRequest], bool] | None = None
    probability: float = 1.0
    seed: int | None = None
    delay: float = 0.0
    hits: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _owner: FaultSet | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if (self.status is None) == (self.error is None) and self.delay == 0.0:
            raise ValueError("A fault needs exactly one of status= or error= (or only a delay=).")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"An injected status must be an error status (400-599), not {self.status}.")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1.")
        self._rng = random.Random(self.seed)

    def matches(self, request: FakeRequest, operation: str, vault: str, identity: str | None) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.operation is not None and self.operation.lower() != operation.lower():
            return False
        if self.vault is not None and self.vault.lower() != vault.lower():
            return False
        if self.identity is not None and self.identity != identity:
            return False
        if self.predicate is not None and not self.predicate(request):
            return False
        return self.probability >= 1.0 or self._rng.random() < self.probability

    def fire(self) -> None:
        """Raise what this fault injects (a ServiceError or a ConnectionFault)."""
        if self.error is not None:
            message = "The read operation timed out" if self.error == "timeout" else "Connection aborted by peer"
            raise ConnectionFault(self.error, f"{message} (injected by the kvconfig fake).")
        if self.status is not None:
            code, message = _MESSAGES.get(self.status, ("InjectedFault", "Injected by the kvconfig fake."))
            headers = {}
            if self.retry_after is not None:
                headers["Retry-After"] = f"{self.retry_after:g}"
            raise ServiceError(self.status, code, message, headers=headers)

    def remove(self) -> None:
        """Stop injecting this fault."""
        if self._owner is not None:
            self._owner.remove(self)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


class FaultSet:
    """The faults of one fake, checked in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        fault._owner = self
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pick(self, request: FakeRequest, operation: str, vault: str, identity: str | None) -> Fault | None:
        """The first matching fault, counted as a hit; ``None`` when nothing applies."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(request, operation, vault, identity):
                    fault.hits += 1
                    return fault
        return None

    def __iter__(self) -> Iterator[Fault]:
        """The faults in order, as they are now (a copy: the set may change while the caller reads)."""
        with self._lock:
            return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)
