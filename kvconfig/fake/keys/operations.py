"""The 25 key operations of Key Vault and Managed HSM, and their routes.

This module holds key management (create, import, get, update, list, delete/recover/purge, backup/restore, rotate);
the cryptographic operations, release, attestation and random bytes are in ``crypto.py``, rotation policies
and clock-driven rotation in ``rotation.py``, the key model and wire shapes in ``store.py``. ``ROUTES`` at the
end is the table of all 25.
"""

from __future__ import annotations

import json
from typing import Any

from kvconfig.crypto._jwk import KEY_TYPES, KeyMaterial, generate_key, key_from_jwk
from kvconfig.crypto.errors import InvalidKeyError
from kvconfig.fake.core.backup import KEY_BACKUP
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.objects import (
    attributes_from_wire,
    check_name,
    page,
    page_index,
    tags_from_wire,
    update_attributes,
)
from kvconfig.fake.core.routing import OperationContext, Route
from kvconfig.fake.core.state import Attributes, Vault, VaultKind, Versioned
from kvconfig.fake.core.wire import b64url_decode
from kvconfig.fake.keys.byok import check_key_exchange_key, unwrap_transfer_blob
from kvconfig.fake.keys.crypto import (
    decrypt,
    encrypt,
    get_key_attestation,
    get_random_bytes,
    release,
    sign,
    unwrap_key,
    verify,
    wrap_key,
)
from kvconfig.fake.keys.rotation import (
    forget_rotation_policy,
    get_key_rotation_policy,
    rotate_version,
    update_key_rotation_policy,
)
from kvconfig.fake.keys.store import (
    KIND,
    KeyVersion,
    ReleasePolicy,
    bundle,
    deleted,
    hsm_keys_allowed,
    item,
    key_id,
    key_store,
    key_version,
    live_key,
    new_key_version,
    refuse_if_deleted,
    refuse_if_in_window,
)

__all__ = ["ROUTES", "new_key_version"]

# deriveKey: Managed HSM lists it on EC-HSM keys, so a client that sends back the key_ops it read must be heard.
KEY_OPERATIONS = ("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export", "deriveKey")
MAX_OCT_IMPORT_BYTES = 64

_BOTH: frozenset[VaultKind] = frozenset({"vault", "managedhsm"})
_HSM_ONLY: frozenset[VaultKind] = frozenset({"managedhsm"})


# -- request parsing -----------------------------------------------------------------------------------------------


def _check_kty(vault: Vault, kty: object) -> str:
    if not isinstance(kty, str) or kty not in KEY_TYPES:
        raise ServiceError.bad_parameter(f"The key type '{kty}' is not valid; use one of {', '.join(KEY_TYPES)}.")
    if kty.startswith("oct") and vault.properties.kind != "managedhsm":
        raise ServiceError.key_type_not_supported(kty)
    if kty.endswith("-HSM") and not hsm_keys_allowed(vault):
        raise ServiceError.hardware_key_not_allowed()
    if vault.properties.kind == "managedhsm" and not kty.endswith("-HSM"):
        return f"{kty}-HSM"  # every Managed HSM key is HSM-protected: a key asked for as RSA comes back RSA-HSM
    return kty


def _key_ops(raw: object) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(op, str) for op in raw):
        raise ServiceError.bad_parameter("The property 'key_ops' must be a list of key operations.")
    for op in raw:
        if op not in KEY_OPERATIONS:
            raise ServiceError.bad_parameter(
                f"The key operation '{op}' is not valid; use one of {', '.join(KEY_OPERATIONS)}."
            )
    return list(dict.fromkeys(raw))


def _release_policy(raw: object) -> ReleasePolicy | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ServiceError.bad_parameter("The property 'release_policy' must be an object.")
    data = raw.get("data")
    if not isinstance(data, str) or not data:
        raise ServiceError.missing_field("release_policy.data")
    try:
        policy = b64url_decode(data)
        json.loads(policy)
    except (ValueError, RecursionError) as exc:
        raise ServiceError.bad_parameter(
            "The release policy 'data' must be a base64url-encoded JSON document."
        ) from exc
    content_type = raw.get("contentType") or ReleasePolicy.content_type
    immutable = raw.get("immutable", False)
    if not isinstance(content_type, str) or not isinstance(immutable, bool):
        raise ServiceError.bad_parameter("The release policy's 'contentType' and 'immutable' are invalid.")
    return ReleasePolicy(policy, content_type, immutable)


