"""The 27 certificate operations of Key Vault and their routes: certificates, policies and soft delete here; the
pending operation (get, cancel, delete, merge) in ``pending.py``; issuers and contacts in ``issuers.py``; backup and
restore in ``backup.py``.

The model and wire shapes are in ``state.py``, issuance and lifetime actions in ``issuance.py``, the backing
key and secret in ``backing.py``, and the X.509 work in ``policy.py``, ``x509.py`` and ``material.py``.
``ROUTES`` at the end is the table of all 27 (names as in ``core/catalogue.py``).
"""

from __future__ import annotations

from typing import Any, cast

from kvconfig.fake.certificates.backing import (
    check_backing_names,
    delete_backing_objects,
    mirror_backing_attributes,
    purge_backing_objects,
    recover_backing_objects,
)
from kvconfig.fake.certificates.backup import backup_certificate, restore_certificate
from kvconfig.fake.certificates.errors import (
    BadPasswordError,
    CertificateFormatError,
    CertificateMaterialError,
    PolicyError,
)
from kvconfig.fake.certificates.issuance import (
    ensure_certificate_hook,
    start_issuance,
    store_version,
)
from kvconfig.fake.certificates.issuers import (
    delete_certificate_contacts,
    delete_certificate_issuer,
    get_certificate_contacts,
    get_certificate_issuer,
    get_certificate_issuers,
    set_certificate_contacts,
    set_certificate_issuer,
    update_certificate_issuer,
)
from kvconfig.fake.certificates.material import load_certificate_material
from kvconfig.fake.certificates.pending import (
    delete_certificate_operation,
    forget_if_empty,
    get_certificate_operation,
    in_progress,
    merge_certificate,
    update_certificate_operation,
)
from kvconfig.fake.certificates.policy import (
    CONTENT_TYPE_PEM,
    CONTENT_TYPE_PKCS12,
    build_policy_defaults,
    platform_managed_from_wire,
    policy_for_imported_certificate,
)
from kvconfig.fake.certificates.state import (
    KIND,
    SANS_SINCE,
    CertificateObject,
    bundle,
    certificate_id,
    certificate_store,
    deleted,
    get_object,
    get_or_create_object,
    item,
    live_certificate,
    operation_to_wire,
    pending_bundle,
    policy_to_wire,
    refuse_if_in_window,
)
from kvconfig.fake.certificates.x509 import decode_import_value
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.objects import attributes_from_wire, check_name, page, page_index, tags_from_wire
from kvconfig.fake.core.routing import OperationContext, Route

__all__ = ["ROUTES"]

_PRESERVE_ORDER_SINCE = "7.6"


# -- request parsing -------------------------------------------------------------------------------------------


