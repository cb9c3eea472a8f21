"""Certificate policies as the service applies them, X.500 subjects, and the policy view of keys and dates.

Pure functions over wire ``CertificatePolicy`` mappings (snake_case JSON, as the service speaks it): validation
and the service's defaults (:func:`build_policy_defaults`), the policy an imported certificate gets, Key Vault's
subject strings to and from ``x509.Name``, SANs to general names, and the month arithmetic of ``validity_months``.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from kvconfig.fake.certificates.errors import CertificateFormatError, PolicyError, invalid_property
from kvconfig.fake.certificates.names import UPN_OID, der_utf8_decode, format_subject, general_names, parse_subject

__all__ = [
    "CONTENT_TYPE_PEM",
    "CONTENT_TYPE_PKCS12",
    "CertificatePrivateKey",
    "add_months",
    "build_policy_defaults",
    "key_props_for",
    "months_between",
    "platform_managed_from_wire",
    "policy_for_imported_certificate",
    "readable_extensions",
]

CertificatePrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
"""The key types a Key Vault certificate can be backed by."""

CONTENT_TYPE_PKCS12 = "application/x-pkcs12"
CONTENT_TYPE_PEM = "application/x-pem-file"

RSA_KEY_SIZES = (2048, 3072, 4096)
_SignatureHash = hashes.SHA256 | hashes.SHA384 | hashes.SHA512
_CURVES: dict[str, tuple[ec.EllipticCurve, int, _SignatureHash]] = {
    "P-256": (ec.SECP256R1(), 256, hashes.SHA256()),
    "P-384": (ec.SECP384R1(), 384, hashes.SHA384()),
    "P-521": (ec.SECP521R1(), 521, hashes.SHA512()),
    "P-256K": (ec.SECP256K1(), 256, hashes.SHA256()),
}
_CURVE_BY_SIZE = {256: "P-256", 384: "P-384", 521: "P-521"}
_KTYS = {"RSA": "RSA", "RSA-HSM": "RSA", "EC": "EC", "EC-HSM": "EC"}
_MAX_VALIDITY_MONTHS = 1200
_MONTHS_GRACE = timedelta(days=1)
# The Trigger model's own documentation bounds days_before_expiry by validity_months * 27.
_DAYS_PER_MONTH_BOUND = 27

# KeyUsageType values, in the service's enum order, and the cryptography KeyUsage field each one sets.
_KEY_USAGES = {
    "digitalSignature": "digital_signature",
    "nonRepudiation": "content_commitment",
    "keyEncipherment": "key_encipherment",
    "dataEncipherment": "data_encipherment",
    "keyAgreement": "key_agreement",
    "keyCertSign": "key_cert_sign",
    "cRLSign": "crl_sign",
    "encipherOnly": "encipher_only",
    "decipherOnly": "decipher_only",
}
_DEFAULT_EKUS = (ExtendedKeyUsageOID.SERVER_AUTH.dotted_string, ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string)
# The CreateCertificate example's CSR carries digitalSignature + keyEncipherment for an RSA policy without
# key_usage; keyEncipherment has no meaning for EC keys (RFC 8813), so EC gets digitalSignature alone.
_DEFAULT_KEY_USAGE = {"RSA": ("digitalSignature", "keyEncipherment"), "EC": ("digitalSignature",)}
_ACTION_TYPES = {"emailcontacts": "EmailContacts", "autorenew": "AutoRenew"}
_SAN_KINDS = ("emails", "dns_names", "upns", "uris", "ipAddresses")


# -- policies ------------------------------------------------------------------------------------------------------


def _section(policy: Mapping[str, object], name: str, prefix: str = "") -> Mapping[str, object]:
    value = policy.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid_property(prefix + name, "expected a JSON object")
    return value


def _opt_bool(section: Mapping[str, object], name: str, prop: str, default: bool) -> bool:
    value = section.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_property(prop, "expected true or false")
    return value


def _opt_int(section: Mapping[str, object], name: str, prop: str) -> int | None:
    value = section.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_property(prop, "expected an integer")
    return value


def _opt_str(section: Mapping[str, object], name: str, prop: str) -> str | None:
    value = section.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_property(prop, "expected a string")
    return value


def _opt_str_list(section: Mapping[str, object], name: str, prop: str) -> list[str] | None:
    value = section.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid_property(prop, "expected a list of strings")
    return list(value)


def _key_props(section: Mapping[str, object]) -> dict[str, object]:
    kty = _opt_str(section, "kty", "key_props.kty") or "RSA"
    family = _KTYS.get(kty)
    if family is None:
        raise invalid_property(
            "key_props.kty", f"'{kty}' is not a certificate key type; use RSA, RSA-HSM, EC or EC-HSM"
        )
    size = _opt_int(section, "key_size", "key_props.key_size")
    crv = _opt_str(section, "crv", "key_props.crv")
    out: dict[str, object] = {
        "exportable": _opt_bool(section, "exportable", "key_props.exportable", True),
        "kty": kty,
    }
    if family == "RSA":
        if crv is not None:
            raise invalid_property("key_props.crv", f"a curve does not apply to {kty} keys")
        if size is None:
            size = 2048
        if size not in RSA_KEY_SIZES:
            raise invalid_property(
                "key_props.key_size", f"RSA key size {size} is not supported; use 2048, 3072 or 4096"
            )
        out["key_size"] = size
    else:
        if crv is None:
            crv = _CURVE_BY_SIZE.get(size, "") if size is not None else "P-256"
            if not crv:
                raise invalid_property("key_props.key_size", f"no elliptic curve has key size {size}")
        if crv not in _CURVES:
            raise invalid_property(
                "key_props.crv", f"'{crv}' is not a supported curve; use P-256, P-384, P-521 or P-256K"
            )
        curve_size = _CURVES[crv][1]
        if size is not None and size != curve_size:
            raise invalid_property("key_props.key_size", f"curve {crv} has key size {curve_size}, not {size}")
        out["key_size"] = curve_size
    out["reuse_key"] = _opt_bool(section, "reuse_key", "key_props.reuse_key", False)
    if family == "EC":
        out["crv"] = crv
    return out


def _validity_months(section: Mapping[str, object]) -> int:
    months = _opt_int(section, "validity_months", "x509_props.validity_months")
    if months is None:
        return 12
    if not 1 <= months <= _MAX_VALIDITY_MONTHS:
        raise invalid_property("x509_props.validity_months", f"must be between 1 and {_MAX_VALIDITY_MONTHS}")
    return months


def _x509_props(section: Mapping[str, object], family: str) -> dict[str, object]:
    out: dict[str, object] = {}
    subject = _opt_str(section, "subject", "x509_props.subject")
    if subject is not None and subject.strip():
        parse_subject(subject)
        out["subject"] = subject
    sans_in = _section(section, "sans", "x509_props.")
    sans: dict[str, object] = {}
    for kind in _SAN_KINDS:
        values = _opt_str_list(sans_in, kind, f"x509_props.sans.{kind}")
        if values:
            sans[kind] = values
    general_names(sans)
    if sans:
        out["sans"] = sans
    ekus = _opt_str_list(section, "ekus", "x509_props.ekus")
    if ekus is None:
        ekus = list(_DEFAULT_EKUS)
    for eku in ekus:
        _eku_oid(eku)
    out["ekus"] = ekus
    usages = _opt_str_list(section, "key_usage", "x509_props.key_usage")
    if usages is None:
        usages = list(_DEFAULT_KEY_USAGE[family])
    out["key_usage"] = [_key_usage_name(name) for name in usages]
    out["validity_months"] = _validity_months(section)
    return out


def _key_usage_name(name: str) -> str:
    for known in _KEY_USAGES:
        if known.lower() == name.lower():
            return known
    raise invalid_property("x509_props.key_usage", f"'{name}' is not a key usage")


def _eku_oid(dotted: str) -> ObjectIdentifier:
    if not re.fullmatch(r"[0-2](\.(0|[1-9][0-9]*))+", dotted):
        raise invalid_property("x509_props.ekus", f"'{dotted}' is not an object identifier")
    return ObjectIdentifier(dotted)


def _lifetime_actions(value: object, issuer: str, validity_months: int) -> list[dict[str, object]]:
    if value is None:
        action = "EmailContacts" if issuer.lower() == "unknown" else "AutoRenew"
        return [{"trigger": {"lifetime_percentage": 80}, "action": {"action_type": action}}]
    if not isinstance(value, list):
        raise invalid_property("lifetime_actions", "expected a list")
    out: list[dict[str, object]] = []
    for item in value:
        if not isinstance(item, Mapping):
            raise invalid_property("lifetime_actions", "expected a list of objects")
        trigger_in = _section(item, "trigger", "lifetime_actions.")
        action_in = _section(item, "action", "lifetime_actions.")
        percentage = _opt_int(trigger_in, "lifetime_percentage", "lifetime_actions.trigger.lifetime_percentage")
        days = _opt_int(trigger_in, "days_before_expiry", "lifetime_actions.trigger.days_before_expiry")
        if percentage is not None and days is not None:
            raise PolicyError(
                "A lifetime action trigger can set lifetime_percentage or days_before_expiry, not both.",
                property="lifetime_actions.trigger",
            )
        trigger: dict[str, object]
        if percentage is not None:
            if not 1 <= percentage <= 99:
                raise invalid_property("lifetime_actions.trigger.lifetime_percentage", "must be between 1 and 99")
            trigger = {"lifetime_percentage": percentage}
        elif days is not None:
            bound = validity_months * _DAYS_PER_MONTH_BOUND
            if not 1 <= days <= bound:
                raise invalid_property("lifetime_actions.trigger.days_before_expiry", f"must be between 1 and {bound}")
            trigger = {"days_before_expiry": days}
        else:
            raise invalid_property("lifetime_actions.trigger", "set lifetime_percentage or days_before_expiry")
        action_type = _opt_str(action_in, "action_type", "lifetime_actions.action.action_type") or ""
        canonical = _ACTION_TYPES.get(action_type.lower())
        if canonical is None:
            raise invalid_property("lifetime_actions.action.action_type", "use EmailContacts or AutoRenew")
        out.append({"trigger": trigger, "action": {"action_type": canonical}})
    return out


def build_policy_defaults(policy: Mapping[str, object] | None) -> dict[str, object]:
    """Validate a wire CertificatePolicy and fill in what the service fills in, as GET policy returns it.

    Missing parts get the service's defaults: an exportable, non-reused RSA 2048 key (EC: P-256), PKCS#12 secret
    content, 12 months of validity, server and client authentication EKUs, digitalSignature + keyEncipherment
    key usage (EC: digitalSignature), issuer ``Unknown``, and one lifetime action at 80 % of the lifetime
    (AutoRenew, or EmailContacts when the issuer is ``Unknown``, which cannot renew on its own). Explicit empty
    lists (``"ekus": []``) are kept: they mean "no such extension". ``id`` is dropped (the operation sets it);
    ``attributes`` and ``platformManaged`` are kept. Idempotent: defaults of defaults are the same dict.

    Raises :class:`PolicyError` for anything the service refuses.
    """
    policy = policy or {}
    if not isinstance(policy, Mapping):
        raise invalid_property("policy", "expected a JSON object")
    key_props = _key_props(_section(policy, "key_props"))
    family = _KTYS[str(key_props["kty"])]
    content_type = _opt_str(_section(policy, "secret_props"), "contentType", "secret_props.contentType")
    content_type = content_type or CONTENT_TYPE_PKCS12
    if content_type not in (CONTENT_TYPE_PKCS12, CONTENT_TYPE_PEM):
        raise invalid_property("secret_props.contentType", f"use {CONTENT_TYPE_PKCS12} or {CONTENT_TYPE_PEM}")
    x509_props = _x509_props(_section(policy, "x509_props"), family)
    issuer_in = _section(policy, "issuer")
    issuer: dict[str, object] = {"name": _opt_str(issuer_in, "name", "issuer.name") or "Unknown"}
    cty = _opt_str(issuer_in, "cty", "issuer.cty")
    if cty is not None:
        issuer["cty"] = cty
    if issuer_in.get("cert_transparency") is not None:
        issuer["cert_transparency"] = _opt_bool(issuer_in, "cert_transparency", "issuer.cert_transparency", False)
    actions = _lifetime_actions(
        policy.get("lifetime_actions"), str(issuer["name"]), int(str(x509_props["validity_months"]))
    )
    attributes = dict(_section(policy, "attributes"))
    attributes.setdefault("enabled", True)
    out: dict[str, object] = {
        "key_props": key_props,
        "secret_props": {"contentType": content_type},
        "x509_props": x509_props,
        "lifetime_actions": actions,
        "issuer": issuer,
        "attributes": attributes,
    }
    if policy.get("platformManaged") is not None:
        out["platformManaged"] = policy["platformManaged"]
    return out


_MAX_PLATFORM_METADATA = 8 * 1024


def platform_managed_from_wire(raw: object) -> dict[str, object]:
    """PlatformManaged (api-version 2026-04-01): ``certificateUsage`` (a string, required), ``metadata`` (an object,
    at most 8 KB as JSON)."""
    if not isinstance(raw, dict):
        raise invalid_property("platformManaged", "expected a JSON object")
    usage = raw.get("certificateUsage")
    if not isinstance(usage, str) or not usage:
        raise invalid_property("platformManaged.certificateUsage", "expected a non-empty string")
    out: dict[str, object] = {"certificateUsage": usage}
    metadata = raw.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict) or len(json.dumps(metadata)) > _MAX_PLATFORM_METADATA:
            raise invalid_property("platformManaged.metadata", "expected a JSON object of at most 8 KB")
        out["metadata"] = metadata
    return out


def policy_for_imported_certificate(
    policy: Mapping[str, object] | None,
    cert: x509.Certificate,
    key: CertificatePrivateKey | rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
) -> dict[str, object]:
    """The policy an imported certificate gets: the caller's policy, with the X.509 part read from the certificate.

    As the service does, subject, SANs, EKUs, key usage (empty lists when the certificate has none) and the
    validity in whole months (rounded up) come from the certificate, and the key properties from its key; the
    issuer defaults to ``Unknown``. A policy that names another key type or size than the key's is refused.
    """
    given = dict(policy or {})
    key_in = dict(_section(given, "key_props"))
    actual = key_props_for(key)
    kty_in = key_in.get("kty")
    if isinstance(kty_in, str) and _KTYS.get(kty_in) == actual["kty"]:
        actual["kty"] = kty_in
    for name in ("kty", "key_size", "crv"):
        if key_in.get(name) is not None and key_in[name] != actual.get(name):
            raise invalid_property(f"key_props.{name}", "it does not match the imported certificate's key")
    key_in.update(actual)
    given["key_props"] = key_in
    x509_props: dict[str, object] = {
        "subject": format_subject(cert.subject),
        "ekus": _certificate_ekus(cert),
        "key_usage": _certificate_key_usage(cert),
        "validity_months": months_between(cert.not_valid_before_utc, cert.not_valid_after_utc),
    }
    sans = _certificate_sans(cert)
    if sans:
        x509_props["sans"] = sans
    given["x509_props"] = x509_props
    return build_policy_defaults(given)


def readable_extensions(item: x509.Certificate | x509.CertificateSigningRequest) -> x509.Extensions:
    """The extensions of a certificate or CSR; 400 when ``cryptography`` cannot read them (for example a key usage
    with encipherOnly or decipherOnly but no keyAgreement, which it refuses to represent)."""
    try:
        return item.extensions
    except ValueError as exc:
        raise CertificateFormatError("The certificate's X.509 extensions cannot be read.") from exc


def _certificate_ekus(cert: x509.Certificate) -> list[str]:
    try:
        ext = readable_extensions(cert).get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return []
    return [oid.dotted_string for oid in ext.value]


def _certificate_key_usage(cert: x509.Certificate) -> list[str]:
    try:
        usage = readable_extensions(cert).get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return []
    names = []
    for name, attr in _KEY_USAGES.items():
        if attr in ("encipher_only", "decipher_only") and not usage.key_agreement:
            continue  # only defined with keyAgreement; cryptography refuses to read them otherwise
        if getattr(usage, attr):
            names.append(name)
    return names


def _certificate_sans(cert: x509.Certificate) -> dict[str, object]:
    try:
        san = readable_extensions(cert).get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return {}
    found: dict[str, list[str]] = {kind: [] for kind in _SAN_KINDS}
    for name in san:
        if isinstance(name, x509.DNSName):
            found["dns_names"].append(name.value)
        elif isinstance(name, x509.RFC822Name):
            found["emails"].append(name.value)
        elif isinstance(name, x509.UniformResourceIdentifier):
            found["uris"].append(name.value)
        elif isinstance(name, x509.IPAddress):
            found["ipAddresses"].append(str(name.value))
        elif isinstance(name, x509.OtherName) and name.type_id == UPN_OID:
            upn = der_utf8_decode(name.value)
            if upn is not None:
                found["upns"].append(upn)
    return {kind: values for kind, values in found.items() if values}


def key_props_for(key: CertificatePrivateKey | rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> dict[str, object]:
    """``kty``, ``key_size`` and (EC) ``crv`` describing an existing key, in policy wire form."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return {"kty": "RSA", "key_size": key.key_size}
    for crv, (curve, size, _) in _CURVES.items():
        if curve.name == key.curve.name:
            return {"kty": "EC", "key_size": size, "crv": crv}
    raise CertificateFormatError(f"Key Vault certificates do not support the elliptic curve {key.curve.name}.")


# -- dates and names -----------------------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus calendar months, the day clamped to the target month's length (Jan 31 + 1 = Feb 28/29)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def months_between(start: datetime, end: datetime) -> int:
    """Whole months from ``start`` to ``end``, rounded up: the validity_months of an imported certificate.

    The service reports 297 for a certificate valid from 2015-04-29 to 2039-12-31 (296 months and 2 days). Up to a
    day past the last whole month is forgiven, so a certificate the service itself made (``nbf`` back-dated ten
    minutes, see :func:`validity_window`) reads back with the months it was made with.
    """
    end = end - _MONTHS_GRACE
    months = max((end.year - start.year) * 12 + end.month - start.month - 1, 0)
    while add_months(start, months) < end:
        months += 1
    return max(months, 1)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
