"""The 12 secret operations of Key Vault, one function each, and their routes.

Each handler validates its input, acts on the vault's state under the vault's lock and returns the wire payload;
errors are raised as :class:`ServiceError` from the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kvconfig.fake.core.backup import SECRET_BACKUP
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.objects import (
    attributes_from_wire,
    attributes_to_wire,
    check_name,
    page,
    page_index,
    tags_from_wire,
    update_attributes,
    with_deletion,
)
from kvconfig.fake.core.routing import OperationContext, Route
from kvconfig.fake.core.state import Attributes, SecretVersion, Vault, Versioned

__all__ = ["MAX_SECRET_BYTES", "ROUTES", "new_secret_version"]

MAX_SECRET_BYTES = 25 * 1024
MAX_CONTENT_TYPE = 255
KIND = "secret"
_OUT_CONTENT_TYPE_SINCE = "2025-06-01-preview"


# -- rendering -------------------------------------------------------------------------------------------------


def _secret_id(vault: Vault, name: str, version: str | None = None) -> str:
    return f"{vault.url}/secrets/{name}" + (f"/{version}" if version else "")


def _bundle(
    ctx: OperationContext, obj: Versioned[SecretVersion], version: SecretVersion, *, value: bool
) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    if value:
        wire["value"] = version.value
    wire["id"] = _secret_id(ctx.vault, obj.name, version.version)
    if version.content_type is not None:
        wire["contentType"] = version.content_type
    wire["attributes"] = attributes_to_wire(version.attributes, ctx.vault.properties, ctx)
    if version.tags is not None:
        wire["tags"] = version.tags
    if version.kid:
        wire["kid"] = version.kid
    if version.managed:
        wire["managed"] = True
    if version.previous_version and ctx.api_at_least("2025-07-01"):
        wire["previousVersion"] = version.previous_version
    return wire


def _item(
    ctx: OperationContext, obj: Versioned[SecretVersion], version: SecretVersion, *, versioned: bool
) -> dict[str, Any]:
    wire: dict[str, Any] = {"id": _secret_id(ctx.vault, obj.name, version.version if versioned else None)}
    wire["attributes"] = attributes_to_wire(version.attributes, ctx.vault.properties, ctx)
    if version.tags is not None:
        wire["tags"] = version.tags
    if version.content_type is not None:
        wire["contentType"] = version.content_type
    if version.managed:
        wire["managed"] = True
    return wire


def _deleted(ctx: OperationContext, obj: Versioned[SecretVersion], wire: dict[str, Any]) -> dict[str, Any]:
    return with_deletion(ctx, "deletedsecrets", obj, wire)


# -- state helpers -------------------------------------------------------------------------------------------------


def _live(ctx: OperationContext, name: str) -> Versioned[SecretVersion]:
    obj = ctx.vault.secrets.get(name)
    if obj is None:
        raise ServiceError.object_not_found(KIND, name)
    return obj


def _refuse_if_deleted(vault: Vault, name: str) -> None:
    """409 for creating a name that is soft-deleted, or whose soft delete or recovery has not finished."""
    if vault.secrets.being_deleted(name) is not None:
        raise ServiceError.being_deleted_name(KIND, name)
    if vault.secrets.being_recovered(name) is not None:
        raise ServiceError.being_recovered_name(KIND, name)
    if vault.secrets.get_deleted(name) is not None:
        raise ServiceError.deleted_but_recoverable(KIND, name)


def _refuse_if_in_window(vault: Vault, name: str) -> None:
    """409 for recovering or purging a secret whose soft delete or recovery has not finished."""
    if vault.secrets.being_deleted(name) is not None:
        raise ServiceError.being_deleted(KIND)
    recovering = vault.secrets.being_recovered(name)
    if recovering is not None:
        raise ServiceError.recovery_in_progress(KIND, _secret_id(vault, recovering.name, recovering.latest))


def new_secret_version(
    vault: Vault,
    name: str,
    value: str,
    *,
    version_id: str,
    now: int,
    content_type: str | None = None,
    tags: dict[str, str] | None = None,
    attributes: Attributes | None = None,
    managed: bool = False,
    kid: str | None = None,
) -> tuple[Versioned[SecretVersion], SecretVersion]:
    """Add a version to a secret (creating the secret); used by SetSecret, seeding and certificates."""
    with vault.lock:
        _refuse_if_deleted(vault, name)
        obj = vault.secrets.get_or_create(name)
        version = SecretVersion(
            version=version_id,
            value=value,
            attributes=attributes or Attributes(created=now, updated=now),
            content_type=content_type,
            tags=tags,
            managed=managed,
            kid=kid,
        )
        obj.add(version_id, version)
        return obj, version


# -- operations ----------------------------------------------------------------------------------------------------


def set_secret(ctx: OperationContext) -> dict[str, Any]:
    """Set Secret: PUT /secrets/{secret-name}"""
    name = check_name(ctx.param("name"))
    body = ctx.body()
    value = body.get("value")
    if value is None:
        raise ServiceError.missing_field("value")
    if not isinstance(value, str):
        raise ServiceError.bad_parameter("The property 'value' must be a string.")
    size = len(value.encode("utf-8"))
    if size > MAX_SECRET_BYTES:
        raise ServiceError.secret_too_large(size, MAX_SECRET_BYTES)
    content_type = body.get("contentType")
    if content_type is not None and (not isinstance(content_type, str) or len(content_type) > MAX_CONTENT_TYPE):
        raise ServiceError.bad_parameter(
            f"The property 'contentType' must be a string of at most {MAX_CONTENT_TYPE} characters."
        )
    tags = tags_from_wire(body.get("tags"))
    attributes = attributes_from_wire(body.get("attributes"), ctx.now)
    with ctx.vault.lock:
        existing = ctx.vault.secrets.get(name)
        if existing is not None and existing.current().managed:
            raise ServiceError.managed_object(KIND, "set")
        obj, version = new_secret_version(
            ctx.vault,
            name,
            value,
            version_id=ctx.new_version(),
            now=ctx.now,
            content_type=content_type,
            tags=tags,
            attributes=attributes,
        )
        return _bundle(ctx, obj, version, value=True)


# Get Secret's ``outContentType`` converts certificate-backed values (PFX <-> PEM). That knowledge belongs to the
# certificates wing, which registers its converter here (kvconfig/fake/routes.py wires it): secrets never import
# certificates. A converter returns the value in ``to_type``, or None when it has nothing to convert.
ValueConverter = Callable[[str, "str | None", str], "str | None"]
_VALUE_CONVERTERS: list[ValueConverter] = []


def register_value_converter(convert: ValueConverter) -> None:
    """Let Get Secret convert managed values with ``convert(value, from_type, to_type)`` (registered once)."""
    if convert not in _VALUE_CONVERTERS:
        _VALUE_CONVERTERS.append(convert)


def get_secret(ctx: OperationContext) -> dict[str, Any]:
    """Get Secret: GET /secrets/{secret-name}/{secret-version}"""
    name, version_id = ctx.param("name"), ctx.param("version")
    with ctx.vault.lock:
        obj = _live(ctx, name)
        version = obj.get(version_id)
        if version is None:
            raise ServiceError.object_not_found(KIND, name, version_id)
        if not version.attributes.enabled:
            raise ServiceError.disabled(KIND)
        # nbf/exp are informational for secrets: the service still returns the value outside the window.
        wire = _bundle(ctx, obj, version, value=True)
        out_type = ctx.query.get("outContentType")
        if out_type and ctx.api_at_least(_OUT_CONTENT_TYPE_SINCE):
            source, target = _format_of(version.content_type), _format_of(out_type)
            if source == "Unsupported" or target == "Unsupported":
                # Only certificate material converts: the service refuses any other value (recorded answer).
                raise ServiceError.transformation_not_supported(source, target)
            # A certificate's secret in the other format (PFX <-> PEM), as the service converts it.
            for convert in _VALUE_CONVERTERS:
                converted = convert(version.value, version.content_type, out_type)
                if converted is not None:
                    wire["value"], wire["contentType"] = converted, out_type
                    break
        return wire


def _format_of(content_type: str | None) -> str:
    """The name the service gives a content type in its conversion errors."""
    return {"application/x-pkcs12": "PFX", "application/x-pem-file": "PEM"}.get(
        (content_type or "").lower(), "Unsupported"
    )


def update_secret(ctx: OperationContext) -> dict[str, Any]:
    """Update Secret: PATCH /secrets/{secret-name}/{secret-version}"""
    name, version_id = ctx.param("name"), ctx.param("version")
    body = ctx.body()
    if "value" in body:
        raise ServiceError.bad_parameter("The value of a secret cannot be changed; set a new version instead.")
    with ctx.vault.lock:
        obj = _live(ctx, name)
        version = obj.get(version_id)
        if version is None:
            raise ServiceError.object_not_found(KIND, name, version_id)
        if version.managed:
            raise ServiceError.managed_object(KIND, "update")
        tags = tags_from_wire(body["tags"]) if "tags" in body else version.tags
        if "contentType" in body:
            content_type = body["contentType"]
            if content_type is not None and not isinstance(content_type, str):
                raise ServiceError.bad_parameter("The property 'contentType' must be a string.")
            version.content_type = content_type
        if "attributes" in body and body["attributes"] is not None:
            update_attributes(version.attributes, body["attributes"], ctx.now)
        version.tags = tags
        version.attributes.updated = ctx.now
        return _bundle(ctx, obj, version, value=False)


def get_secrets(ctx: OperationContext) -> dict[str, Any]:
    """Get Secrets: GET /secrets"""
    with ctx.vault.lock:
        return page_index(ctx, ctx.vault.secrets.live, lambda obj: _item(ctx, obj, obj.current(), versioned=False))


def get_secret_versions(ctx: OperationContext) -> dict[str, Any]:
    """Get Secret Versions: GET /secrets/{secret-name}/versions"""
    name = ctx.param("name")
    with ctx.vault.lock:
        obj = ctx.vault.secrets.get(name)
        if obj is None:
            return page(ctx, [], str, lambda _: {})
        ordered = list(obj.versions.values())
        rank = {version.version: index for index, version in enumerate(ordered)}
        return page(ctx, ordered, lambda v: f"{rank[v.version]:08d}", lambda v: _item(ctx, obj, v, versioned=True))


def delete_secret(ctx: OperationContext) -> dict[str, Any]:
    """Delete Secret: DELETE /secrets/{secret-name}"""
    name = ctx.param("name")
    props = ctx.vault.properties
    with ctx.vault.lock:
        obj = _live(ctx, name)
        if obj.current().managed:
            raise ServiceError.managed_object(KIND, "delete")
        ctx.vault.secrets.delete(
            name,
            now=ctx.now,
            retention_days=props.retention_days,
            soft=props.soft_delete,
            finishes_at=ctx.deletion_finish(),
        )
        return _deleted(ctx, obj, _bundle(ctx, obj, obj.current(), value=False))


def get_deleted_secret(ctx: OperationContext) -> dict[str, Any]:
    """Get Deleted Secret: GET /deletedsecrets/{secret-name}"""
    name = ctx.param("name")
    with ctx.vault.lock:
        obj = ctx.vault.secrets.get_deleted(name)
        if obj is None:
            raise ServiceError.deleted_object_not_found(KIND, name)
        if not obj.current().attributes.enabled:
            # The service reads a deleted secret as it reads a live one: a disabled one is refused (recorded answer).
            raise ServiceError.disabled(KIND)
        return _deleted(ctx, obj, _bundle(ctx, obj, obj.current(), value=False))


def get_deleted_secrets(ctx: OperationContext) -> dict[str, Any]:
    """Get Deleted Secrets: GET /deletedsecrets"""
    with ctx.vault.lock:
        return page_index(
            ctx,
            ctx.vault.secrets.deleted,
            lambda obj: _deleted(ctx, obj, _item(ctx, obj, obj.current(), versioned=False)),
        )


def purge_deleted_secret(ctx: OperationContext) -> None:
    """Purge Deleted Secret: DELETE /deletedsecrets/{secret-name}"""
    name = ctx.param("name")
    with ctx.vault.lock:
        _refuse_if_in_window(ctx.vault, name)
        if ctx.vault.secrets.get_deleted(name) is None:
            raise ServiceError.deleted_object_not_found(KIND, name)
        if not ctx.vault.properties.purgeable:
            raise ServiceError.purge_not_allowed(KIND)
        ctx.vault.secrets.purge(name)


def recover_deleted_secret(ctx: OperationContext) -> dict[str, Any]:
    """Recover Deleted Secret: POST /deletedsecrets/{secret-name}/recover"""
    name = ctx.param("name")
    with ctx.vault.lock:
        if ctx.vault.secrets.get(name) is not None:
            raise ServiceError.recover_conflict(KIND, name)
        _refuse_if_in_window(ctx.vault, name)
        obj = ctx.vault.secrets.recover(name, finishes_at=ctx.deletion_finish())
        if obj is None:
            raise ServiceError.deleted_object_not_found(KIND, name)
        return _bundle(ctx, obj, obj.current(), value=False)


def backup_secret(ctx: OperationContext) -> dict[str, Any]:
    """Backup Secret: POST /secrets/{secret-name}/backup"""
    name = ctx.param("name")
    with ctx.vault.lock:
        obj = _live(ctx, name)
        if obj.current().managed:
            raise ServiceError.managed_object(KIND, "backup")
        payload = {
            "name": obj.name,
            "latest": obj.latest,
            "versions": [_version_to_json(version) for version in obj.versions.values()],
        }
    return {"value": SECRET_BACKUP.seal(payload)}


def restore_secret(ctx: OperationContext) -> dict[str, Any]:
    """Restore Secret: POST /secrets/restore"""
    payload = SECRET_BACKUP.open_request(ctx)
    name = payload["name"]
    with ctx.vault.lock:
        if ctx.vault.secrets.get(name) is not None:
            raise ServiceError.restore_conflict(KIND, _secret_id(ctx.vault, name, payload["latest"]))
        _refuse_if_deleted(ctx.vault, name)
        obj = ctx.vault.secrets.get_or_create(name)
        for item in payload["versions"]:
            obj.add(item["version"], _version_from_json(item))
        obj.latest = payload["latest"]
        return _bundle(ctx, obj, obj.current(), value=False)


def _version_to_json(version: SecretVersion) -> dict[str, Any]:
    attrs = version.attributes
    return {
        "version": version.version,
        "value": version.value,
        "contentType": version.content_type,
        "tags": version.tags,
        "attributes": attrs.to_dict(),
    }


def _version_from_json(item: dict[str, Any]) -> SecretVersion:
    raw = item["attributes"]
    attrs = Attributes.from_dict(raw)
    return SecretVersion(
        version=item["version"],
        value=item["value"],
        attributes=attrs,
        content_type=item["contentType"],
        tags=item["tags"],
    )


ROUTES: tuple[Route, ...] = (
    Route("POST", "/secrets/restore", "RestoreSecret", restore_secret),
    Route("GET", "/secrets", "GetSecrets", get_secrets),
    Route("GET", "/secrets/{name}/versions", "GetSecretVersions", get_secret_versions),
    Route("POST", "/secrets/{name}/backup", "BackupSecret", backup_secret),
    Route("PUT", "/secrets/{name}", "SetSecret", set_secret),
    Route("DELETE", "/secrets/{name}", "DeleteSecret", delete_secret),
    Route("GET", "/secrets/{name}/{version?}", "GetSecret", get_secret),
    Route("PATCH", "/secrets/{name}/{version?}", "UpdateSecret", update_secret),
    Route("GET", "/deletedsecrets", "GetDeletedSecrets", get_deleted_secrets),
    Route("GET", "/deletedsecrets/{name}", "GetDeletedSecret", get_deleted_secret),
    Route("DELETE", "/deletedsecrets/{name}", "PurgeDeletedSecret", purge_deleted_secret, success=204),
    Route("POST", "/deletedsecrets/{name}/recover", "RecoverDeletedSecret", recover_deleted_secret),
)
