"""Certificates in seed files: issued through Create Certificate (a policy) or imported through Import Certificate
(PFX or PEM), with their backing keys and secrets; dumped as PFX (or PEM) with the policy.

::

    "certificates": {
        "tls": {"subject": "CN=app.example.com", "dns_names": ["app.example.com"]},   # self-signed, made now
        "api": {"policy": {"x509_props": {"subject": "CN=api"}, "key_props": {"kty": "EC"}}},
        "imported": {"pfx": "<base64 PFX>", "password": "p"},
        "from-pem": {"pem": "-----BEGIN PRIVATE KEY-----..."},
        "rotated": {"policy": {...}, "versions": [{}, {"enabled": false}]}
    }
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from typing import Any

from kvconfig.fake.certificates.errors import PolicyError
from kvconfig.fake.certificates.issuance import complete_operation
from kvconfig.fake.certificates.material import export_pem, export_pkcs12
from kvconfig.fake.certificates.policy import CONTENT_TYPE_PEM, CONTENT_TYPE_PKCS12, build_policy_defaults
from kvconfig.fake.certificates.state import CertificateObject, CertificateVersion, certificate_store, get_object
from kvconfig.fake.certificates.x509 import decode_import_value
from kvconfig.fake.core.routing import ServiceHost
from kvconfig.fake.core.seeding import (
    OBJECT_NAME,
    SeedError,
    check_times_and_flags,
    check_version_id,
    run_operation,
)
from kvconfig.fake.core.state import Vault
from kvconfig.fake.keys.store import key_store

__all__ = ["dump_certificates", "seed_certificates"]

_SHORTHANDS = ("subject", "dns_names", "validity_months")
_CERTIFICATE_FIELDS = {"policy", "versions", *_SHORTHANDS}
_VERSION_FIELDS = {"pfx", "pem", "password", "tags", "enabled", "created", "updated", "version"}
_TIMES = ("created", "updated")


def seed_certificates(fake: ServiceHost, vault: Vault, vault_name: str, certificates: object) -> None:
    if not isinstance(certificates, Mapping):
        raise SeedError(f"'certificates' of vault {vault_name!r} must be an object.")
    for name, spec in certificates.items():
        if not isinstance(name, str) or not OBJECT_NAME.match(name):
            raise SeedError(
                f"Certificate name {name!r} in vault {vault_name!r} is not valid: use 1-127 letters, digits and "
                "hyphens."
            )
        where = f"certificate {name!r} of vault {vault_name!r}"
        policy, versions = _parse(where, spec)
        for version in versions:
            _seed_version(fake, vault, name, policy, version, where=where)
        if "x509_props" in policy:
            _keep_given_policy(vault, name, policy, where)


def _parse(where: str, spec: object) -> tuple[dict[str, Any], list[Mapping[str, Any]]]:
    if not isinstance(spec, Mapping):
        raise SeedError(
            f"The {where} must be an object: a 'policy' (or 'subject'/'dns_names'), a 'pfx' or a 'pem' to import."
        )
    if "versions" in spec:
        unknown = set(spec) - _CERTIFICATE_FIELDS
        versions = spec["versions"]
        if not isinstance(versions, list) or not versions:
            raise SeedError(f"'versions' of {where} must be a non-empty list.")
    else:
        unknown = set(spec) - _CERTIFICATE_FIELDS - _VERSION_FIELDS
        versions = [{key: value for key, value in spec.items() if key in _VERSION_FIELDS}]
    if unknown:
        raise SeedError(f"Unknown member(s) in {where}: {', '.join(sorted(map(str, unknown)))}.")
    policy = _policy(where, spec)
    for version in versions:
        if not isinstance(version, Mapping):
            raise SeedError(f"Every version of {where} must be an object.")
        extra = set(version) - _VERSION_FIELDS
        if extra:
            raise SeedError(f"Unknown member(s) in a version of {where}: {', '.join(sorted(map(str, extra)))}.")
        if "pfx" in version and "pem" in version:
            raise SeedError(f"A version of {where} has both 'pfx' and 'pem': give one.")
        for key in ("pfx", "pem", "password"):
            if key in version and not isinstance(version[key], str):
                raise SeedError(f"'{key}' of {where} must be a string.")
        if "password" in version and "pfx" not in version and "pem" not in version:
            raise SeedError(f"'password' of {where} opens a 'pfx' or 'pem' to import; there is none.")
        check_times_and_flags(where, version, times=_TIMES)
        check_version_id(where, version.get("version"))
    if not policy.get("issuer") and any("pfx" not in version and "pem" not in version for version in versions):
        # A seed means "this certificate exists": issue it now, self-signed unless the policy names an issuer.
        policy["issuer"] = {"name": "Self"}
    return policy, versions


def _policy(where: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The policy the seed gives, with the shorthands folded into ``x509_props``."""
    raw = spec.get("policy")
    if raw is not None and not isinstance(raw, Mapping):
        raise SeedError(f"'policy' of {where} must be a CertificatePolicy object (as the REST API writes it).")
    policy: dict[str, Any] = copy.deepcopy(dict(raw or {}))
    if any(key in spec for key in _SHORTHANDS):
        x509_props = policy.setdefault("x509_props", {})
        if not isinstance(x509_props, dict):
            raise SeedError(f"'policy.x509_props' of {where} must be an object.")
        if "subject" in spec:
            x509_props["subject"] = spec["subject"]
        if "validity_months" in spec:
            x509_props["validity_months"] = spec["validity_months"]
        if "dns_names" in spec:
            sans = x509_props.setdefault("sans", {})
            if not isinstance(sans, dict):
                raise SeedError(f"'policy.x509_props.sans' of {where} must be an object.")
            sans["dns_names"] = spec["dns_names"]
    return policy


