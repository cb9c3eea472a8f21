"""Access control of the fake: RBAC roles and assignments, access policies, network rules, and the authorizer.

Enforcement is opt-in per vault, so test set-ups that pass any token keep working: a vault enforces nothing until it
gets its first role assignment or access policy, or was created with ``enforce_access=True`` (or
``vault.access.enforce = True``). Network rules are independent: they apply as soon as they are set.

While a vault enforces access control, only the fake's own valid tokens get in. A foreign (opaque) token answers 401
``Unauthorized``, as the service does for a token it cannot validate; 403 is kept for callers it knows but who lack
the permission (``ForbiddenByRbac`` in RBAC mode, ``AccessDenied`` in access-policy mode), and for the firewall
(``ForbiddenByFirewall``).

The role table and what each operation needs (data actions, access-policy permissions) are data, in ``_roles``.
"""

from __future__ import annotations

import ipaddress
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from kvconfig.fake._errors import ServiceError
from kvconfig.fake._roles import (
    OPERATION_PERMISSIONS,
    Collection,
    RoleDefinition,
    find_role,
    policy_grants,
    policy_permissions,
    rbac_action,
)
from kvconfig.fake._router import client_address
from kvconfig.fake._tokens import Identity

if TYPE_CHECKING:
    from kvconfig.fake._routing import OperationContext
    from kvconfig.fake._state import Vault

