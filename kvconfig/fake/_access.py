"""Access control of the fake: RBAC roles and assignments, access policies, network rules, and the authorizer.

Enforcement is opt-in per vault, so test set-ups that pass any token keep working: a vault enforces nothing until it
gets its first role assignment or access policy, or was created with ``enforce_access=True`` (or
``vault.access.enforce = True``). Network rules are independent: they apply as soon as they are set.

While a vault enforces access control, only the fake's own valid tokens get in. A foreign (opaque) token answers 401
``Unauthorized``, as the service does for a token it cannot validate; 403 is kept for callers it knows but who lack
the permission (``ForbiddenByRbac`` in RBAC mode, ``AccessDenied`` in access-policy mode), and for the firewall
(``ForbiddenByFirewall``).

Facts (data actions, role definitions, access-policy permission names) come from Microsoft's built-in roles reference
(``articles/role-based-access-control/built-in-roles/security.md``), the resource-provider operations reference
(``permissions/security.md``) and, for Managed HSM, a recording of a real pool's role definitions. Mappings marked
``[inferred]`` are not documented per operation and follow the nearest documented action.
"""

from __future__ import annotations

import ipaddress
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Literal

from kvconfig.fake._errors import ServiceError
from kvconfig.fake._router import client_address
from kvconfig.fake._tokens import Identity

if TYPE_CHECKING:
    from kvconfig.fake._routing import OperationContext
    from kvconfig.fake._state import Vault, VaultKind

__all__ = [
    "BUILT_IN_ROLES",
    "MAX_ACCESS_POLICIES",
    "OPERATION_PERMISSIONS",
    "POLICY_PERMISSIONS",
    "AccessControl",
    "AccessDecision",
    "AccessPolicy",
    "NetworkRules",
    "Permission",
    "RoleAssignment",
    "RoleDefinition",
    "VaultAccess",
    "access_of",
    "caller_string",
    "find_role",
    "take_decision",
]

Collection = Literal["secrets", "keys", "certificates"]
MAX_ACCESS_POLICIES = 1024
_KV = "Microsoft.KeyVault/vaults"
_HSM = "Microsoft.KeyVault/managedHsm"


# -- role definitions ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleDefinition:
    """A built-in data-plane role: its name, id and data actions (wildcards as in Azure: ``.../secrets/*``)."""

    name: str
    id: str
    data_actions: tuple[str, ...]
    not_data_actions: tuple[str, ...] = ()
    kind: VaultKind = "vault"

    def allows(self, action: str) -> bool:
        wanted = action.lower()
        granted = any(fnmatchcase(wanted, pattern.lower()) for pattern in self.data_actions)
        return granted and not any(fnmatchcase(wanted, pattern.lower()) for pattern in self.not_data_actions)


