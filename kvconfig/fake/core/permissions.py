"""Access control state of a vault: RBAC role assignments, access policies and network rules.

This is vault state, kept with the vault (``vault.access``); changes take effect on the next request. Judging a
request against it is :mod:`kvconfig.fake.control.access`'s job; the role table is data, in
:mod:`kvconfig.fake.core.roles`.
"""

from __future__ import annotations

import ipaddress
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from kvconfig.fake.core.identity import Group, Identity, principal
from kvconfig.fake.core.properties import VaultProperties
from kvconfig.fake.core.roles import (
    Collection,
    RoleDefinition,
    find_role,
    policy_grants,
    policy_permissions,
)

__all__ = [
    "MAX_ACCESS_POLICIES",
    "AccessPolicy",
    "NetworkRules",
    "RoleAssignment",
    "VaultAccess",
]

MAX_ACCESS_POLICIES = 1024


# -- assignments, policies, network rules --------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleAssignment:
    """One role assignment: a principal, a role and a scope (``/``, ``/secrets/<name>``, ``/keys``, ...)."""

    id: str
    principal_id: str
    principal_name: str
    role: RoleDefinition
    scope: str
    _owner: VaultAccess | None = field(default=None, repr=False, compare=False)

    def remove(self) -> None:
        """Delete this assignment; the next request is judged without it."""
        if self._owner is not None:
            self._owner.remove_assignment(self)

    def covers(self, collection: str | None, name: str | None) -> bool:
        if self.scope == "/":
            return True
        parts = self.scope.strip("/").split("/")
        if collection is None or parts[0] != collection:
            return False
        return len(parts) == 1 or (name is not None and parts[1] == name.lower())


@dataclass(frozen=True)
class AccessPolicy:
    """An access-policy entry: one principal's permissions (lower case) per object kind."""

    object_id: str
    principal_name: str
    tenant_id: str
    secrets: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()
    certificates: frozenset[str] = frozenset()

    def grants(self, collection: Collection, permission: str) -> bool:
        granted: frozenset[str] = getattr(self, collection)
        return policy_grants(granted, permission)


@dataclass(frozen=True)
class NetworkRules:
    """The vault firewall: ``default_action`` applies to addresses outside ``ip_rules``."""

    default_action: Literal["Allow", "Deny"] = "Deny"
    ip_rules: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    bypass: str = "AzureServices"

    def allows(self, address: str | None) -> bool:
        if self.default_action == "Allow":
            return True
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip.version == net.version and ip in net for net in self.ip_rules)


def _normalise_scope(scope: str) -> str:
    text = scope.strip().lower()
    if text in ("", "/"):
        return "/"
    marker = "/providers/microsoft.keyvault/"
    if marker in text:
        # A full ARM id: keep what follows the vault name (".../vaults/<name>/secrets/s1" -> "/secrets/s1").
        tail = text.split(marker, 1)[1].split("/", 2)
        text = "/" + tail[2] if len(tail) > 2 else "/"
    parts = [part for part in text.split("/") if part]
    if not parts:
        return "/"
    if parts[0] not in ("secrets", "keys", "certificates") or len(parts) > 2:
        raise ValueError(
            f"{scope!r} is not a role assignment scope: use '/', '/secrets/<name>', '/keys/<name>' or "
            "'/certificates/<name>' (or '/keys' on a Managed HSM)."
        )
    return "/" + "/".join(parts)