def _exportable(raw_attributes: object) -> bool | None:
    if not isinstance(raw_attributes, dict) or raw_attributes.get("exportable") is None:
        return None
    value = raw_attributes["exportable"]
    if not isinstance(value, bool):
        raise ServiceError.bad_parameter("The attribute 'exportable' must be true or false.")
    return value


def _check_release(exportable: bool | None, policy: ReleasePolicy | None) -> None:
    if exportable and policy is None:
        raise ServiceError.exportable_needs_release_policy()
    if policy is not None and not exportable:
        raise ServiceError.release_policy_needs_exportable()


def _refuse_managed(obj: Versioned[KeyVersion] | None, operation: str) -> None:
    if obj is not None and obj.current().managed:
        raise ServiceError.managed_object(KIND, operation)


def _add_version(
    ctx: OperationContext,
    name: str,
    material: KeyMaterial,
    body: dict[str, Any],
    key_ops: list[str] | None,
    *,
    operation: str = "create",
) -> dict[str, Any]:
    """What CreateKey and ImportKey share: attributes, tags, release policy, the new version and its bundle."""
    raw_attributes = body.get("attributes")
    attributes = attributes_from_wire(raw_attributes, ctx.now)
    exportable = _exportable(raw_attributes)
    policy = _release_policy(body.get("release_policy"))
    _check_release(exportable, policy)
    tags = tags_from_wire(body.get("tags"))
    with ctx.vault.lock:
        _refuse_managed(key_store(ctx.vault).get(name), operation)
        obj, version = new_key_version(
            ctx.vault,
            name,
            material,
            version_id=ctx.new_version(),
            now=ctx.now,
            key_ops=key_ops,
            attributes=attributes,
            tags=tags,
            exportable=exportable,
            release_policy=policy,
        )
        return bundle(ctx, obj, version)


# -- operations ----------------------------------------------------------------------------------------------------


def create_key(ctx: OperationContext) -> dict[str, Any]:
    """Create Key: POST /keys/{key-name}/create"""
    name = check_name(ctx.param("name"))
    body = ctx.body()
    if body.get("kty") is None:
        raise ServiceError.missing_field("kty")
    kty = _check_kty(ctx.vault, body["kty"])
    size, exponent, curve = body.get("key_size"), body.get("public_exponent"), body.get("crv")
    family = kty.split("-")[0]
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
        raise ServiceError.bad_parameter("The property 'key_size' must be an integer.")
    if exponent is not None and (isinstance(exponent, bool) or not isinstance(exponent, int)):
        raise ServiceError.bad_parameter("The property 'public_exponent' must be an integer.")
    if ctx.vault.properties.kind != "managedhsm":
        # Only Managed HSM honours it (the SDK's docstring; azure-sdk-for-go#19624: a vault asked for 3 made 65537).
        exponent = None
    try:
        material = generate_key(
            kty,
            size=size,
            public_exponent=exponent if family == "RSA" else None,
            curve=curve if family == "EC" else None,
        )
    except InvalidKeyError as exc:
        raise ServiceError.bad_parameter(str(exc)) from None
    key_ops = _key_ops(body.get("key_ops"))
    check_key_exchange_key(material.kty, material.size, key_ops)
    return _add_version(ctx, name, material, body, key_ops)


