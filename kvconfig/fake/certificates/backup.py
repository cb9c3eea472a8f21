"""Backup Certificate and Restore Certificate: every version, its private key and policy, in one sealed blob.

The blob is sealed as ``core/backup.py`` describes (the service's certificate backups carry the keys' prefix, as
observed), so a blob from one fake restores into another while a hand-edited one answers ``Malformed backup blob`` as
the service does. Restore rebuilds each version's backing key and secret from the certificate, its key and the policy,
with the same version ids.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kvconfig.fake.certificates.backing import add_backing_objects, check_backing_names
from kvconfig.fake.certificates.issuance import ensure_certificate_hook
from kvconfig.fake.certificates.policy import CertificatePrivateKey
from kvconfig.fake.certificates.state import (
    KIND,
    CertificateObject,
    CertificateVersion,
    bundle,
    certificate_store,
    get_object,
    get_or_create_object,
    live_certificate,
)
from kvconfig.fake.core.backup import CERTIFICATE_BACKUP
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.routing import OperationContext
from kvconfig.fake.core.state import Attributes

__all__ = ["backup_certificate", "restore_certificate"]

_DER = serialization.Encoding.DER


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _version_to_json(version: CertificateVersion, secret: str | None) -> dict[str, Any]:
    attrs = version.attributes
    key = version.private_key.private_bytes(_DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return {
        "version": version.version,
        "cer": _b64(version.cert.public_bytes(_DER)),
        "chain": [_b64(cert.public_bytes(_DER)) for cert in version.chain],
        "key": _b64(key),
        "contentType": version.content_type,
        "secret": secret,
        "tags": version.tags,
        "preserveCertOrder": version.preserve_order,
        "attributes": attrs.to_dict(),
    }


def _version_from_json(entry: dict[str, Any]) -> CertificateVersion:
    key = serialization.load_der_private_key(base64.b64decode(entry["key"]), None)
    raw = entry["attributes"]
    return CertificateVersion(
        version=entry["version"],
        cert=x509.load_der_x509_certificate(base64.b64decode(entry["cer"])),
        chain=tuple(x509.load_der_x509_certificate(base64.b64decode(item)) for item in entry["chain"]),
        private_key=_certificate_key(key),
        attributes=Attributes.from_dict(raw),
        tags=entry["tags"],
        preserve_order=entry["preserveCertOrder"],
        content_type=entry["contentType"],
    )


def _certificate_key(key: object) -> CertificatePrivateKey:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("not a certificate key")
    return key


def _secret_of(ctx: OperationContext, name: str, version: CertificateVersion) -> str | None:
    # The PFX bytes differ at each export (fresh MAC salt): a restore gives back the very value the secret had.
    secret_obj = ctx.vault.secrets.get(name)
    found = secret_obj.get(version.version) if secret_obj is not None else None
    return found.value if found is not None else None


def backup_certificate(ctx: OperationContext) -> dict[str, Any]:
    """Backup Certificate: POST /certificates/{certificate-name}/backup"""
    with ctx.vault.lock:
        obj = live_certificate(ctx.vault, ctx.param("name"))
        payload = {
            "name": obj.name,
            "policy": obj.policy,
            "versions": [
                _version_to_json(version, _secret_of(ctx, obj.name, version)) for version in obj.versions.values()
            ],
        }
    return {"value": CERTIFICATE_BACKUP.seal(payload)}


def restore_certificate(ctx: OperationContext) -> dict[str, Any]:
    """Restore Certificate: POST /certificates/restore"""
    name, policy, versions = _read_payload(CERTIFICATE_BACKUP.open_request(ctx))
    ensure_certificate_hook(ctx.service)  # a restored policy's lifetime actions run on the clock too
    with ctx.vault.lock:
        store = certificate_store(ctx.vault)
        taken = get_object(ctx.vault, name) is not None or store.get_deleted(name) is not None
        if taken or ctx.vault.secrets.get(name) is not None:
            latest = versions[-1][0].version
            raise ServiceError.restore_conflict(KIND, f"{ctx.vault.url}/certificates/{name}/{latest}")
        check_backing_names(ctx.vault, name)
        obj: CertificateObject = get_or_create_object(ctx.vault, name)
        obj.policy = policy
        key_props = policy.get("key_props") or {}
        previous: str | None = None
        for version, value in versions:
            add_backing_objects(
                ctx.vault,
                name,
                version,
                kty=str(key_props.get("kty", "RSA")),
                exportable=bool(key_props.get("exportable", True)),
                now=ctx.now,
                previous_version=previous,
                value=value,
            )
            obj.add(version.version, version)
            previous = version.version
        return bundle(ctx, obj, obj.current(), policy=True)


def _read_payload(payload: dict[str, Any]) -> tuple[str, dict[str, Any], list[tuple[CertificateVersion, str | None]]]:
    try:
        versions = [(_version_from_json(entry), entry.get("secret")) for entry in payload["versions"]]
        if not versions:
            raise ValueError("no versions")
        return str(payload["name"]), dict(payload["policy"] or {}), versions
    except (ValueError, KeyError, TypeError) as exc:
        raise ServiceError.malformed_backup() from exc
