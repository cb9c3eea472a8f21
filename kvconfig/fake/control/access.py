"""The authorizer: judges every operation against its vault's access control state, and records the decision.

Enforcement is opt-in per vault, so test set-ups that pass any token keep working: a vault enforces nothing until it
gets its first role assignment or access policy, or was created with ``enforce_access=True`` (or
``vault.access.enforce = True``). Network rules are independent: they apply as soon as they are set.

While a vault enforces access control, only the fake's own valid tokens get in. A foreign (opaque) token answers 401
``Unauthorized``, as the service does for a token it cannot validate; 403 is kept for callers it knows but who lack
the permission (``ForbiddenByRbac`` in RBAC mode, ``AccessDenied`` in access-policy mode), and for the firewall
(``ForbiddenByFirewall``).

The state (role assignments, access policies, network rules) is the vault's, in :mod:`kvconfig.fake.core.permissions`;
the role table and what each operation needs (data actions, access-policy permissions) are data, in
:mod:`kvconfig.fake.core.roles`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.identity import Identity
from kvconfig.fake.core.permissions import RoleAssignment
from kvconfig.fake.core.records import client_address
from kvconfig.fake.core.roles import OPERATION_PERMISSIONS, rbac_action
from kvconfig.fake.core.routing import OperationContext

__all__ = ["AccessControl", "AccessDecision", "caller_string", "check_access", "take_decision"]


# -- the decision -------------------------------------------------------------------------------------------------


def check_access(ctx: OperationContext) -> None:
    """Raise the service's error if the caller of ``ctx`` may not run its operation; record the decision."""
    access = ctx.vault.access
    props = ctx.vault.properties
    identity = ctx.identity
    operation = ctx.route.operation
    if props.kind == "managedhsm" and not access.security_domain_activated:
        _DECISIONS.value = AccessDecision(operation, None, False, None, None, "SecurityDomainNotActivated")
        raise ServiceError.security_domain_not_activated(props.name)
    with access.lock:
        network, enforce = access.network, access.enforce
        assignments, policies = list(access.assignments), dict(access.policies)
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
    # The data plane resolves group membership from the token: an assignment or access policy to one of the
    # caller's groups counts as one to the caller.
    principals = identity.principal_ids
    if access.rbac:
        action = rbac_action(operation, props.kind)
        if action is None:
            return
        granted = next(
            (
                item
                for item in assignments
                if item.principal_id in principals and item.covers(collection, name) and item.role.allows(action)
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
    allowed = any(
        policy.grants(permission.collection, permission.policy)
        for policy in (policies.get(object_id) for object_id in principals)
        if policy is not None
    )
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


# -- wiring ----------------------------------------------------------------------------------------------------------


class AccessControl:
    """The authorizer the fake installs: judges every operation against its vault's access control state."""

    def __call__(self, ctx: OperationContext) -> None:
        _DECISIONS.value = None
        check_access(ctx)