def _seed_version(
    fake: ServiceHost,
    vault: Vault,
    name: str,
    policy: dict[str, Any],
    spec: Mapping[str, Any],
    *,
    where: str,
) -> None:
    now = int(spec.get("created", fake.clock.now()))
    body: dict[str, Any] = {}
    if "enabled" in spec:
        body["attributes"] = {"enabled": spec["enabled"]}
    if "tags" in spec:
        body["tags"] = spec["tags"]
    params = {"name": name}
    if "pfx" in spec or "pem" in spec:
        # The form decides how the version is stored, as the content type of an Import Certificate request does.
        content_type = CONTENT_TYPE_PKCS12 if "pfx" in spec else CONTENT_TYPE_PEM
        raw_props = policy.get("secret_props")
        secret_props: dict[str, Any] = raw_props if isinstance(raw_props, dict) else {}
        body["policy"] = {**policy, "secret_props": {**secret_props, "contentType": content_type}}
        body["value"] = spec["pfx"] if "pfx" in spec else spec["pem"]
        if "password" in spec:
            body["pwd"] = spec["password"]
        path = f"/certificates/{name}/import"
        version_id = spec.get("version")
        run_operation(fake, vault, "ImportCertificate", path, params, body, now=now, where=where, version_id=version_id)
        if "pfx" in spec and not spec.get("password"):
            _keep_given_pfx(vault, name, spec["pfx"])
    else:
        body["policy"] = policy
        path = f"/certificates/{name}/create"
        # The create names the version it will store (the preset id, else one drawn now); completing it keeps it.
        version_id = spec.get("version")
        run_operation(fake, vault, "CreateCertificate", path, params, body, now=now, where=where, version_id=version_id)
        obj = get_object(vault, name)
        assert obj is not None
        with vault.lock:
            op = obj.pending
            if op is not None and op.in_progress and op.issued is not None:
                complete_operation(fake, vault, obj, op.issued, now)
    if "updated" in spec:
        _set_updated(vault, name, int(spec["updated"]))