def import_key(ctx: OperationContext) -> dict[str, Any]:
    """Import Key: PUT /keys/{key-name}"""
    name = check_name(ctx.param("name"))
    body = ctx.body()
    jwk = body.get("key")
    if not isinstance(jwk, dict):
        raise ServiceError.missing_field("key")
    hsm = body.get("Hsm", False)
    if not isinstance(hsm, bool):
        raise ServiceError.bad_parameter("The property 'Hsm' must be true or false.")
    kty = jwk.get("kty")
    if isinstance(kty, str) and hsm and not kty.endswith("-HSM"):
        kty = f"{kty}-HSM"
    kty = _check_kty(ctx.vault, kty)
    if jwk.get("key_hsm") is not None:
        if not kty.endswith("-HSM"):
            raise ServiceError.bad_parameter("A BYOK key (key_hsm) is imported as RSA-HSM, EC-HSM or oct-HSM.")
        material = unwrap_transfer_blob(ctx.vault, jwk, kty)
        return _add_version(ctx, name, material, body, _key_ops(jwk.get("key_ops")), operation="import")
    if kty.startswith("oct"):
        k = jwk.get("k")
        # The decoded size from the text's length: a malformed ``k`` is the JWK reader's to refuse, below.
        if isinstance(k, str) and len(k.strip().rstrip("=")) * 3 // 4 > MAX_OCT_IMPORT_BYTES:
            raise ServiceError.oct_key_too_large()
    try:
        material = key_from_jwk({**jwk, "kty": kty})
    except InvalidKeyError as exc:
        raise ServiceError.bad_parameter(f"JSON Web Key: {exc}") from None
    if not material.has_private:
        raise ServiceError.bad_parameter("JSON Web Key: the key to import must include its private members.")
    return _add_version(ctx, name, material, body, _key_ops(jwk.get("key_ops")), operation="import")


def get_key(ctx: OperationContext) -> dict[str, Any]:
    """Get Key: GET /keys/{key-name}/{key-version}

    A disabled key is answered like any other, ``enabled: false`` in its attributes: the service refuses only the
    operations that use the key (recorded: azure-sdk-assets, .NET ``KeyClientLiveTests/UpdateEcHsmKeyEnabled``).
    """
    with ctx.vault.lock:
        obj, version = key_version(ctx.vault, ctx.param("name"), ctx.param("version"))
        return bundle(ctx, obj, version)


def update_key(ctx: OperationContext) -> dict[str, Any]:
    """Update Key: PATCH /keys/{key-name}/{key-version}"""
    body = ctx.body()
    with ctx.vault.lock:
        obj, version = key_version(ctx.vault, ctx.param("name"), ctx.param("version"))
        if version.managed:
            raise ServiceError.managed_object(KIND, "update")
        key_ops = _key_ops(body.get("key_ops"))
        tags = tags_from_wire(body["tags"]) if "tags" in body else version.tags
        exportable = _exportable(body.get("attributes"))
        policy = _release_policy(body.get("release_policy"))
        if policy is not None and version.release_policy is not None and version.release_policy.immutable:
            raise ServiceError.immutable_release_policy()
        new_exportable = version.exportable if exportable is None else exportable
        new_policy = policy if policy is not None else version.release_policy
        _check_release(new_exportable, new_policy)
        if body.get("attributes") is not None:
            attributes = Attributes(**vars(version.attributes))
            update_attributes(attributes, body["attributes"], ctx.now)
            version.attributes = attributes
        if key_ops is not None:
            version.key_ops = key_ops
        version.tags, version.exportable, version.release_policy = tags, new_exportable, new_policy
        version.attributes.updated = ctx.now
        return bundle(ctx, obj, version)


def get_keys(ctx: OperationContext) -> dict[str, Any]:
    """Get Keys: GET /keys"""
    with ctx.vault.lock:
        return page_index(ctx, key_store(ctx.vault).live, lambda obj: item(ctx, obj, obj.current(), versioned=False))


def get_key_versions(ctx: OperationContext) -> dict[str, Any]:
    """Get Key Versions: GET /keys/{key-name}/versions"""
    with ctx.vault.lock:
        obj = key_store(ctx.vault).get(ctx.param("name"))
        if obj is None:
            return page(ctx, [], str, lambda _: {})
        found = obj
        rank = {version: index for index, version in enumerate(found.versions)}
        return page(
            ctx,
            list(found.versions.values()),
            lambda v: f"{rank[v.version]:08d}",
            lambda v: item(ctx, found, v, versioned=True),
        )


