"""Who is calling: a principal (user, service principal or managed identity), named for tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

__all__ = ["Identity"]

_NAMESPACE = uuid.UUID("8d3f1c52-3a53-4c55-9a3e-6f7d1f0f7a10")


@dataclass(frozen=True)
class Identity:
    """A principal: a user, a service principal or a managed identity, named for tests.

    ``object_id`` is derived from the name, so the same name is the same principal in every fake.
    ``client_ip`` is the address the caller appears to come from (for network rules).
    """

    name: str = "test-user"
    tenant_id: str = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    object_id: str = ""
    app_id: str | None = None
    client_ip: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if not self.object_id:
            object.__setattr__(self, "object_id", str(uuid.uuid5(_NAMESPACE, self.name)))

    @classmethod
    def of(cls, identity: str | Identity | None) -> Identity:
        if identity is None:
            return cls()
        return identity if isinstance(identity, Identity) else cls(identity)
