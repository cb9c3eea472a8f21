"""Managed HSM local RBAC over REST: role definitions (built-in and custom) and role assignments.

``KeyVaultAccessControlClient`` (azure-keyvault-administration) reads and writes them under
``/{scope}/providers/Microsoft.Authorization/roleDefinitions`` and ``.../roleAssignments``, with the scope ``/``,
``/keys`` or ``/keys/{name}`` in front. Assignments are the pool's own access control state
(``vault.access``, :mod:`kvconfig.fake.core.permissions`): one made here is judged on the very next request, exactly
like one made with ``fake.vault(...).assign_role(...)`` (which the list shows too). Custom role definitions live with
the pool.

Error wordings are marked ``[R]`` where a recording of the service shows them (Azure/azure-sdk-assets, the Java
client's session records of ``KeyVaultAccessControlClientTest``) and ``[I]`` (inferred) where none does. The service
ends these messages with `` (Activity ID: <guid>)``; the fake leaves that out, as it does for every answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.identity import Identity
from kvconfig.fake.core.permissions import RoleAssignment
from kvconfig.fake.core.roles import BUILT_IN_ROLES, RoleDefinition
from kvconfig.fake.core.routing import OperationContext, Route
from kvconfig.fake.core.state import Vault, VaultKind

__all__ = ["ROUTES", "definition_id"]

_HSM_ONLY: frozenset[VaultKind] = frozenset({"managedhsm"})
_DEFINITION_PREFIX = "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/"
_STATE = "administration.role_definitions"
_HSM_ACTIONS = "microsoft.keyvault/managedhsm/"
_MAX_ACTIONS = 256
_MAX_TEXT = 1024


@dataclass
class _CustomRoles:
    lock: threading.Lock = field(default_factory=threading.Lock)
    by_name: dict[str, tuple[RoleDefinition, str, tuple[str, ...]]] = field(default_factory=dict)


def _custom(vault: Vault) -> _CustomRoles:
    return cast(_CustomRoles, vault.extension(_STATE, _CustomRoles))


def definition_id(role: RoleDefinition) -> str:
    """A role definition's id as the service writes it: ``Microsoft.KeyVault/providers/.../roleDefinitions/<guid>``."""
    return f"{_DEFINITION_PREFIX}{role.id}"


# -- scopes and wire shapes ----------------------------------------------------------------------------------------


def _scope(ctx: OperationContext) -> str:
    """The request's scope: ``/``, ``/keys`` or ``/keys/<name>`` (the part of the path before ``/providers``)."""
    key = ctx.param("keyname")
    if key:
        return f"/keys/{key.lower()}"
    return "/keys" if ctx.request.parts[2].lower().startswith("/keys/") else "/"


def _definition_to_wire(role: RoleDefinition, *, custom: tuple[str, tuple[str, ...]] | None = None) -> dict[str, Any]:
    description, scopes = custom if custom is not None else ("", ("/",))
    return {
        "id": definition_id(role),
        "name": role.id,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": role.name,
            "description": description,
            # AKVBuiltInRole: the recorded answers (python test_role_definitions session records) and the SDK's enum.
            "type": "CustomRole" if custom is not None else "AKVBuiltInRole",
            "permissions": [
                {
                    "actions": [],
                    "notActions": [],
                    "dataActions": list(role.data_actions),
                    "notDataActions": list(role.not_data_actions),
                }
            ],
            "assignableScopes": list(scopes),
        },
    }


def _assignment_to_wire(assignment: RoleAssignment) -> dict[str, Any]:
    prefix = "" if assignment.scope == "/" else assignment.scope
    return {
        "id": f"{prefix}/providers/Microsoft.Authorization/roleAssignments/{assignment.id}",
        "name": assignment.id,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "scope": assignment.scope,
            "roleDefinitionId": definition_id(assignment.role),
            "principalId": assignment.principal_id,
        },
    }


