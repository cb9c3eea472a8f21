"""The data of access control: built-in roles and their data actions, and what each operation needs.

Pure data and lookups; ``control/access.py`` holds the state and enforces it. Facts (data actions, role definitions,
access-policy permission names) come from Microsoft's built-in roles reference
(``articles/role-based-access-control/built-in-roles/security.md``), the resource-provider operations reference
(``permissions/security.md``) and, for Managed HSM, a recording of a real pool's role definitions. Mappings marked
``[inferred]`` are not documented per operation and follow the nearest documented action.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from kvconfig.fake.core.properties import VaultKind

__all__ = [
    "BUILT_IN_ROLES",
    "OPERATION_PERMISSIONS",
    "POLICY_PERMISSIONS",
    "Collection",
    "Permission",
    "RoleDefinition",
    "find_role",
    "policy_grants",
    "policy_permissions",
    "rbac_action",
]

Collection = Literal["secrets", "keys", "certificates"]
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
_HSM_ONLY: dict[str, str] = {
    "GetRandomBytes": f"{_HSM}/rng/action",
    # Managed HSM administration (azure-keyvault-administration), named as the built-in roles grant them.
    "RoleDefinitionsList": f"{_HSM}/roleDefinitions/read/action",
    "RoleDefinitionsGet": f"{_HSM}/roleDefinitions/read/action",
    "RoleDefinitionsCreateOrUpdate": f"{_HSM}/roleDefinitions/write/action",
    "RoleDefinitionsDelete": f"{_HSM}/roleDefinitions/delete/action",
    "RoleAssignmentsListForScope": f"{_HSM}/roleAssignments/read/action",
    "RoleAssignmentsGet": f"{_HSM}/roleAssignments/read/action",
    "RoleAssignmentsCreate": f"{_HSM}/roleAssignments/write/action",
    "RoleAssignmentsDelete": f"{_HSM}/roleAssignments/delete/action",
    "FullBackup": f"{_HSM}/backup/start/action",
    "PreFullBackup": f"{_HSM}/backup/start/action",
    "FullBackupStatus": f"{_HSM}/backup/status/action",
    "FullRestoreOperation": f"{_HSM}/restore/start/action",
    "PreFullRestoreOperation": f"{_HSM}/restore/start/action",
    "SelectiveKeyRestoreOperation": f"{_HSM}/restore/start/action",
    "RestoreStatus": f"{_HSM}/restore/status/action",
}

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


def rbac_action(operation: str, kind: VaultKind) -> str | None:
    """The data action ``operation`` needs on this kind of vault (None: the operation needs none)."""
    permission = OPERATION_PERMISSIONS.get(operation)
    if kind == "managedhsm":
        return permission.hsm_action if permission is not None else _HSM_ONLY.get(operation)
    return permission.action if permission is not None else None


def policy_grants(granted: frozenset[str], permission: str) -> bool:
    """Whether an access policy's permissions (lower case) for one object kind include ``permission``."""
    wanted = permission.lower()
    return wanted in granted or (wanted in _ISSUER_PERMISSIONS and "manageissuers" in granted)


def policy_permissions(collection: Collection, requested: Iterable[str]) -> frozenset[str]:
    """The access-policy permissions named by ``requested`` (case-insensitive, ``all`` for every one), checked."""
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