class VaultAccess:
    """One vault's access control state. Changes take effect on the next request (no propagation delay)."""

    def __init__(self, properties: VaultProperties) -> None:
        self._properties = properties
        self.lock = threading.RLock()
        self.enforce = False
        self.assignments: list[RoleAssignment] = []
        self.policies: dict[str, AccessPolicy] = {}
        self.network: NetworkRules | None = None
        self.security_domain_activated = True
        # Called after an access policy changes (Event Grid's VaultAccessPolicyChanged).
        self.policy_listeners: list[Callable[[], None]] = []

    # -- permission model ------------------------------------------------------------------------------------------

    @property
    def rbac(self) -> bool:
        return self._properties.kind == "managedhsm" or self._properties.rbac

    def use_rbac(self) -> None:
        """Switch the vault to Azure RBAC. One-way: access policies stop counting (they are kept, ignored)."""
        self._properties.rbac = True

    def use_access_policies(self) -> None:
        """Refused once the vault uses RBAC: the fake models the switch to RBAC as one-way."""
        if self.rbac:
            raise ValueError(
                f"The vault {self._properties.name} uses Azure RBAC; switching back to access policies is not "
                "supported."
            )

    # -- RBAC ------------------------------------------------------------------------------------------------------

    def assign_role(
        self,
        identity: str | Identity | Group,
        role: str | RoleDefinition,
        *,
        scope: str = "/",
        assignment_id: str | None = None,
    ) -> RoleAssignment:
        """Assign ``role`` to ``identity`` (or to a :class:`Group`, for its members) at ``scope``; ``assignment_id``
        names it (the REST API's client chooses the name; a new GUID otherwise)."""
        assignee = principal(identity)
        definition = find_role(role, self._properties.kind)
        normalised = _normalise_scope(scope)
        if self._properties.kind == "managedhsm" and normalised.split("/")[1:2] not in ([""], ["keys"]):
            raise ValueError(f"A Managed HSM role scope is '/', '/keys' or '/keys/<name>', not {scope!r}.")
        assignment = RoleAssignment(
            id=assignment_id or str(uuid.uuid4()),
            principal_id=assignee.object_id,
            principal_name=assignee.name,
            role=definition,
            scope=normalised,
            _owner=self,
        )
        with self.lock:
            self.assignments.append(assignment)
            self.enforce = True
        return assignment

    def remove_assignment(self, assignment: RoleAssignment) -> None:
        with self.lock:
            self.assignments = [item for item in self.assignments if item.id != assignment.id]

    def remove_role(
        self, identity: str | Identity | Group, role: str | None = None, *, scope: str | None = None
    ) -> int:
        assignee = principal(identity)
        definition = find_role(role, self._properties.kind) if role is not None else None
        wanted_scope = _normalise_scope(scope) if scope is not None else None
        with self.lock:
            kept = [
                item
                for item in self.assignments
                if not (
                    item.principal_id == assignee.object_id
                    and (definition is None or item.role == definition)
                    and (wanted_scope is None or item.scope == wanted_scope)
                )
            ]
            removed = len(self.assignments) - len(kept)
            self.assignments = kept
        return removed

    def role_assignments(self, identity: str | Identity | Group | None = None) -> list[RoleAssignment]:
        with self.lock:
            items = list(self.assignments)
        if identity is None:
            return items
        oid = principal(identity).object_id
        return [item for item in items if item.principal_id == oid]

    # -- access policies -------------------------------------------------------------------------------------------

    def set_access_policy(
        self,
        identity: str | Identity | Group,
        *,
        secrets: Iterable[str] = (),
        keys: Iterable[str] = (),
        certificates: Iterable[str] = (),
    ) -> AccessPolicy:
        if self._properties.kind == "managedhsm":
            raise ValueError("A Managed HSM pool has no access policies: use local RBAC roles (assign_role).")
        holder = principal(identity)
        policy = AccessPolicy(
            object_id=holder.object_id,
            principal_name=holder.name,
            tenant_id=holder.tenant_id,
            secrets=policy_permissions("secrets", secrets),
            keys=policy_permissions("keys", keys),
            certificates=policy_permissions("certificates", certificates),
        )
        with self.lock:
            if holder.object_id not in self.policies and len(self.policies) >= MAX_ACCESS_POLICIES:
                raise ValueError(
                    f"The vault {self._properties.name} already has {MAX_ACCESS_POLICIES} access policy entries, the "
                    "service's limit; remove one or switch the vault to Azure RBAC."
                )
            self.policies[holder.object_id] = policy
            self.enforce = True
        self._policy_changed()
        return policy

    def remove_access_policy(self, identity: str | Identity | Group) -> bool:
        with self.lock:
            removed = self.policies.pop(principal(identity).object_id, None) is not None
        if removed:
            self._policy_changed()
        return removed

    def _policy_changed(self) -> None:
        for listener in list(self.policy_listeners):
            listener()

    # -- network rules ---------------------------------------------------------------------------------------------

    def set_network_rules(
        self, *, default_action: str = "Deny", ip_rules: Iterable[str] = (), bypass: str = "AzureServices"
    ) -> NetworkRules:
        action = default_action.capitalize()
        if action not in ("Allow", "Deny"):
            raise ValueError(f"default_action must be 'Allow' or 'Deny', not {default_action!r}.")
        networks = []
        for rule in ip_rules:
            try:
                networks.append(ipaddress.ip_network(rule.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(f"{rule!r} is not an IP address or CIDR range.") from exc
        rules = NetworkRules("Allow" if action == "Allow" else "Deny", tuple(networks), bypass)
        with self.lock:
            self.network = rules
        return rules

    def clear_network_rules(self) -> None:
        with self.lock:
            self.network = None