__all__ = [
    "MAX_ACCESS_POLICIES",
    "AccessControl",
    "AccessDecision",
    "AccessPolicy",
    "NetworkRules",
    "RoleAssignment",
    "VaultAccess",
    "access_of",
    "caller_string",
    "take_decision",
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

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._lock = threading.RLock()
        self.enforce = False
        self.assignments: list[RoleAssignment] = []
        self.policies: dict[str, AccessPolicy] = {}
        self.network: NetworkRules | None = None
        self.security_domain_activated = True
        # Called with the vault after an access policy changes (Event Grid's VaultAccessPolicyChanged).
        self.policy_listeners: list[Callable[[Vault], None]] = []

    # -- permission model ------------------------------------------------------------------------------------------

    @property
    def rbac(self) -> bool:
        return self._vault.properties.kind == "managedhsm" or self._vault.properties.rbac

    def use_rbac(self) -> None:
        """Switch the vault to Azure RBAC. One-way: access policies stop counting (they are kept, ignored)."""
        self._vault.properties.rbac = True

    def use_access_policies(self) -> None:
        """Refused once the vault uses RBAC: the fake models the switch to RBAC as one-way."""
        if self.rbac:
            raise ValueError(
                f"The vault {self._vault.name} uses Azure RBAC; switching back to access policies is not supported."
            )

    # -- RBAC ------------------------------------------------------------------------------------------------------

    def assign_role(self, identity: str | Identity, role: str | RoleDefinition, *, scope: str = "/") -> RoleAssignment:
        principal = Identity.of(identity)
        definition = find_role(role, self._vault.properties.kind)
        normalised = _normalise_scope(scope)
        if self._vault.properties.kind == "managedhsm" and normalised.split("/")[1:2] not in ([""], ["keys"]):
            raise ValueError(f"A Managed HSM role scope is '/', '/keys' or '/keys/<name>', not {scope!r}.")
        assignment = RoleAssignment(
            id=str(uuid.uuid4()),
            principal_id=principal.object_id,
            principal_name=principal.name,
            role=definition,
            scope=normalised,
            _owner=self,
        )
        with self._lock:
            self.assignments.append(assignment)
            self.enforce = True
        return assignment

    def remove_assignment(self, assignment: RoleAssignment) -> None:
        with self._lock:
            self.assignments = [item for item in self.assignments if item.id != assignment.id]

    def remove_role(self, identity: str | Identity, role: str | None = None, *, scope: str | None = None) -> int:
        principal = Identity.of(identity)
        definition = find_role(role, self._vault.properties.kind) if role is not None else None
        wanted_scope = _normalise_scope(scope) if scope is not None else None
        with self._lock:
            kept = [
                item
                for item in self.assignments
                if not (
                    item.principal_id == principal.object_id
                    and (definition is None or item.role == definition)
                    and (wanted_scope is None or item.scope == wanted_scope)
                )
            ]
            removed = len(self.assignments) - len(kept)
            self.assignments = kept
        return removed

    def role_assignments(self, identity: str | Identity | None = None) -> list[RoleAssignment]:
        with self._lock:
            items = list(self.assignments)
        if identity is None:
            return items
        oid = Identity.of(identity).object_id
        return [item for item in items if item.principal_id == oid]

    # -- access policies -------------------------------------------------------------------------------------------

    def set_access_policy(
        self,
        identity: str | Identity,
        *,
        secrets: Iterable[str] = (),
        keys: Iterable[str] = (),
        certificates: Iterable[str] = (),
    ) -> AccessPolicy:
        if self._vault.properties.kind == "managedhsm":
            raise ValueError("A Managed HSM pool has no access policies: use local RBAC roles (assign_role).")
        principal = Identity.of(identity)
        policy = AccessPolicy(
            object_id=principal.object_id,
            principal_name=principal.name,
            tenant_id=principal.tenant_id,
            secrets=policy_permissions("secrets", secrets),
            keys=policy_permissions("keys", keys),
            certificates=policy_permissions("certificates", certificates),
        )
        with self._lock:
            if principal.object_id not in self.policies and len(self.policies) >= MAX_ACCESS_POLICIES:
                raise ValueError(
                    f"The vault {self._vault.name} already has {MAX_ACCESS_POLICIES} access policy entries, the "
                    "service's limit; remove one or switch the vault to Azure RBAC."
                )
            self.policies[principal.object_id] = policy
            self.enforce = True
        self._policy_changed()
        return policy

    def remove_access_policy(self, identity: str | Identity) -> bool:
        with self._lock:
            removed = self.policies.pop(Identity.of(identity).object_id, None) is not None
        if removed:
            self._policy_changed()
        return removed

    def _policy_changed(self) -> None:
        for listener in list(self.policy_listeners):
            listener(self._vault)

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
        with self._lock:
            self.network = rules
        return rules

    def clear_network_rules(self) -> None:
        with self._lock:
            self.network = None

    # -- the decision ----------------------------------------------------------------------------------------------

    def check(self, ctx: OperationContext) -> None:
        """Raise the service's error if the caller of ``ctx`` may not run its operation; record the decision."""
        vault = self._vault
        props = vault.properties
        identity = ctx.identity
        operation = ctx.route.operation
        if props.kind == "managedhsm" and not self.security_domain_activated:
            _DECISIONS.value = AccessDecision(operation, None, False, None, None, "SecurityDomainNotActivated")
            raise ServiceError.security_domain_not_activated(props.name)
        with self._lock:
            network, enforce = self.network, self.enforce
            assignments, policies = list(self.assignments), dict(self.policies)
        where = f"{props.name};location={props.location}"
        if network is not None:
            address = client_address(ctx.request, identity)
            if not network.allows(address):
                _DECISIONS.value = AccessDecision(operation, None, False, None, None, "ForbiddenByFirewall")
                raise ServiceError.forbidden_by_firewall(address or "unknown", caller_string(identity), where)
        if not enforce:
            return
        if identity is None:
            _DECISIONS.value = AccessDecision(operation, None, False, None, None, "Unauthorized")
            raise ServiceError.untrusted_token()
        collection, name = _resource(ctx)
        if self.rbac:
            action = rbac_action(operation, props.kind)
            if action is None:
                return
            granted = next(
                (
                    item
                    for item in assignments
                    if item.principal_id == identity.object_id
                    and item.covers(collection, name)
                    and item.role.allows(action)
                ),
                None,
            )
            _DECISIONS.value = AccessDecision(operation, action, False, granted is not None, granted, None)
            if granted is None:
                resource = props.resource_id + (f"/{collection}/{name}" if collection and name else "")
                raise ServiceError.forbidden_by_rbac(caller_string(identity), action, resource, where)
            return
        permission = OPERATION_PERMISSIONS.get(operation)
        if permission is None:
            return
        policy = policies.get(identity.object_id)
        allowed = policy is not None and policy.grants(permission.collection, permission.policy)
        _DECISIONS.value = AccessDecision(operation, None, allowed, None, None, None)
        if not allowed:
            raise ServiceError.access_denied_by_policy(
                caller_string(identity), permission.collection, permission.policy, where
            )


def _resource(ctx: OperationContext) -> tuple[str | None, str | None]:
    """The object a request acts on: (``secrets``/``keys``/``certificates``, name), or (collection, None)."""
    first = ctx.route.template.strip("/").split("/")[0].lower()
    collection = first.removeprefix("deleted")
    if collection not in ("secrets", "keys", "certificates"):
        return None, None
    name = ctx.params.get("name") or None
    return collection, name.lower() if name else None


def caller_string(identity: Identity | None) -> str:
    """The ``appid=...;oid=...;iss=...`` form the service uses to name a caller in its messages."""
    if identity is None:
        return "appid=;oid=;iss="
    app = identity.app_id or identity.object_id
    return f"appid={app};oid={identity.object_id};iss=https://sts.windows.net/{identity.tenant_id}/"


# -- the decision of the current request, for the audit log --------------------------------------------------------


@dataclass(frozen=True)
class AccessDecision:
    """How the authorizer judged one request (read by the audit log; never holds a value)."""

    operation: str
    action: str | None
    access_policy_match: bool
    rbac_authorized: bool | None
    assignment: RoleAssignment | None
    denial: str | None


class _Decisions(threading.local):
    value: AccessDecision | None = None


_DECISIONS = _Decisions()


def take_decision() -> AccessDecision | None:
    """The decision made for the request this thread is finishing (dispatch is synchronous), then forget it."""
    decision, _DECISIONS.value = _DECISIONS.value, None
    return decision


# -- wiring --------------------------------------------------------------------------------------------------------

_KEY = "access"


def access_of(vault: Vault) -> VaultAccess:
    """The access control state of a vault (made on first use)."""
    found = vault.extension(_KEY, lambda: VaultAccess(vault))
    assert isinstance(found, VaultAccess)
    return found


class AccessControl:
    """The authorizer the fake installs: judges every operation against its vault's access control state."""

    def __call__(self, ctx: OperationContext) -> None:
        _DECISIONS.value = None
        access_of(ctx.vault).check(ctx)
