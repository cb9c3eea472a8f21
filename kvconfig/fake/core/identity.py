"""Who is calling: a principal (user, service principal or managed identity) and the groups it belongs to."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Group", "Identity", "PrincipalKind", "principal"]

_NAMESPACE = uuid.UUID("8d3f1c52-3a53-4c55-9a3e-6f7d1f0f7a10")
# Groups get object ids from their own namespace, so a group "ops" and a user "ops" are different principals.
_GROUP_NAMESPACE = uuid.UUID("5b0d7c1e-2f4e-4f0b-8a61-3c2f9d7e4b21")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)

PrincipalKind = Literal["user", "app"]
"""The ``idtyp`` claim: ``app`` for service principals and managed identities, ``user`` for people."""

_DEFAULT_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def _group_id(group: str) -> str:
    """A group's object id: a GUID is taken as given, a name gets a stable id of its own."""
    text = group.strip()
    return text.lower() if _GUID.match(text) else str(uuid.uuid5(_GROUP_NAMESPACE, text))


@dataclass(frozen=True)
class Group:
    """A security group, named for tests: a role assignment or access policy to it authorizes its members.

    ``object_id`` is derived from the name (or is the name, when that is a GUID), the id an Entra ``groups`` claim
    carries for members of ``Group(name)``.
    """

    name: str
    tenant_id: str = _DEFAULT_TENANT
    object_id: str = ""

    def __post_init__(self) -> None:
        if not self.object_id:
            object.__setattr__(self, "object_id", _group_id(self.name))


@dataclass(frozen=True)
class Identity:
    """A principal: a user, a service principal or a managed identity, named for tests.

    ``object_id`` is derived from the name, so the same name is the same principal in every fake.
    ``client_ip`` is the address the caller appears to come from (for network rules). ``kind`` is the token's
    ``idtyp`` (``app`` when ``app_id`` is given, ``user`` otherwise, unless set). ``groups`` names the groups the
    principal belongs to (names or object ids); their object ids go in the token's ``groups`` claim, and an
    assignment or access policy to any of them authorizes the principal, as Key Vault's data plane resolves it.
    """

    name: str = "test-user"
    tenant_id: str = _DEFAULT_TENANT
    object_id: str = ""
    app_id: str | None = None
    client_ip: str = "127.0.0.1"
    groups: Sequence[str | Group] = field(default=())
    kind: PrincipalKind | None = None

    def __post_init__(self) -> None:
        if not self.object_id:
            object.__setattr__(self, "object_id", str(uuid.uuid5(_NAMESPACE, self.name)))
        if isinstance(self.groups, str):
            raise TypeError("groups is a list of group names or object ids, not one string.")
        object.__setattr__(self, "groups", tuple(_group_id(group) for group in _strings(self.groups)))
        if self.kind is None:
            object.__setattr__(self, "kind", "app" if self.app_id else "user")
        elif self.kind not in ("user", "app"):
            raise ValueError(f"kind must be 'user' or 'app', not {self.kind!r}.")

    @property
    def principal_ids(self) -> frozenset[str]:
        """The object ids an assignment or access policy may name to reach this caller: its own and its groups'."""
        return frozenset((self.object_id, *self.group_ids))

    @property
    def group_ids(self) -> tuple[str, ...]:
        """The object ids of the principal's groups, as its token's ``groups`` claim lists them."""
        return tuple(_strings(self.groups))

    @classmethod
    def of(cls, identity: str | Identity | None) -> Identity:
        if identity is None:
            return cls()
        return identity if isinstance(identity, Identity) else cls(identity)


def _strings(values: Iterable[str | Group]) -> list[str]:
    return [value.object_id if isinstance(value, Group) else str(value) for value in values]


def principal(value: str | Identity | Group) -> Identity | Group:
    """The principal a role assignment or access policy names: a group as given, anything else as an identity."""
    return value if isinstance(value, Group) else Identity.of(value)