def _policy_from_wire(ctx: OperationContext, raw: object, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """A request's policy with the service's defaults filled in and ``attributes`` stamped; 400 when invalid."""
    if raw is not None and not isinstance(raw, dict):
        raise ServiceError.bad_parameter("The property 'policy' must be an object.")
    policy = _known_to_api_version(ctx, dict(raw or {}))
    try:
        if policy.get("platformManaged") is not None:
            policy["platformManaged"] = platform_managed_from_wire(policy["platformManaged"])
        full = build_policy_defaults(policy)
    except PolicyError as exc:
        raise ServiceError.bad_parameter(exc.message) from exc
    return _stamp(full, ctx.now, previous)


_PLATFORM_MANAGED_SINCE = "2026-04-01"


def _known_to_api_version(ctx: OperationContext, policy: dict[str, Any]) -> dict[str, Any]:
    # The service ignores properties its api-version does not define: SAN URIs and IP addresses before 2025-06-01,
    # platformManaged before 2026-04-01.
    if not ctx.api_at_least(_PLATFORM_MANAGED_SINCE):
        policy.pop("platformManaged", None)
    x509_props = policy.get("x509_props")
    if isinstance(x509_props, dict) and isinstance(x509_props.get("sans"), dict) and not ctx.api_at_least(SANS_SINCE):
        sans = {kind: values for kind, values in x509_props["sans"].items() if kind not in ("uris", "ipAddresses")}
        policy["x509_props"] = {**x509_props, "sans": sans}
    return policy


def _stamp(policy: dict[str, Any], now: int, previous: dict[str, Any] | None) -> dict[str, Any]:
    attributes = policy.get("attributes") or {}
    before = (previous or {}).get("attributes") or {}
    policy["attributes"] = {
        "enabled": bool(attributes.get("enabled", True)),
        "created": before.get("created", now),
        "updated": now,
    }
    return policy


def _preserve_order(ctx: OperationContext, body: dict[str, Any]) -> bool | None:
    value = body.get("preserveCertOrder")
    if value is None or not ctx.api_at_least(_PRESERVE_ORDER_SINCE):
        return None
    if not isinstance(value, bool):
        raise ServiceError.bad_parameter("The property 'preserveCertOrder' must be true or false.")
    return value


def _new_object(ctx: OperationContext, name: str) -> CertificateObject:
    """The certificate to add a version to, after the checks every creating operation makes (409s)."""
    store = certificate_store(ctx.vault)
    if store.get_deleted(name) is not None:
        raise ServiceError.deleted_but_recoverable(KIND, name)
    check_backing_names(ctx.vault, name)
    return get_or_create_object(ctx.vault, name)


# -- certificates ------------------------------------------------------------------------------------------------


def create_certificate(ctx: OperationContext) -> dict[str, Any]:
    """Create Certificate: POST /certificates/{certificate-name}/create"""
    name = check_name(ctx.param("name"))
    ensure_certificate_hook(ctx.service)
    body = ctx.body()
    attributes = attributes_from_wire(body.get("attributes"), ctx.now)
    tags = tags_from_wire(body.get("tags"))
    preserve = _preserve_order(ctx, body)
    with ctx.vault.lock:
        existing = get_object(ctx.vault, name)
        policy = _policy_from_wire(ctx, body.get("policy"), existing.policy if existing else None)
        obj = _new_object(ctx, name)
        if obj.pending is not None and obj.pending.in_progress:
            raise ServiceError.certificate_operation_in_progress(obj.name)
        try:
            op = start_issuance(
                ctx.service,
                ctx.vault,
                obj,
                policy,
                now=ctx.now,
                attributes=attributes,
                tags=tags,
                preserve_order=preserve,
                version_id=ctx.new_version(),
            )
        except PolicyError as exc:
            forget_if_empty(ctx, obj)
            raise ServiceError.bad_parameter(exc.message) from exc
        except ServiceError:
            forget_if_empty(ctx, obj)
            raise
        obj.policy = policy
        ctx.response_headers["Location"] = (
            f"{certificate_id(ctx.vault, obj.name)}/pending?api-version={ctx.api_version}&request_id={op.request_id}"
        )
        return in_progress(ctx, operation_to_wire(ctx, obj, op))


def import_certificate(ctx: OperationContext) -> dict[str, Any]:
    """Import Certificate: POST /certificates/{certificate-name}/import"""
    name = check_name(ctx.param("name"))
    ensure_certificate_hook(ctx.service)
    body = ctx.body()
    value = body.get("value")
    if not isinstance(value, str) or not value:
        raise ServiceError.missing_field("value")
    password = body.get("pwd")
    if password is not None and not isinstance(password, str):
        raise ServiceError.bad_parameter("The property 'pwd' must be a string.")
    given = body.get("policy")
    if given is not None and not isinstance(given, dict):
        raise ServiceError.bad_parameter("The property 'policy' must be an object.")
    secret_props = (given or {}).get("secret_props") or {}
    content_type = secret_props.get("contentType") if isinstance(secret_props, dict) else None
    if not isinstance(content_type, str) or not content_type:
        # A malformed secret_props is refused by the policy check below; the material is read as PKCS#12 till then.
        content_type = CONTENT_TYPE_PKCS12
    try:
        loaded = load_certificate_material(decode_import_value(value), password=password, content_type=content_type)
    except (BadPasswordError, CertificateFormatError) as exc:
        if content_type == CONTENT_TYPE_PEM or "PEM" in exc.message:
            raise ServiceError.bad_parameter(exc.message) from exc
        raise ServiceError.unreadable_pkcs12() from exc
    except CertificateMaterialError as exc:
        raise ServiceError.bad_parameter(exc.message) from exc
    try:
        imported = policy_for_imported_certificate(
            _known_to_api_version(ctx, dict(given or {})), loaded.cert, loaded.key
        )
    except PolicyError as exc:
        raise ServiceError.bad_parameter(exc.message) from exc
    attributes = attributes_from_wire(body.get("attributes"), ctx.now)
    tags = tags_from_wire(body.get("tags"))
    preserve = _preserve_order(ctx, body)
    with ctx.vault.lock:
        existing = get_object(ctx.vault, name)
        policy = _policy_from_wire(ctx, imported, existing.policy if existing else None)
        obj = _new_object(ctx, name)
        obj.policy = policy
        version = store_version(
            ctx.service,
            ctx.vault,
            obj,
            (loaded.cert, *loaded.chain),
            loaded.key,
            now=ctx.now,
            policy=policy,
            enabled=attributes.enabled,
            tags=tags,
            preserve_order=preserve,
            version_id=ctx.new_version(),
        )
        return bundle(ctx, obj, version, policy=True)


def get_certificate(ctx: OperationContext) -> dict[str, Any]:
    """Get Certificate: GET /certificates/{certificate-name}/{certificate-version}"""
    name, version_id = ctx.param("name"), ctx.param("version")
    with ctx.vault.lock:
        obj = get_object(ctx.vault, name)
        if obj is None:
            raise ServiceError.object_not_found(KIND, name)
        version = obj.get(version_id) if obj.has_versions else None
        if version is None:
            # While a create is in progress the service answers the version it makes, disabled, without a certificate.
            op = obj.pending
            asked = (version_id or "").lower() or (None if obj.has_versions else op.version if op else None)
            if op is not None and op.version and op.status != "completed" and asked == op.version:
                return pending_bundle(ctx, obj, op, policy=not version_id)
            raise ServiceError.object_not_found(KIND, name)
        # The policy comes with the certificate asked for by name only (get_certificate, not get_certificate_version).
        return bundle(ctx, obj, version, policy=not version_id)


def update_certificate(ctx: OperationContext) -> dict[str, Any]:
    """Update Certificate: PATCH /certificates/{certificate-name}/{certificate-version}"""
    name, version_id = ctx.param("name"), ctx.param("version")
    body = ctx.body()
    with ctx.vault.lock:
        obj = live_certificate(ctx.vault, name)
        version = obj.get(version_id)
        if version is None:
            raise ServiceError.object_not_found(KIND, name)
        raw = body.get("attributes")
        if raw is not None:
            if not isinstance(raw, dict):
                raise ServiceError.bad_parameter("The property 'attributes' must be an object.")
            enabled = raw.get("enabled")
            if enabled is not None and not isinstance(enabled, bool):
                raise ServiceError.bad_parameter("The attribute 'enabled' must be true or false.")
            # nbf and exp of a certificate are those of its X.509 validity: the service keeps them.
            if enabled is not None:
                version.attributes.enabled = enabled
        if "tags" in body:
            version.tags = tags_from_wire(body["tags"])
        if body.get("policy") is not None:
            obj.policy = _merged_policy(ctx, obj, body["policy"])
        version.attributes.updated = ctx.now
        mirror_backing_attributes(ctx.vault, obj.name, version, ctx.now)
        return bundle(ctx, obj, version, policy=not version_id)


def get_certificates(ctx: OperationContext) -> dict[str, Any]:
    """Get Certificates: GET /certificates"""
    include_pending = ctx.query.get("includePending", "").lower() == "true"
    with ctx.vault.lock:
        return page_index(
            ctx,
            certificate_store(ctx.vault).live,
            lambda obj: item(ctx, cast(CertificateObject, obj)),
            lambda obj: (
                isinstance(obj, CertificateObject)
                and (obj.has_versions or (include_pending and obj.pending is not None and obj.pending.in_progress))
            ),
        )


def get_certificate_versions(ctx: OperationContext) -> dict[str, Any]:
    """Get Certificate Versions: GET /certificates/{certificate-name}/versions"""
    with ctx.vault.lock:
        obj = get_object(ctx.vault, ctx.param("name"))
        if obj is None:
            return page(ctx, [], str, lambda _: {})
        ordered = list(obj.versions.values())
        rank = {version.version: index for index, version in enumerate(ordered)}
        return page(ctx, ordered, lambda v: f"{rank[v.version]:08d}", lambda v: item(ctx, obj, version=v))


def delete_certificate(ctx: OperationContext) -> dict[str, Any]:
    """Delete Certificate: DELETE /certificates/{certificate-name}"""
    props = ctx.vault.properties
    with ctx.vault.lock:
        obj = live_certificate(ctx.vault, ctx.param("name"))
        obj.pending = None
        ends = ctx.deletion_finish()
        certificate_store(ctx.vault).delete(
            obj.name, now=ctx.now, retention_days=props.retention_days, soft=props.soft_delete, finishes_at=ends
        )
        delete_backing_objects(ctx.vault, obj.name, ctx.now, finishes_at=ends)
        return deleted(ctx, obj, bundle(ctx, obj, obj.current(), policy=True))


# -- policies ----------------------------------------------------------------------------------------------------


def _policy_holder(ctx: OperationContext) -> CertificateObject:
    name = ctx.param("name")
    obj = get_object(ctx.vault, name)
    if obj is None or obj.policy is None:
        raise ServiceError.object_not_found(KIND, name)
    return obj


def _merged_policy(ctx: OperationContext, obj: CertificateObject, patch: object) -> dict[str, Any]:
    """PATCH semantics: each section given replaces the fields it names; other sections stay as they were."""
    if not isinstance(patch, dict):
        raise ServiceError.bad_parameter("The certificate policy must be an object.")
    merged: dict[str, Any] = {key: value for key, value in (obj.policy or {}).items() if key != "id"}
    for section, value in patch.items():
        if section == "id":
            continue
        current = merged.get(section)
        if (
            section == "key_props"
            and isinstance(value, dict)
            and isinstance(current, dict)
            and value.get("kty")
            and str(value["kty"]).split("-")[0] != str(current.get("kty", "RSA")).split("-")[0]
        ):
            # Another key type: its size or curve no longer applies.
            current = {k: v for k, v in current.items() if k not in ("key_size", "crv")}
        if isinstance(value, dict) and isinstance(current, dict):
            merged[section] = {**current, **value}
        else:
            merged[section] = value
    return _policy_from_wire(ctx, merged, obj.policy)


def get_certificate_policy(ctx: OperationContext) -> dict[str, Any]:
    """Get Certificate Policy: GET /certificates/{certificate-name}/policy"""
    with ctx.vault.lock:
        return policy_to_wire(ctx, _policy_holder(ctx))


def update_certificate_policy(ctx: OperationContext) -> dict[str, Any]:
    """Update Certificate Policy: PATCH /certificates/{certificate-name}/policy"""
    body = ctx.body()
    with ctx.vault.lock:
        obj = _policy_holder(ctx)
        obj.policy = _merged_policy(ctx, obj, body)
        return policy_to_wire(ctx, obj)


# -- soft delete -------------------------------------------------------------------------------------------------


def get_deleted_certificate(ctx: OperationContext) -> dict[str, Any]:
    """Get Deleted Certificate: GET /deletedcertificates/{certificate-name}"""
    name = ctx.param("name")
    with ctx.vault.lock:
        obj = certificate_store(ctx.vault).get_deleted(name)
        if not isinstance(obj, CertificateObject):
            raise ServiceError.deleted_object_not_found(KIND, name)
        return deleted(ctx, obj, bundle(ctx, obj, obj.current(), policy=True))


def get_deleted_certificates(ctx: OperationContext) -> dict[str, Any]:
    """Get Deleted Certificates: GET /deletedcertificates"""
    with ctx.vault.lock:
        return page_index(
            ctx,
            certificate_store(ctx.vault).deleted,
            lambda obj: deleted(ctx, cast(CertificateObject, obj), item(ctx, cast(CertificateObject, obj))),
            lambda obj: isinstance(obj, CertificateObject),
        )


def purge_deleted_certificate(ctx: OperationContext) -> None:
    """Purge Deleted Certificate: DELETE /deletedcertificates/{certificate-name}"""
    name = ctx.param("name")
    with ctx.vault.lock:
        refuse_if_in_window(ctx.vault, name)
        obj = certificate_store(ctx.vault).get_deleted(name)
        if obj is None:
            raise ServiceError.deleted_object_not_found(KIND, name)
        if not ctx.vault.properties.purgeable:
            raise ServiceError.purge_not_allowed(KIND)
        certificate_store(ctx.vault).purge(name)
        purge_backing_objects(ctx.vault, obj.name)


def recover_deleted_certificate(ctx: OperationContext) -> dict[str, Any]:
    """Recover Deleted Certificate: POST /deletedcertificates/{certificate-name}/recover"""
    name = ctx.param("name")
    with ctx.vault.lock:
        if get_object(ctx.vault, name) is not None:
            raise ServiceError.recover_conflict(KIND, name)
        refuse_if_in_window(ctx.vault, name)
        ends = ctx.deletion_finish()
        obj = certificate_store(ctx.vault).recover(name, finishes_at=ends)
        if not isinstance(obj, CertificateObject):
            raise ServiceError.object_not_found(KIND, name)
        recover_backing_objects(ctx.vault, obj.name, finishes_at=ends)
        return bundle(ctx, obj, obj.current(), policy=True)


ROUTES: tuple[Route, ...] = (
    Route("PUT", "/certificates/contacts", "SetCertificateContacts", set_certificate_contacts),
    Route("GET", "/certificates/contacts", "GetCertificateContacts", get_certificate_contacts),
    Route("DELETE", "/certificates/contacts", "DeleteCertificateContacts", delete_certificate_contacts),
    Route("GET", "/certificates/issuers", "GetCertificateIssuers", get_certificate_issuers),
    Route("PUT", "/certificates/issuers/{issuer}", "SetCertificateIssuer", set_certificate_issuer),
    Route("PATCH", "/certificates/issuers/{issuer}", "UpdateCertificateIssuer", update_certificate_issuer),
    Route("GET", "/certificates/issuers/{issuer}", "GetCertificateIssuer", get_certificate_issuer),
    Route("DELETE", "/certificates/issuers/{issuer}", "DeleteCertificateIssuer", delete_certificate_issuer),
    Route("POST", "/certificates/restore", "RestoreCertificate", restore_certificate),
    Route("GET", "/certificates", "GetCertificates", get_certificates),
    Route("POST", "/certificates/{name}/create", "CreateCertificate", create_certificate, success=202),
    Route("POST", "/certificates/{name}/import", "ImportCertificate", import_certificate),
    Route("GET", "/certificates/{name}/versions", "GetCertificateVersions", get_certificate_versions),
    Route("GET", "/certificates/{name}/policy", "GetCertificatePolicy", get_certificate_policy),
    Route("PATCH", "/certificates/{name}/policy", "UpdateCertificatePolicy", update_certificate_policy),
    Route("POST", "/certificates/{name}/pending/merge", "MergeCertificate", merge_certificate, success=201),
    Route("GET", "/certificates/{name}/pending", "GetCertificateOperation", get_certificate_operation),
    Route("PATCH", "/certificates/{name}/pending", "UpdateCertificateOperation", update_certificate_operation),
    Route("DELETE", "/certificates/{name}/pending", "DeleteCertificateOperation", delete_certificate_operation),
    Route("POST", "/certificates/{name}/backup", "BackupCertificate", backup_certificate),
    Route("DELETE", "/certificates/{name}", "DeleteCertificate", delete_certificate),
    Route("GET", "/certificates/{name}/{version?}", "GetCertificate", get_certificate),
    Route("PATCH", "/certificates/{name}/{version?}", "UpdateCertificate", update_certificate),
    Route("GET", "/deletedcertificates", "GetDeletedCertificates", get_deleted_certificates),
    Route("GET", "/deletedcertificates/{name}", "GetDeletedCertificate", get_deleted_certificate),
    Route("DELETE", "/deletedcertificates/{name}", "PurgeDeletedCertificate", purge_deleted_certificate, success=204),
    Route("POST", "/deletedcertificates/{name}/recover", "RecoverDeletedCertificate", recover_deleted_certificate),
)