def _filter_value(ctx: OperationContext, field_name: str) -> str | None:
    """The value of ``$filter=<field> eq '<value>'`` (the one filter form the fake reads), else None."""
    raw = ctx.query.get("$filter", "").strip()
    if not raw:
        return None
    head, _, value = raw.partition(" eq ")
    if head.strip().lower() != field_name.lower() or not (value.startswith("'") and value.endswith("'")):
        raise ServiceError.bad_parameter(f"The filter '{raw[:200]}' is not supported.")  # [I]
    return value[1:-1]


# -- role definitions ----------------------------------------------------------------------------------------------


def _all_definitions(vault: Vault) -> list[tuple[RoleDefinition, tuple[str, tuple[str, ...]] | None]]:
    found: list[tuple[RoleDefinition, tuple[str, tuple[str, ...]] | None]] = [
        (role, None) for role in BUILT_IN_ROLES if role.kind == "managedhsm"
    ]
    roles = _custom(vault)
    with roles.lock:
        found += [(role, (description, scopes)) for role, description, scopes in roles.by_name.values()]
    return found


def find_definition(vault: Vault, wanted: str) -> RoleDefinition | None:
    """A role definition of the pool by id (``Microsoft.KeyVault/.../roleDefinitions/<guid>`` or the bare guid)."""
    key = wanted.rsplit("/", 1)[-1].lower()
    return next((role for role, _ in _all_definitions(vault) if role.id.lower() == key), None)


def _definition_not_found() -> ServiceError:
    # [R] KeyVaultAccessControlClientTest.deleteNonExistingRoleDefinitionDoesNotThrow (Java session record): the
    # service names no definition in the message.
    return ServiceError(404, "RoleDefinitionNotFound", "Requested role definition not found")


def list_role_definitions(ctx: OperationContext) -> dict[str, Any]:
    """Role Definitions - List: GET /{scope}/providers/Microsoft.Authorization/roleDefinitions"""
    role_name = _filter_value(ctx, "roleName")
    chosen = [
        _definition_to_wire(role, custom=custom)
        for role, custom in _all_definitions(ctx.vault)
        if role_name is None or role.name.lower() == role_name.lower()
    ]
    return {"value": chosen, "nextLink": None}


def get_role_definition(ctx: OperationContext) -> dict[str, Any]:
    """Role Definitions - Get: GET /{scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionName}"""
    name = ctx.param("definition")
    for role, custom in _all_definitions(ctx.vault):
        if role.id.lower() == name.lower():
            return _definition_to_wire(role, custom=custom)
    raise _definition_not_found()