def delete_key(ctx: OperationContext) -> dict[str, Any]:
    """Delete Key: DELETE /keys/{key-name}"""
    props = ctx.vault.properties
    with ctx.vault.lock:
        obj = live_key(ctx.vault, ctx.param("name"))
        _refuse_managed(obj, "delete")
        key_store(ctx.vault).delete(
            obj.name,
            now=ctx.now,
            retention_days=props.retention_days,
            soft=props.soft_delete,
            finishes_at=ctx.deletion_finish(),
        )
        if not props.soft_delete:
            forget_rotation_policy(ctx.vault, obj.name)
        return deleted(ctx, obj, bundle(ctx, obj, obj.current()))


def get_deleted_key(ctx: OperationContext) -> dict[str, Any]:
    """Get Deleted Key: GET /deletedkeys/{key-name}"""
    name = ctx.param("name")
    with ctx.vault.lock:
        obj = key_store(ctx.vault).get_deleted(name)
        if obj is None:
            raise ServiceError.deleted_object_not_found(KIND, name)
        return deleted(ctx, obj, bundle(ctx, obj, obj.current()))


def get_deleted_keys(ctx: OperationContext) -> dict[str, Any]:
    """Get Deleted Keys: GET /deletedkeys"""
    with ctx.vault.lock:
        return page_index(
            ctx,
            key_store(ctx.vault).deleted,
            lambda obj: deleted(ctx, obj, item(ctx, obj, obj.current(), versioned=False)),
        )


def purge_deleted_key(ctx: OperationContext) -> None:
    """Purge Deleted Key: DELETE /deletedkeys/{key-name}"""
    name = ctx.param("name")
    with ctx.vault.lock:
        refuse_if_in_window(ctx.vault, name)
        if key_store(ctx.vault).get_deleted(name) is None:
            raise ServiceError.deleted_object_not_found(KIND, name)
        if not ctx.vault.properties.purgeable:
            raise ServiceError.purge_not_allowed(KIND)
        key_store(ctx.vault).purge(name)
        forget_rotation_policy(ctx.vault, name)


def recover_deleted_key(ctx: OperationContext) -> dict[str, Any]:
    """Recover Deleted Key: POST /deletedkeys/{key-name}/recover"""
    name = ctx.param("name")
    with ctx.vault.lock:
        if key_store(ctx.vault).get(name) is not None:
            raise ServiceError.recover_conflict(KIND, name)
        refuse_if_in_window(ctx.vault, name)
        obj = key_store(ctx.vault).recover(name, finishes_at=ctx.deletion_finish())
        if obj is None:
            # The service answers a recover of a key that is not deleted with the plain KeyNotFound (recorded).
            raise ServiceError.object_not_found(KIND, name)
        return bundle(ctx, obj, obj.current())


def rotate_key(ctx: OperationContext) -> dict[str, Any]:
    """Rotate Key: POST /keys/{key-name}/rotate"""
    with ctx.vault.lock:
        obj = live_key(ctx.vault, ctx.param("name"))
        _refuse_managed(obj, "rotate")
        version = rotate_version(ctx.vault, obj, version_id=ctx.new_version(), now=ctx.now)
        return bundle(ctx, obj, version)


def backup_key(ctx: OperationContext) -> dict[str, Any]:
    """Backup Key: POST /keys/{key-name}/backup"""
    with ctx.vault.lock:
        obj = live_key(ctx.vault, ctx.param("name"))
        _refuse_managed(obj, "backup")
        payload = {
            "name": obj.name,
            "latest": obj.latest,
            "versions": [_version_to_json(version) for version in obj.versions.values()],
        }
    return {"value": KEY_BACKUP.seal(payload)}


def restore_key(ctx: OperationContext) -> dict[str, Any]:
    """Restore Key: POST /keys/restore"""
    payload = KEY_BACKUP.open_request(ctx)
    name = payload["name"]
    versions = [_version_from_json(entry) for entry in payload["versions"]]
    if any(version.hsm for version in versions) and not hsm_keys_allowed(ctx.vault):
        raise ServiceError.hardware_key_not_allowed()
    with ctx.vault.lock:
        if key_store(ctx.vault).get(name) is not None:
            raise ServiceError.restore_conflict(KIND, key_id(ctx.vault, name, payload["latest"]))
        refuse_if_deleted(ctx.vault, name)
        obj = key_store(ctx.vault).get_or_create(name)
        for version in versions:
            obj.add(version.version, version)
        obj.latest = payload["latest"]
        return bundle(ctx, obj, obj.current())


