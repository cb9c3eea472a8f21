"""What the control API lists: vaults, their objects and versions, as JSON metadata; values only when asked.

Read under each vault's lock, so a listing never shows an object half made. Secret values appear only with
``reveal=True`` (the control API's ``?reveal=1``); a key's private material never appears at all, only its public
JWK; a certificate shows its thumbprint, subject and dates, never its private key.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import hashes

from kvconfig.fake.certificates.state import CertificateObject, CertificateVersion, certificate_store
from kvconfig.fake.core.state import Attributes, SecretVersion, Vault, Versioned
from kvconfig.fake.keys.store import KeyVersion, key_store

__all__ = ["KINDS", "object_detail", "vault_detail", "vault_summary"]

KINDS = {"secrets": "secret", "keys": "key", "certificates": "certificate"}


def _attributes(attributes: Attributes) -> dict[str, Any]:
    return {
        "enabled": attributes.enabled,
        "created": attributes.created,
        "updated": attributes.updated,
        "nbf": attributes.nbf,
        "exp": attributes.exp,
    }


def _version(vault: Vault, kind: str, name: str, version: object, *, reveal: bool) -> dict[str, Any]:
    found: dict[str, Any] = {"version": getattr(version, "version", ""), "id": ""}
    found["id"] = f"{vault.url}/{kind}/{name}/{found['version']}"
    found["attributes"] = _attributes(getattr(version, "attributes"))  # noqa: B009 - every version kind has them
    found["tags"] = getattr(version, "tags", None)
    if isinstance(version, SecretVersion):
        found["contentType"] = version.content_type
        found["managed"] = version.managed
        if reveal:
            found["value"] = version.value
    elif isinstance(version, KeyVersion):
        found["kty"] = version.material.kty
        found["keyOps"] = list(version.key_ops)
        found["managed"] = version.managed
        found["jwk"] = version.material.public_jwk(kid=found["id"], key_ops=version.key_ops)
    elif isinstance(version, CertificateVersion):
        cert = version.cert
        # x5t, as the service shows it: SHA-1 by definition of the field.
        found["thumbprint"] = base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).rstrip(b"=").decode()
        found["subject"] = cert.subject.rfc4514_string()
        found["issuer"] = cert.issuer.rfc4514_string()
        found["notBefore"] = int(cert.not_valid_before_utc.timestamp())
        found["notAfter"] = int(cert.not_valid_after_utc.timestamp())
    return found


def _object(vault: Vault, kind: str, obj: Versioned[Any], *, reveal: bool, versions: bool) -> dict[str, Any]:
    latest = obj.versions.get(obj.latest)
    found: dict[str, Any] = {
        "name": obj.name,
        "kind": KINDS[kind],
        "id": f"{vault.url}/{kind}/{obj.name}",
        "latest": obj.latest or None,
        "enabled": bool(latest is not None and latest.attributes.enabled),
        "versionCount": len(obj.versions),
        "deleted": None
        if obj.deleted_date is None
        else {"deletedDate": obj.deleted_date, "scheduledPurgeDate": obj.scheduled_purge_date},
    }
    if latest is not None:
        found["tags"] = getattr(latest, "tags", None)
        found["attributes"] = _attributes(latest.attributes)
        if isinstance(latest, SecretVersion):
            found["contentType"] = latest.content_type
            found["managed"] = latest.managed
    if isinstance(obj, CertificateObject):
        found["pending"] = None if obj.pending is None else {"status": obj.pending.status, "target": obj.pending.target}
    if versions:
        found["versions"] = [
            _version(vault, kind, obj.name, version, reveal=reveal) for version in obj.versions.values()
        ]
    return found


def _stores(vault: Vault) -> dict[str, Any]:
    return {"secrets": vault.secrets, "keys": key_store(vault), "certificates": certificate_store(vault)}


def vault_summary(vault: Vault) -> dict[str, Any]:
    """A vault's properties and object counts."""
    props = vault.properties
    with vault.lock:
        counts = {kind: len(store.live) for kind, store in _stores(vault).items()}
        deleted = {kind: len(store.deleted) for kind, store in _stores(vault).items()}
        throttled = "throttle" in vault.extensions
    return {
        "name": props.name,
        "url": props.url,
        "host": props.host,
        "kind": props.kind,
        "sku": props.sku,
        "softDelete": props.soft_delete,
        "retentionDays": props.retention_days,
        "purgeProtection": props.purge_protection,
        "rbac": props.rbac,
        "tenantId": props.tenant_id,
        "location": props.location,
        "throttling": throttled,
        "counts": counts,
        "deletedCounts": deleted,
    }


def vault_detail(vault: Vault) -> dict[str, Any]:
    """A vault's properties, its live objects and its soft-deleted ones (metadata, every version; no values)."""
    found: dict[str, Any] = {"properties": vault_summary(vault), "deleted": {}}
    with vault.lock:
        for kind, store in _stores(vault).items():
            found[kind] = [_object(vault, kind, obj, reveal=False, versions=True) for obj in store.live.values()]
            found["deleted"][kind] = [
                _object(vault, kind, obj, reveal=False, versions=False) for obj in store.deleted.values()
            ]
    return found


def object_detail(vault: Vault, kind: str, name: str, *, reveal: bool) -> dict[str, Any] | None:
    """One object (live, or else soft-deleted) with every version; secret values with ``reveal``."""
    store = _stores(vault)[kind]
    with vault.lock:
        obj = store.live.get(name.lower()) or store.deleted.get(name.lower())
        if obj is None:
            return None
        return _object(vault, kind, obj, reveal=reveal, versions=True)
