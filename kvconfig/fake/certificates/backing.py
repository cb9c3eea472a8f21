"""A certificate's backing key and backing secret: made with each version, kept in step, deleted and restored with it.

Every certificate version has a key and a secret of the same name and version, both ``managed``: the key (in the
keys store, through ``_key_store.new_key_version``) does the cryptographic operations with the certificate's
private key; the secret holds what an application downloads, the PFX (standard base64) or the PEM text, per the
policy's content type, with ``kid`` naming the key. A certificate whose key is not exportable still has its secret,
but it carries the certificate chain only: the service leaves the private key out of the value.
"""

from __future__ import annotations

import base64

from kvconfig.crypto._jwk import KeyMaterial
from kvconfig.fake.certificates.material import export_pem, export_pkcs12
from kvconfig.fake.certificates.policy import CONTENT_TYPE_PEM
from kvconfig.fake.certificates.state import CertificateVersion, certificate_store
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.state import Attributes, Vault
from kvconfig.fake.keys.store import key_store, new_key_version
from kvconfig.fake.secrets.operations import new_secret_version

__all__ = [
    "add_backing_objects",
    "check_backing_names",
    "delete_backing_objects",
    "mirror_backing_attributes",
    "purge_backing_objects",
    "recover_backing_objects",
    "secret_value",
]


def secret_value(version: CertificateVersion, *, exportable: bool) -> str:
    """The backing secret's value: base64 PFX or PEM text, with the private key only when it is exportable."""
    key = version.private_key if exportable else None
    if version.content_type == CONTENT_TYPE_PEM:
        return export_pem(version.cert, key, version.chain)
    return base64.b64encode(export_pkcs12(version.cert, key, version.chain)).decode("ascii")


def check_backing_names(vault: Vault, name: str) -> None:
    """Refuse a certificate name held by a secret or key that does not back a certificate (409 Conflict), or
    whose certificate, backing secret or key is soft-deleted or still being deleted or recovered (409, as for the
    certificate)."""
    stores = (certificate_store(vault), vault.secrets, key_store(vault))
    if any(store.being_deleted(name) is not None for store in stores):
        raise ServiceError.being_deleted_name("certificate", name)
    if any(store.being_recovered(name) is not None for store in stores):
        raise ServiceError.being_recovered_name("certificate", name)
    if vault.secrets.get_deleted(name) is not None or key_store(vault).get_deleted(name) is not None:
        raise ServiceError.deleted_but_recoverable("certificate", name)
    secret = vault.secrets.get(name)
    if secret is not None and secret.versions and not secret.current().managed:
        raise ServiceError.name_used_by_other_kind("secret", secret.name)
    key = key_store(vault).get(name)
    if key is not None and key.versions and not key.current().managed:
        raise ServiceError.name_used_by_other_kind("key", key.name)


def _copy(attributes: Attributes, now: int) -> Attributes:
    return Attributes(created=now, updated=now, enabled=attributes.enabled, nbf=attributes.nbf, exp=attributes.exp)


def add_backing_objects(
    vault: Vault,
    name: str,
    version: CertificateVersion,
    *,
    kty: str,
    exportable: bool,
    now: int,
    previous_version: str | None = None,
    value: str | None = None,
) -> None:
    """Add the key and secret versions backing ``version`` (same name, same version id), under the vault's lock.

    ``value`` is the secret's value when it is known already (a restore); otherwise it is exported afresh.
    """
    with vault.lock:
        new_key_version(
            vault,
            name,
            KeyMaterial(version.private_key, kty=kty),
            version_id=version.version,
            now=now,
            attributes=_copy(version.attributes, now),
            managed=True,
            tags=dict(version.tags) if version.tags is not None else None,
            exportable=exportable,
        )
        _, secret = new_secret_version(
            vault,
            name,
            value if value is not None else secret_value(version, exportable=exportable),
            version_id=version.version,
            now=now,
            content_type=version.content_type,
            tags=dict(version.tags) if version.tags is not None else None,
            attributes=_copy(version.attributes, now),
            managed=True,
            kid=f"{vault.url}/keys/{name}/{version.version}",
        )
        secret.previous_version = previous_version


def mirror_backing_attributes(vault: Vault, name: str, version: CertificateVersion, now: int) -> None:
    """Carry a certificate version's ``enabled`` flag and tags over to its backing key and secret."""
    tags = dict(version.tags) if version.tags is not None else None
    with vault.lock:
        secret_obj = vault.secrets.get(name)
        secret = secret_obj.get(version.version) if secret_obj is not None else None
        if secret is not None:
            secret.attributes.enabled, secret.attributes.updated, secret.tags = version.attributes.enabled, now, tags
        key_obj = key_store(vault).get(name)
        key = key_obj.get(version.version) if key_obj is not None else None
        if key is not None:
            key.attributes.enabled, key.attributes.updated, key.tags = version.attributes.enabled, now, tags


def delete_backing_objects(vault: Vault, name: str, now: int, *, finishes_at: float | None = None) -> None:
    """Soft-delete (or delete, without soft delete) the backing key and secret with their certificate; with
    ``finishes_at``, all three are being deleted until then."""
    props = vault.properties
    soft, days = props.soft_delete, props.retention_days
    with vault.lock:
        vault.secrets.delete(name, now=now, retention_days=days, soft=soft, finishes_at=finishes_at)
        key_store(vault).delete(name, now=now, retention_days=days, soft=soft, finishes_at=finishes_at)


def recover_backing_objects(vault: Vault, name: str, *, finishes_at: float | None = None) -> None:
    """Recover the backing key and secret with their certificate; with ``finishes_at``, all three are being
    recovered until then."""
    with vault.lock:
        vault.secrets.recover(name, finishes_at=finishes_at)
        key_store(vault).recover(name, finishes_at=finishes_at)


def purge_backing_objects(vault: Vault, name: str) -> None:
    with vault.lock:
        vault.secrets.purge(name)
        key_store(vault).purge(name)