def _version_to_json(version: KeyVersion) -> dict[str, Any]:
    attrs = version.attributes
    policy = version.release_policy
    return {
        "version": version.version,
        "key": version.material.private_jwk(),
        "key_ops": version.key_ops,
        "tags": version.tags,
        "exportable": version.exportable,
        "release_policy": policy.to_wire() if policy is not None else None,
        # Key blobs keep "updated" beside the attributes (their first layout); both forms restore the same.
        "attributes": {name: value for name, value in attrs.to_dict().items() if name != "updated"},
        "updated": attrs.updated,
    }


def _version_from_json(entry: dict[str, Any]) -> KeyVersion:
    raw = entry["attributes"]
    material = key_from_jwk(entry["key"])
    policy = entry["release_policy"]
    return KeyVersion(
        version=entry["version"],
        material=material,
        attributes=Attributes.from_dict({**raw, "updated": entry["updated"]}),
        key_ops=list(entry["key_ops"]),
        tags=entry["tags"],
        exportable=entry["exportable"],
        release_policy=_release_policy(policy) if policy is not None else None,
        hsm=material.kty.endswith("-HSM"),
    )


ROUTES: tuple[Route, ...] = (
    Route("POST", "/keys/restore", "RestoreKey", restore_key, kinds=_BOTH),
    Route("GET", "/keys", "GetKeys", get_keys, kinds=_BOTH),
    Route("GET", "/keys/{name}/versions", "GetKeyVersions", get_key_versions, kinds=_BOTH),
    Route("POST", "/keys/{name}/create", "CreateKey", create_key, kinds=_BOTH),
    Route("POST", "/keys/{name}/rotate", "RotateKey", rotate_key, kinds=_BOTH, since="7.3"),
    Route("POST", "/keys/{name}/backup", "BackupKey", backup_key, kinds=_BOTH),
    Route(
        "GET", "/keys/{name}/rotationpolicy", "GetKeyRotationPolicy", get_key_rotation_policy, kinds=_BOTH, since="7.3"
    ),
    Route(
        "PUT",
        "/keys/{name}/rotationpolicy",
        "UpdateKeyRotationPolicy",
        update_key_rotation_policy,
        kinds=_BOTH,
        since="7.3",
    ),
    Route("PUT", "/keys/{name}", "ImportKey", import_key, kinds=_BOTH),
    Route("DELETE", "/keys/{name}", "DeleteKey", delete_key, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/encrypt", "encrypt", encrypt, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/decrypt", "decrypt", decrypt, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/sign", "sign", sign, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/verify", "verify", verify, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/wrapkey", "wrapKey", wrap_key, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/unwrapkey", "unwrapKey", unwrap_key, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/release", "release", release, kinds=_BOTH, since="7.3"),
    Route(
        "GET",
        "/keys/{name}/{version}/attestation",
        "GetKeyAttestation",
        get_key_attestation,
        kinds=_BOTH,
        since="7.6-preview.2",
    ),
    Route("GET", "/keys/{name}/{version?}", "GetKey", get_key, kinds=_BOTH),
    Route("PATCH", "/keys/{name}/{version?}", "UpdateKey", update_key, kinds=_BOTH),
    Route("GET", "/deletedkeys", "GetDeletedKeys", get_deleted_keys, kinds=_BOTH),
    Route("GET", "/deletedkeys/{name}", "GetDeletedKey", get_deleted_key, kinds=_BOTH),
    Route("DELETE", "/deletedkeys/{name}", "PurgeDeletedKey", purge_deleted_key, success=204, kinds=_BOTH),
    Route("POST", "/deletedkeys/{name}/recover", "RecoverDeletedKey", recover_deleted_key, kinds=_BOTH),
    # Random bytes come from a Managed HSM only (the operation's documentation: "from a managed HSM").
    Route("POST", "/rng", "GetRandomBytes", get_random_bytes, kinds=_HSM_ONLY, since="7.2"),
)