def _keep_given_pfx(vault: Vault, name: str, pfx: str) -> None:
    """Keep the very PFX bytes in the backing secret (as Restore Certificate does), so that seed(dump()) gives back
    the same dump: every PKCS#12 export has a fresh salt. Only when the secret would carry the key anyway."""
    obj = get_object(vault, name)
    assert obj is not None
    version = obj.current()
    if version.content_type != CONTENT_TYPE_PKCS12 or not _exportable(obj):
        return
    with vault.lock:
        secret_obj = vault.secrets.get(name)
        secret = secret_obj.get(version.version) if secret_obj is not None else None
        if secret is not None:
            secret.value = base64.b64encode(decode_import_value(pfx)).decode("ascii")


def _set_updated(vault: Vault, name: str, updated: int) -> None:
    obj = get_object(vault, name)
    if obj is None or not obj.has_versions:
        return
    version = obj.current()
    with vault.lock:
        version.attributes.updated = updated
        for store in (vault.secrets, key_store(vault)):
            backing = store.get(name)
            found = backing.get(version.version) if backing is not None else None
            if found is not None:
                found.attributes.updated = updated


def _keep_given_policy(vault: Vault, name: str, policy: dict[str, Any], where: str) -> None:
    """A policy with ``x509_props`` is the certificate's policy as given (what dump writes); without them, the
    operations' own policy stands (Import Certificate reads subject, SANs and validity from the certificate)."""
    obj = get_object(vault, name)
    if obj is None or obj.policy is None:
        return
    try:
        full = build_policy_defaults(policy)
    except PolicyError as exc:
        raise SeedError(f"Cannot seed {where}: {exc.reason or exc.message}") from exc
    raw_attributes = policy.get("attributes")
    given: dict[str, Any] = raw_attributes if isinstance(raw_attributes, dict) else {}
    stamped = dict(obj.policy.get("attributes") or {})
    stamped.update({key: given[key] for key in ("enabled", "created", "updated") if key in given})
    full["attributes"] = stamped
    with vault.lock:
        obj.policy = full


def _exportable(obj: CertificateObject) -> bool:
    key_props = (obj.policy or {}).get("key_props") or {}
    return bool(key_props.get("exportable", True))


def dump_certificates(vault: Vault) -> dict[str, Any]:
    """Every live certificate with at least one version: its policy and each version as PFX (or PEM)."""
    certificates: dict[str, Any] = {}
    with vault.lock:
        for found in certificate_store(vault):
            if not isinstance(found, CertificateObject) or not found.has_versions:
                continue
            entry: dict[str, Any] = {}
            if found.policy is not None:
                entry["policy"] = copy.deepcopy(found.policy)
            entry["versions"] = [_dump_version(vault, found, version) for version in found.versions.values()]
            certificates[found.name] = entry
    return certificates


def _dump_version(vault: Vault, obj: CertificateObject, version: CertificateVersion) -> dict[str, Any]:
    secret_obj = vault.secrets.get(obj.name)
    secret = secret_obj.get(version.version) if secret_obj is not None else None
    # The backing secret holds the private key only when the key is exportable; a dump always needs it.
    full = secret is not None and _exportable(obj)
    entry: dict[str, Any] = {"version": version.version}
    if full and secret is not None:
        value = secret.value
    elif version.content_type == CONTENT_TYPE_PEM:
        value = export_pem(version.cert, version.private_key, version.chain)
    else:
        pfx = export_pkcs12(version.cert, version.private_key, version.chain)
        value = base64.b64encode(pfx).decode("ascii")
    entry["pem" if version.content_type == CONTENT_TYPE_PEM else "pfx"] = value
    if version.tags is not None:
        entry["tags"] = dict(version.tags)
    entry["enabled"] = version.attributes.enabled
    entry["created"] = version.attributes.created
    entry["updated"] = version.attributes.updated
    return entry