def _strings(raw: object, what: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > _MAX_ACTIONS or not all(isinstance(item, str) for item in raw):
        raise ServiceError.bad_parameter(f"The property '{what}' must be a list of at most {_MAX_ACTIONS} strings.")
    return tuple(raw)


def _data_actions(permissions: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if permissions is None:
        # A definition without permissions is created, granting nothing (Java session record
        # KeyVaultAccessControlClientTest.createExistingRoleAssignmentThrows).
        return (), ()
    if not isinstance(permissions, list) or len(permissions) > 16:
        raise ServiceError.bad_parameter("The property 'permissions' must be a list of permission objects.")
    granted: list[str] = []
    refused: list[str] = []
    for entry in permissions:
        if not isinstance(entry, dict):
            raise ServiceError.bad_parameter("The property 'permissions' must be a list of permission objects.")
        if _strings(entry.get("actions"), "actions") or _strings(entry.get("notActions"), "notActions"):
            # [I] a Managed HSM role grants data actions only; control-plane actions belong to ARM roles.
            raise ServiceError.bad_parameter("A Managed HSM role definition grants data actions only.")
        granted += _strings(entry.get("dataActions"), "dataActions")
        refused += _strings(entry.get("notDataActions"), "notDataActions")
    for action in (*granted, *refused):
        if not action.lower().startswith(_HSM_ACTIONS):
            raise ServiceError.bad_parameter(f"The data action '{action[:200]}' is not a Managed HSM data action.")
    return tuple(granted), tuple(refused)


def set_role_definition(ctx: OperationContext) -> dict[str, Any]:
    """Role Definitions - Create Or Update: PUT /{scope}/providers/.../roleDefinitions/{roleDefinitionName}"""
    name = ctx.param("definition").lower()
    body = ctx.body()
    props = body.get("properties")
    if not isinstance(props, dict):
        raise ServiceError.missing_field("properties")
    if any(role.id.lower() == name for role in BUILT_IN_ROLES):
        # [R] azure-sdk-for-js keyvault-admin nock recording (2021, index id 8136105042): PUT of a built-in role's id.
        raise ServiceError.bad_parameter(
            "Cannot re-use the name/GUID matching that of a built-in role. Please use a unique role ID."
        )
    role_name = props.get("roleName") or name
    description = props.get("description") or ""
    if not isinstance(role_name, str) or not isinstance(description, str) or len(role_name + description) > _MAX_TEXT:
        raise ServiceError.bad_parameter("The properties 'roleName' and 'description' must be short strings.")
    if props.get("type") not in (None, "CustomRole"):
        raise ServiceError.bad_parameter("Only role definitions of type 'CustomRole' can be created.")  # [I]
    granted, refused = _data_actions(props.get("permissions"))
    scopes = _strings(props.get("assignableScopes"), "assignableScopes") or (_scope(ctx),)
    role = RoleDefinition(role_name, name, granted, refused, kind="managedhsm")
    roles = _custom(ctx.vault)
    with roles.lock:
        roles.by_name[name] = (role, description, scopes)
    # Assignments of an updated definition judge with its new actions from the next request.
    access = ctx.vault.access
    with access.lock:
        access.assignments = [
            _with_role(item, role) if item.role.id.lower() == name else item for item in access.assignments
        ]
    return _definition_to_wire(role, custom=(description, scopes))


def _with_role(assignment: RoleAssignment, role: RoleDefinition) -> RoleAssignment:
    return RoleAssignment(
        assignment.id, assignment.principal_id, assignment.principal_name, role, assignment.scope, assignment._owner
    )


def delete_role_definition(ctx: OperationContext) -> dict[str, Any]:
    """Role Definitions - Delete: DELETE /{scope}/providers/.../roleDefinitions/{roleDefinitionName}"""
    name = ctx.param("definition").lower()
    if any(role.id.lower() == name for role in BUILT_IN_ROLES):
        raise ServiceError(403, "Forbidden", "A built-in role definition cannot be deleted.")  # [I]
    roles = _custom(ctx.vault)
    with roles.lock:
        found = roles.by_name.get(name)
        if found is None:
            raise _definition_not_found()
        if any(item.role.id.lower() == name for item in ctx.vault.access.role_assignments()):
            raise ServiceError(  # [I]
                409, "RoleDefinitionHasAssignments", "The role definition has role assignments: delete them first."
            )
        del roles.by_name[name]
    role, description, scopes = found
    return _definition_to_wire(role, custom=(description, scopes))


# -- role assignments ----------------------------------------------------------------------------------------------


def _assignments_under(vault: Vault, scope: str) -> Iterable[RoleAssignment]:
    for assignment in vault.access.role_assignments():
        if scope == "/" or assignment.scope == scope or assignment.scope.startswith(scope + "/"):
            yield assignment


def list_role_assignments(ctx: OperationContext) -> dict[str, Any]:
    """Role Assignments - List For Scope: GET /{scope}/providers/Microsoft.Authorization/roleAssignments"""
    principal = _filter_value(ctx, "principalId")
    chosen = [
        _assignment_to_wire(item)
        for item in _assignments_under(ctx.vault, _scope(ctx))
        if principal is None or item.principal_id.lower() == principal.lower()
    ]
    return {"value": chosen, "nextLink": None}


def _assignment(ctx: OperationContext) -> RoleAssignment:
    name = ctx.param("assignment").lower()
    found = next((item for item in ctx.vault.access.role_assignments() if item.id.lower() == name), None)
    if found is None:
        # [R] KeyVaultAccessControlClientTest.deleteNonExistingRoleAssignmentDoesNotThrow (Java session record).
        raise ServiceError(404, "RoleAssignmentNotFound", "Requested role assignment not found")
    return found


def get_role_assignment(ctx: OperationContext) -> dict[str, Any]:
    """Role Assignments - Get: GET /{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}"""
    return _assignment_to_wire(_assignment(ctx))


def create_role_assignment(ctx: OperationContext) -> dict[str, Any]:
    """Role Assignments - Create: PUT /{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}"""
    name = ctx.param("assignment").lower()
    props = ctx.body().get("properties")
    if not isinstance(props, dict):
        raise ServiceError.missing_field("properties")
    wanted, principal = props.get("roleDefinitionId"), props.get("principalId")
    if not isinstance(wanted, str) or not wanted:
        raise ServiceError.missing_field("properties.roleDefinitionId")
    if not isinstance(principal, str) or not principal or len(principal) > 128:
        raise ServiceError.missing_field("properties.principalId")
    role = find_definition(ctx.vault, wanted)
    if role is None:
        raise ServiceError.bad_parameter(f"The role definition '{wanted[:200]}' does not exist.")  # [I]
    if any(item.id.lower() == name for item in ctx.vault.access.role_assignments()):
        # [R] 400, not 409: KeyVaultAccessControlClientTest.createExistingRoleAssignmentThrows (Java session record).
        raise ServiceError(400, "RoleAssignmentExists", "The role assignment already exists.")
    assignment = ctx.vault.access.assign_role(
        Identity(name=principal, object_id=principal), role, scope=_scope(ctx), assignment_id=name
    )
    return _assignment_to_wire(assignment)


def delete_role_assignment(ctx: OperationContext) -> dict[str, Any]:
    """Role Assignments - Delete: DELETE /{scope}/providers/.../roleAssignments/{roleAssignmentName}"""
    found = _assignment(ctx)
    found.remove()
    return _assignment_to_wire(found)


# -- routes --------------------------------------------------------------------------------------------------------


def _routes() -> list[Route]:
    routes: list[Route] = []
    for prefix in ("/keys/{keyname}", "/keys", ""):
        base = f"{prefix}/providers/Microsoft.Authorization"
        defs, assigns = f"{base}/roleDefinitions", f"{base}/roleAssignments"
        routes += [
            Route("GET", defs, "RoleDefinitionsList", list_role_definitions, kinds=_HSM_ONLY, since="7.2"),
            Route(
                "GET", f"{defs}/{{definition}}", "RoleDefinitionsGet", get_role_definition, kinds=_HSM_ONLY, since="7.2"
            ),
            Route(
                "PUT",
                f"{defs}/{{definition}}",
                "RoleDefinitionsCreateOrUpdate",
                set_role_definition,
                success=201,
                kinds=_HSM_ONLY,
                since="7.3",
            ),
            Route(
                "DELETE",
                f"{defs}/{{definition}}",
                "RoleDefinitionsDelete",
                delete_role_definition,
                kinds=_HSM_ONLY,
                since="7.2",
            ),
            Route("GET", assigns, "RoleAssignmentsListForScope", list_role_assignments, kinds=_HSM_ONLY, since="7.2"),
            Route(
                "GET",
                f"{assigns}/{{assignment}}",
                "RoleAssignmentsGet",
                get_role_assignment,
                kinds=_HSM_ONLY,
                since="7.2",
            ),
            Route(
                "PUT",
                f"{assigns}/{{assignment}}",
                "RoleAssignmentsCreate",
                create_role_assignment,
                success=201,
                kinds=_HSM_ONLY,
                since="7.2",
            ),
            Route(
                "DELETE",
                f"{assigns}/{{assignment}}",
                "RoleAssignmentsDelete",
                delete_role_assignment,
                kinds=_HSM_ONLY,
                since="7.2",
            ),
        ]
    return routes


ROUTES: tuple[Route, ...] = tuple(_routes())