BUILT_IN_ROLES: tuple[RoleDefinition, ...] = (
    # Key Vault (Azure RBAC), from the built-in roles reference.
    RoleDefinition("Key Vault Administrator", "00482a5a-887f-4fb3-b363-3b7fe8e74483", (f"{_KV}/*",)),
    RoleDefinition(
        "Key Vault Certificate User",
        "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba",
        (
            f"{_KV}/certificates/read",
            f"{_KV}/secrets/getSecret/action",
            f"{_KV}/secrets/readMetadata/action",
            f"{_KV}/keys/read",
        ),
    ),
    RoleDefinition(
        "Key Vault Certificates Officer",
        "a4417e6f-fecd-4de8-b567-7b0420556985",
        (f"{_KV}/certificatecas/*", f"{_KV}/certificates/*", f"{_KV}/certificatecontacts/write"),
    ),
    RoleDefinition(
        "Key Vault Crypto Officer",
        "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
        (f"{_KV}/keys/*", f"{_KV}/keyrotationpolicies/*"),
    ),
    RoleDefinition(
        "Key Vault Crypto Service Encryption User",
        "e147488a-f6f5-4113-8e2d-b22465e65bf6",
        (f"{_KV}/keys/read", f"{_KV}/keys/wrap/action", f"{_KV}/keys/unwrap/action"),
    ),
    RoleDefinition(
        "Key Vault Crypto Service Release User", "08bbd89e-9f13-488c-ac41-acfcb10c90ab", (f"{_KV}/keys/release/action",)
    ),
    RoleDefinition(
        "Key Vault Crypto User",
        "12338af0-0e69-4776-bea7-57ae8d297424",
        tuple(
            f"{_KV}/keys/{action}"
            for action in (
                "read",
                "update/action",
                "backup/action",
                "encrypt/action",
                "decrypt/action",
                "wrap/action",
                "unwrap/action",
                "sign/action",
                "verify/action",
            )
        ),
    ),
    # Manages role assignments (a control-plane action): no data actions at all.
    RoleDefinition("Key Vault Data Access Administrator", "8b54135c-b56d-4d72-a534-26097cfdc8d8", ()),
    # Purges soft-deleted *vaults* (a control-plane action): no data actions.
    RoleDefinition("Key Vault Purge Operator", "a68e7c17-0ab2-4c09-9a58-125dae29748c", ()),
    RoleDefinition(
        "Key Vault Reader",
        "21090545-7ca7-4776-b22c-e363652d74d2",
        (f"{_KV}/*/read", f"{_KV}/secrets/readMetadata/action"),
    ),
    RoleDefinition("Key Vault Secrets Officer", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", (f"{_KV}/secrets/*",)),
    RoleDefinition(
        "Key Vault Secrets User",
        "4633458b-17de-408a-b874-0445c86b69e6",
        (f"{_KV}/secrets/getSecret/action", f"{_KV}/secrets/readMetadata/action"),
    ),
    # Managed HSM local RBAC, from a real pool's role definitions.
    RoleDefinition(
        "Managed HSM Administrator",
        "a290e904-7015-4bba-90c8-60543313cdb4",
        (
            f"{_HSM}/roleAssignments/*",
            f"{_HSM}/roleDefinitions/*",
            f"{_HSM}/securitydomain/*",
            f"{_HSM}/backup/*",
            f"{_HSM}/restore/*",
        ),
        kind="managedhsm",
    ),
    RoleDefinition(
        "Managed HSM Crypto Officer",
        "515eb02d-2335-4d2d-92f2-b1cbdf9c3778",
        (
            f"{_HSM}/roleAssignments/*",
            f"{_HSM}/roleDefinitions/*",
            f"{_HSM}/keys/deletedKeys/read/action",
            f"{_HSM}/keys/deletedKeys/delete",
            f"{_HSM}/keys/deletedKeys/recover/action",
            f"{_HSM}/keys/export/action",
        ),
        kind="managedhsm",
    ),
    RoleDefinition(
        "Managed HSM Crypto User",
        "21dbd100-6940-42c2-9190-5d6cb909625b",
        (
            f"{_HSM}/roleDefinitions/read/action",
            f"{_HSM}/roleAssignments/read/action",
            *(
                f"{_HSM}/keys/{action}"
                for action in (
                    "read/action",
                    "write/action",
                    "delete",
                    "create",
                    "import/action",
                    "release/action",
                    "backup/action",
                    "restore/action",
                    "encrypt/action",
                    "decrypt/action",
                    "wrap/action",
                    "unwrap/action",
                    "sign/action",
                    "verify/action",
                )
            ),
            f"{_HSM}/rng/action",
        ),
        kind="managedhsm",
    ),
    RoleDefinition(
        "Managed HSM Policy Administrator",
        "4bd23610-cdcf-4971-bdee-bdc562cc28e4",
        (f"{_HSM}/roleDefinitions/*", f"{_HSM}/roleAssignments/*"),
        kind="managedhsm",
    ),
    RoleDefinition(
        "Managed HSM Crypto Auditor",
        "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3",
        (
            f"{_HSM}/roleAssignments/read/action",
            f"{_HSM}/roleDefinitions/read/action",
            f"{_HSM}/keys/read/action",
            f"{_HSM}/keys/deletedKeys/read/action",
        ),
        kind="managedhsm",
    ),
    RoleDefinition(
        "Managed HSM Crypto Service Encryption User",
        "33413926-3206-4cdd-b39a-83574fe37a17",
        (f"{_HSM}/keys/read/action", f"{_HSM}/keys/wrap/action", f"{_HSM}/keys/unwrap/action"),
        kind="managedhsm",
    ),
    RoleDefinition(
        "Managed HSM Crypto Service Release User",
        "21dbd100-6940-42c2-9190-5d6cb909625c",
        (f"{_HSM}/keys/release/action",),
        kind="managedhsm",
    ),
    RoleDefinition(
        "Managed HSM Backup User",
        "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8",
        (f"{_HSM}/backup/start/action", f"{_HSM}/backup/status/action", f"{_HSM}/keys/backup/action"),
        kind="managedhsm",
    ),
)

_ROLES_BY_KEY = {key: role for role in BUILT_IN_ROLES for key in (role.name.lower(), role.id)}


def find_role(role: str | RoleDefinition, kind: VaultKind = "vault") -> RoleDefinition:
    """A built-in role by name (case-insensitive) or id, checked against the kind of vault it is assigned on."""
    found = role if isinstance(role, RoleDefinition) else _ROLES_BY_KEY.get(role.strip().lower())
    if found is None:
        names = ", ".join(r.name for r in BUILT_IN_ROLES if r.kind == kind)
        raise ValueError(f"{role!r} is not a built-in role. Roles for this kind of vault: {names}.")
    if found.kind != kind:
        where = "a Managed HSM pool" if kind == "managedhsm" else "a key vault"
        raise ValueError(f"The role {found.name!r} cannot be assigned on {where}.")
    return found


# -- what each operation needs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Permission:
    """What one operation needs: its access-policy permission and its RBAC data action (vault and Managed HSM)."""

    collection: Collection
    policy: str
    action: str
    hsm_action: str | None = None


def _secret(policy: str, action: str) -> Permission:
    return Permission("secrets", policy, f"{_KV}/secrets/{action}")


def _key(policy: str, action: str, hsm: str) -> Permission:
    return Permission("keys", policy, f"{_KV}/{action}", f"{_HSM}/keys/{hsm}")


def _cert(policy: str, action: str) -> Permission:
    return Permission("certificates", policy, f"{_KV}/{action}")


OPERATION_PERMISSIONS: dict[str, Permission] = {
    # secrets (12)
    "GetSecret": _secret("get", "getSecret/action"),
    "GetSecrets": _secret("list", "readMetadata/action"),
    "GetSecretVersions": _secret("list", "readMetadata/action"),
    "SetSecret": _secret("set", "setSecret/action"),
    "UpdateSecret": _secret("set", "update/action"),
    "DeleteSecret": _secret("delete", "delete"),
    "GetDeletedSecret": _secret("get", "readMetadata/action"),  # [inferred] no value is returned
    "GetDeletedSecrets": _secret("list", "readMetadata/action"),
    "PurgeDeletedSecret": _secret("purge", "purge/action"),
    "RecoverDeletedSecret": _secret("recover", "recover/action"),
    "BackupSecret": _secret("backup", "backup/action"),
    "RestoreSecret": _secret("restore", "restore/action"),
    # keys (24; GetRandomBytes needs only rng/action on a pool, see below)
    "GetKey": _key("get", "keys/read", "read/action"),
    "GetKeys": _key("list", "keys/read", "read/action"),
    "GetKeyVersions": _key("list", "keys/read", "read/action"),
    "CreateKey": _key("create", "keys/create/action", "create"),
    "ImportKey": _key("import", "keys/import/action", "import/action"),
    "UpdateKey": _key("update", "keys/update/action", "write/action"),
    "DeleteKey": _key("delete", "keys/delete", "delete"),
    "BackupKey": _key("backup", "keys/backup/action", "backup/action"),
    "RestoreKey": _key("restore", "keys/restore/action", "restore/action"),
    "GetDeletedKey": _key("get", "keys/read", "deletedKeys/read/action"),
    "GetDeletedKeys": _key("list", "keys/read", "deletedKeys/read/action"),
    "RecoverDeletedKey": _key("recover", "keys/recover/action", "deletedKeys/recover/action"),
    "PurgeDeletedKey": _key("purge", "keys/purge/action", "deletedKeys/delete"),
    "encrypt": _key("encrypt", "keys/encrypt/action", "encrypt/action"),
    "decrypt": _key("decrypt", "keys/decrypt/action", "decrypt/action"),
    "sign": _key("sign", "keys/sign/action", "sign/action"),
    "verify": _key("verify", "keys/verify/action", "verify/action"),
    "wrapKey": _key("wrapKey", "keys/wrap/action", "wrap/action"),
    "unwrapKey": _key("unwrapKey", "keys/unwrap/action", "unwrap/action"),
    "release": _key("release", "keys/release/action", "release/action"),
    "RotateKey": _key("rotate", "keys/rotate/action", "create"),  # [inferred] on a pool
    "GetKeyRotationPolicy": _key("getrotationpolicy", "keyrotationpolicies/read", "read/action"),  # pool: [inferred]
    "UpdateKeyRotationPolicy": _key("setrotationpolicy", "keyrotationpolicies/write", "write/action"),  # [inferred]
    "GetKeyAttestation": _key("get", "keys/read", "read/action"),  # [inferred]
    # certificates (27)
    "GetCertificate": _cert("get", "certificates/read"),
    "GetCertificates": _cert("list", "certificates/read"),
    "GetCertificateVersions": _cert("list", "certificates/read"),
    "GetCertificatePolicy": _cert("get", "certificates/read"),
    "UpdateCertificatePolicy": _cert("update", "certificates/update/action"),
    "CreateCertificate": _cert("create", "certificates/create/action"),
    "ImportCertificate": _cert("import", "certificates/import/action"),
    "MergeCertificate": _cert("create", "certificates/create/action"),
    "GetCertificateOperation": _cert("get", "certificates/read"),
    "UpdateCertificateOperation": _cert("update", "certificates/update/action"),
    "DeleteCertificateOperation": _cert("update", "certificates/update/action"),
    "UpdateCertificate": _cert("update", "certificates/update/action"),
    "DeleteCertificate": _cert("delete", "certificates/delete"),
    "BackupCertificate": _cert("backup", "certificates/backup/action"),
    "RestoreCertificate": _cert("restore", "certificates/restore/action"),
    "GetDeletedCertificate": _cert("get", "certificates/read"),
    "GetDeletedCertificates": _cert("list", "certificates/read"),
    "PurgeDeletedCertificate": _cert("purge", "certificates/purge/action"),
    "RecoverDeletedCertificate": _cert("recover", "certificates/recover/action"),
    "SetCertificateContacts": _cert("managecontacts", "certificatecontacts/write"),
    "GetCertificateContacts": _cert("managecontacts", "certificatecontacts/write"),  # [inferred] no read action
    "DeleteCertificateContacts": _cert("managecontacts", "certificatecontacts/write"),
    "GetCertificateIssuers": _cert("listissuers", "certificatecas/read"),
    "GetCertificateIssuer": _cert("getissuers", "certificatecas/read"),
    "SetCertificateIssuer": _cert("setissuers", "certificatecas/write"),
    "UpdateCertificateIssuer": _cert("setissuers", "certificatecas/write"),
    "DeleteCertificateIssuer": _cert("deleteissuers", "certificatecas/delete"),
}
_HSM_ONLY: dict[str, str] = {"GetRandomBytes": f"{_HSM}/rng/action"}

POLICY_PERMISSIONS: dict[Collection, frozenset[str]] = {
    "secrets": frozenset({"get", "list", "set", "delete", "recover", "backup", "restore", "purge"}),
    "keys": frozenset(
        {
            "get",
            "list",
            "update",
            "create",
            "import",
            "delete",
            "recover",
            "backup",
            "restore",
            "decrypt",
            "encrypt",
            "unwrapkey",
            "wrapkey",
            "verify",
            "sign",
            "purge",
            "release",
            "rotate",
            "getrotationpolicy",
            "setrotationpolicy",
        }
    ),
    "certificates": frozenset(
        {
            "get",
            "list",
            "update",
            "create",
            "import",
            "delete",
            "recover",
            "backup",
            "restore",
            "managecontacts",
            "manageissuers",
            "getissuers",
            "listissuers",
            "setissuers",
            "deleteissuers",
            "purge",
        }
    ),
}
# "manageissuers" grants every issuer permission, as in the portal's templates.
_ISSUER_PERMISSIONS = frozenset({"getissuers", "listissuers", "setissuers", "deleteissuers"})


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
        wanted = permission.lower()
        return wanted in granted or (wanted in _ISSUER_PERMISSIONS and "manageissuers" in granted)


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
            secrets=_permissions("secrets", secrets),
            keys=_permissions("keys", keys),
            certificates=_permissions("certificates", certificates),
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
            action = _action_for(operation, props.kind)
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


def _permissions(collection: Collection, requested: Iterable[str]) -> frozenset[str]:
    if isinstance(requested, str):
        requested = [requested]
    known = POLICY_PERMISSIONS[collection]
    chosen: set[str] = set()
    for item in requested:
        value = item.strip().lower()
        if value == "all":
            chosen |= known
        elif value in known:
            chosen.add(value)
        else:
            raise ValueError(
                f"{item!r} is not a {collection} access-policy permission; use one of {', '.join(sorted(known))} or "
                "'all'."
            )
    return frozenset(chosen)


def _resource(ctx: OperationContext) -> tuple[str | None, str | None]:
    """The object a request acts on: (``secrets``/``keys``/``certificates``, name), or (collection, None)."""
    first = ctx.route.template.strip("/").split("/")[0].lower()
    collection = first.removeprefix("deleted")
    if collection not in ("secrets", "keys", "certificates"):
        return None, None
    name = ctx.params.get("name") or None
    return collection, name.lower() if name else None


def _action_for(operation: str, kind: VaultKind) -> str | None:
    if kind == "managedhsm":
        permission = OPERATION_PERMISSIONS.get(operation)
        return permission.hsm_action if permission is not None else _HSM_ONLY.get(operation)
    permission = OPERATION_PERMISSIONS.get(operation)
    return permission.action if permission is not None else None


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
