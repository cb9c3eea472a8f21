"""The X.509 layer of the fake's certificates: policies, keys, certificates, CSRs and the secret's PKCS#12/PEM bytes.

Pure functions over ``cryptography`` objects: no HTTP, no vault state, no clock (callers pass the times). The
certificate operations call them to turn a wire ``CertificatePolicy`` (snake_case JSON, as the service speaks it)
into keys, self-signed certificates and CSRs, to read what a caller imports or merges, and to write what a
certificate's backing secret holds. ``sign_csr`` and the fake certificate authority that signs for named issuers
live in ``_ca.py``.

Errors, all ``ValueError`` so a caller may treat them as bad input::

    ValueError
    ├── PolicyError                   a policy the service would refuse (answer 400 BadParameter)
    └── CertificateMaterialError      certificate bytes the service cannot use (import, merge; 400 BadParameter)
        ├── CertificateFormatError    not PKCS#12, PEM or DER at all, or a key type Key Vault does not hold
        ├── BadPasswordError          a PKCS#12 file whose password is wrong or missing
        ├── MissingPrivateKeyError    certificates without their private key
        └── KeyMismatchError          a private key that belongs to none of the certificates

Messages never quote passwords or key material.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import ipaddress
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography import utils as crypto_utils
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

__all__ = [
    "CONTENT_TYPE_PEM",
    "CONTENT_TYPE_PKCS12",
    "BadPasswordError",
    "CertificateFormatError",
    "CertificateMaterialError",
    "CertificatePrivateKey",
    "KeyMismatchError",
    "LoadedCertificate",
    "MissingPrivateKeyError",
    "PolicyError",
    "add_months",
    "build_certificate",
    "build_csr",
    "build_policy_defaults",
    "cer_b64",
    "certificate_to_merge",
    "csr_b64",
    "decode_import_value",
    "export_pem",
    "export_pkcs12",
    "format_subject",
    "generate_private_key",
    "key_props_for",
    "load_certificate_material",
    "months_between",
    "parse_subject",
    "policy_for_imported_certificate",
    "public_key_matches",
    "signature_hash",
    "thumbprint_x5t",
    "validity_window",
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

_UPN_OID = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")

# Subject attribute names Key Vault (Windows X.500 strings) understands; the first name per OID is the one written.
_SUBJECT_NAMES: dict[str, ObjectIdentifier] = {
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "L": NameOID.LOCALITY_NAME,
    "S": NameOID.STATE_OR_PROVINCE_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
    "E": NameOID.EMAIL_ADDRESS,
    "EMAIL": NameOID.EMAIL_ADDRESS,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "DC": NameOID.DOMAIN_COMPONENT,
    "STREET": NameOID.STREET_ADDRESS,
    "T": NameOID.TITLE,
    "TITLE": NameOID.TITLE,
    "G": NameOID.GIVEN_NAME,
    "GIVENNAME": NameOID.GIVEN_NAME,
    "SN": NameOID.SURNAME,
    "I": NameOID.INITIALS,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "POSTALCODE": NameOID.POSTAL_CODE,
    "UID": NameOID.USER_ID,
}
_SUBJECT_LABELS: dict[ObjectIdentifier, str] = {}
for _label, _oid in _SUBJECT_NAMES.items():
    _SUBJECT_LABELS.setdefault(_oid, _label)


# -- errors --------------------------------------------------------------------------------------------------------


class PolicyError(ValueError):
    """A certificate policy the service would refuse; the operations answer it as 400 ``BadParameter``.

    ``property`` names the offending wire property (``"key_props.key_size"``) when there is one.
    """

    code = "BadParameter"

    def __init__(self, message: str, *, property: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.property = property


class CertificateMaterialError(ValueError):
    """Certificate bytes (imported or merged) the service cannot use; answered as 400 ``BadParameter``."""

    code = "BadParameter"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CertificateFormatError(CertificateMaterialError):
    """Not PKCS#12, PEM or DER certificate material, or a key type Key Vault certificates cannot hold."""


class BadPasswordError(CertificateMaterialError):
    """A PKCS#12 file that does not open with the given password (or without one)."""


class MissingPrivateKeyError(CertificateMaterialError):
    """Certificate material without the private key that import requires."""


class KeyMismatchError(CertificateMaterialError):
    """A private key whose public half is in none of the certificates given with it."""


def _invalid(prop: str, detail: str | None = None) -> PolicyError:
    # "Property {name} has invalid value" is the service's wording for a rejected policy value.
    message = f"Property {prop} has invalid value"
    return PolicyError(f"{message}: {detail}" if detail else message, property=prop)


# -- policies ------------------------------------------------------------------------------------------------------


def _section(policy: Mapping[str, object], name: str, prefix: str = "") -> Mapping[str, object]:
    value = policy.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _invalid(prefix + name, "expected a JSON object")
    return value


def _opt_bool(section: Mapping[str, object], name: str, prop: str, default: bool) -> bool:
    value = section.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _invalid(prop, "expected true or false")
    return value


def _opt_int(section: Mapping[str, object], name: str, prop: str) -> int | None:
    value = section.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(prop, "expected an integer")
    return value


def _opt_str(section: Mapping[str, object], name: str, prop: str) -> str | None:
    value = section.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(prop, "expected a string")
    return value


def _opt_str_list(section: Mapping[str, object], name: str, prop: str) -> list[str] | None:
    value = section.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _invalid(prop, "expected a list of strings")
    return list(value)


def _key_props(section: Mapping[str, object]) -> dict[str, object]:
    kty = _opt_str(section, "kty", "key_props.kty") or "RSA"
    family = _KTYS.get(kty)
    if family is None:
        raise _invalid("key_props.kty", f"'{kty}' is not a certificate key type; use RSA, RSA-HSM, EC or EC-HSM")
    size = _opt_int(section, "key_size", "key_props.key_size")
    crv = _opt_str(section, "crv", "key_props.crv")
    out: dict[str, object] = {
        "exportable": _opt_bool(section, "exportable", "key_props.exportable", True),
        "kty": kty,
    }
    if family == "RSA":
        if crv is not None:
            raise _invalid("key_props.crv", f"a curve does not apply to {kty} keys")
        if size is None:
            size = 2048
        if size not in RSA_KEY_SIZES:
            raise _invalid("key_props.key_size", f"RSA key size {size} is not supported; use 2048, 3072 or 4096")
        out["key_size"] = size
    else:
        if crv is None:
            crv = _CURVE_BY_SIZE.get(size, "") if size is not None else "P-256"
            if not crv:
                raise _invalid("key_props.key_size", f"no elliptic curve has key size {size}")
        if crv not in _CURVES:
            raise _invalid("key_props.crv", f"'{crv}' is not a supported curve; use P-256, P-384, P-521 or P-256K")
        curve_size = _CURVES[crv][1]
        if size is not None and size != curve_size:
            raise _invalid("key_props.key_size", f"curve {crv} has key size {curve_size}, not {size}")
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
        raise _invalid("x509_props.validity_months", f"must be between 1 and {_MAX_VALIDITY_MONTHS}")
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
    _general_names(sans)
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
    raise _invalid("x509_props.key_usage", f"'{name}' is not a key usage")


def _eku_oid(dotted: str) -> ObjectIdentifier:
    if not re.fullmatch(r"[0-2](\.(0|[1-9][0-9]*))+", dotted):
        raise _invalid("x509_props.ekus", f"'{dotted}' is not an object identifier")
    return ObjectIdentifier(dotted)


def _lifetime_actions(value: object, issuer: str, validity_months: int) -> list[dict[str, object]]:
    if value is None:
        action = "EmailContacts" if issuer.lower() == "unknown" else "AutoRenew"
        return [{"trigger": {"lifetime_percentage": 80}, "action": {"action_type": action}}]
    if not isinstance(value, list):
        raise _invalid("lifetime_actions", "expected a list")
    out: list[dict[str, object]] = []
    for item in value:
        if not isinstance(item, Mapping):
            raise _invalid("lifetime_actions", "expected a list of objects")
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
                raise _invalid("lifetime_actions.trigger.lifetime_percentage", "must be between 1 and 99")
            trigger = {"lifetime_percentage": percentage}
        elif days is not None:
            bound = validity_months * _DAYS_PER_MONTH_BOUND
            if not 1 <= days <= bound:
                raise _invalid("lifetime_actions.trigger.days_before_expiry", f"must be between 1 and {bound}")
            trigger = {"days_before_expiry": days}
        else:
            raise _invalid("lifetime_actions.trigger", "set lifetime_percentage or days_before_expiry")
        action_type = _opt_str(action_in, "action_type", "lifetime_actions.action.action_type") or ""
        canonical = _ACTION_TYPES.get(action_type.lower())
        if canonical is None:
            raise _invalid("lifetime_actions.action.action_type", "use EmailContacts or AutoRenew")
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
        raise _invalid("policy", "expected a JSON object")
    key_props = _key_props(_section(policy, "key_props"))
    family = _KTYS[str(key_props["kty"])]
    content_type = _opt_str(_section(policy, "secret_props"), "contentType", "secret_props.contentType")
    content_type = content_type or CONTENT_TYPE_PKCS12
    if content_type not in (CONTENT_TYPE_PKCS12, CONTENT_TYPE_PEM):
        raise _invalid("secret_props.contentType", f"use {CONTENT_TYPE_PKCS12} or {CONTENT_TYPE_PEM}")
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
            raise _invalid(f"key_props.{name}", "it does not match the imported certificate's key")
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


def _certificate_ekus(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return []
    return [oid.dotted_string for oid in ext.value]


def _certificate_key_usage(cert: x509.Certificate) -> list[str]:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
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
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
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
        elif isinstance(name, x509.OtherName) and name.type_id == _UPN_OID:
            upn = _der_utf8_decode(name.value)
            if upn is not None:
                found["upns"].append(upn)
    return {kind: values for kind, values in found.items() if values}


# -- subjects ------------------------------------------------------------------------------------------------------

_SEPARATORS = ",;+"


def parse_subject(subject: str) -> x509.Name:
    """Parse a Key Vault subject such as ``CN=www.contoso.com, O=Contoso, OU=IT, L=Redmond, S=WA, C=US``.

    RDNs are separated by ``,`` or ``;`` and written most specific first, as Windows and RFC 4514 write them (so
    the encoded name starts with ``C``); ``+`` joins the attributes of a multi-valued RDN. Values may be quoted
    (``O="Contoso, Ltd"``) or use backslash escapes. Attribute names are case-insensitive; ``S``/``ST``, ``E``,
    ``DC``, ``STREET``, ``T``, ``G``, ``SN``, ``I``, ``SERIALNUMBER``, ``POSTALCODE``, ``UID`` and dotted OIDs
    (``OID.2.5.4.3`` or ``2.5.4.3``) are understood. Raises :class:`PolicyError` when malformed.
    """
    rdns: list[list[x509.NameAttribute[str]]] = [[]]
    pos, end = 0, len(subject)
    if not subject.strip():
        raise _subject_error(subject, "it is empty")
    while True:
        eq = subject.find("=", pos)
        if eq < 0:
            raise _subject_error(subject, f"'{subject[pos:].strip()}' has no '='")
        oid = _subject_oid(subject, subject[pos:eq].strip())
        value, pos = _subject_value(subject, eq + 1)
        if not value:
            raise _subject_error(subject, f"'{subject[eq - 1 : eq + 1].strip()}' has an empty value")
        try:
            rdns[-1].append(x509.NameAttribute(oid, value))
        except ValueError as exc:
            raise _subject_error(subject, str(exc)) from exc
        if pos >= end:
            break
        separator = subject[pos]
        pos += 1
        if separator != "+":
            rdns.append([])
        if not subject[pos:].strip():
            raise _subject_error(subject, "it ends with a separator")
    return x509.Name([x509.RelativeDistinguishedName(rdn) for rdn in reversed(rdns)])


def _subject_error(subject: str, reason: str) -> PolicyError:
    return PolicyError(
        f"The subject name '{subject}' is not a valid X.500 distinguished name: {reason}.",
        property="x509_props.subject",
    )


def _subject_oid(subject: str, label: str) -> ObjectIdentifier:
    upper = label.upper()
    if upper in _SUBJECT_NAMES:
        return _SUBJECT_NAMES[upper]
    dotted = label[4:] if upper.startswith("OID.") else label
    if re.fullmatch(r"[0-2](\.(0|[1-9][0-9]*))+", dotted):
        return ObjectIdentifier(dotted)
    raise _subject_error(subject, f"'{label}' is not a known attribute name" if label else "an attribute has no name")


def _subject_value(subject: str, pos: int) -> tuple[str, int]:
    """Read one attribute value starting at ``pos``; return it and the index of the separator after it (or end)."""
    end = len(subject)
    while pos < end and subject[pos] == " ":
        pos += 1
    if pos < end and subject[pos] == '"':
        chars: list[str] = []
        pos += 1
        while True:
            if pos >= end:
                raise _subject_error(subject, "a quoted value is not closed")
            char = subject[pos]
            if char == '"' and subject[pos + 1 : pos + 2] == '"':
                chars.append('"')
                pos += 2
            elif char == '"':
                pos += 1
                break
            elif char == "\\" and pos + 1 < end:
                chars.append(subject[pos + 1])
                pos += 2
            else:
                chars.append(char)
                pos += 1
        while pos < end and subject[pos] == " ":
            pos += 1
        if pos < end and subject[pos] not in _SEPARATORS:
            raise _subject_error(subject, "text follows a quoted value")
        return "".join(chars), pos
    chars = []
    kept = 0  # length up to the last escaped character, so escaped trailing spaces survive the strip
    while pos < end and subject[pos] not in _SEPARATORS:
        char = subject[pos]
        if char == "\\":
            hexpair = subject[pos + 1 : pos + 3]
            if re.fullmatch(r"[0-9A-Fa-f]{2}", hexpair):
                chars.append(chr(int(hexpair, 16)))
                pos += 3
            elif pos + 1 < end:
                chars.append(subject[pos + 1])
                pos += 2
            else:
                raise _subject_error(subject, "it ends with a lone backslash")
            kept = len(chars)
            continue
        chars.append(char)
        pos += 1
    value = "".join(chars)
    return value[:kept] + value[kept:].rstrip(" "), pos


def format_subject(name: x509.Name) -> str:
    """Write a name the way Key Vault shows subjects: most specific RDN first, ``", "`` between RDNs."""
    parts = []
    for rdn in reversed(name.rdns):
        attrs = []
        for attr in rdn:
            label = _SUBJECT_LABELS.get(attr.oid, attr.oid.dotted_string)
            value = attr.value if isinstance(attr.value, str) else attr.value.hex()
            if value != value.strip() or any(ch in value for ch in ',;+="\\<>#'):
                value = '"' + value.replace('"', '""') + '"'
            attrs.append(f"{label}={value}")
        parts.append("+".join(attrs))
    return ", ".join(parts)


# -- keys ----------------------------------------------------------------------------------------------------------


def generate_private_key(key_props: Mapping[str, object] | None) -> CertificatePrivateKey:
    """A new key for a certificate, as ``key_props`` asks: RSA 2048/3072/4096 or EC P-256/P-384/P-521/P-256K."""
    props = _key_props(key_props or {})
    if _KTYS[str(props["kty"])] == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=int(str(props["key_size"])))
    return ec.generate_private_key(_CURVES[str(props["crv"])][0])


def key_props_for(key: CertificatePrivateKey | rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> dict[str, object]:
    """``kty``, ``key_size`` and (EC) ``crv`` describing an existing key, in policy wire form."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return {"kty": "RSA", "key_size": key.key_size}
    for crv, (curve, size, _) in _CURVES.items():
        if curve.name == key.curve.name:
            return {"kty": "EC", "key_size": size, "crv": crv}
    raise CertificateFormatError(f"Key Vault certificates do not support the elliptic curve {key.curve.name}.")


def signature_hash(key: CertificatePrivateKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512:
    """The hash a key signs certificates with: SHA-256 for RSA, the curve's own size for EC."""
    if isinstance(key, rsa.RSAPrivateKey):
        return hashes.SHA256()
    return _CURVES[str(key_props_for(key)["crv"])][2]


def public_key_matches(cert: x509.Certificate, key: CertificatePrivateKey) -> bool:
    """Whether ``key`` is the private half of the certificate's public key."""
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(cert.public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki))


# -- certificates and requests -------------------------------------------------------------------------------------


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


def validity_window(issued_at: datetime, validity_months: int) -> tuple[datetime, datetime]:
    """``(not_before, not_after)`` as the service sets them for a certificate issued at ``issued_at``.

    The service back-dates ``nbf`` by ten minutes (clock skew) and adds the months to the issue time, not to
    ``nbf`` (RestoreCertificate example: nbf 18:26:26, exp a year after 18:36:26, the creation time).
    """
    issued_at = _utc(issued_at)
    return issued_at - timedelta(minutes=10), add_months(issued_at, validity_months)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _der_utf8(text: str) -> bytes:
    data = text.encode("utf-8")
    length = len(data)
    if length < 0x80:
        header = bytes([length])
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([0x80 | len(size)]) + size
    return b"\x0c" + header + data


def _der_utf8_decode(der: bytes) -> str | None:
    if len(der) < 2 or der[0] != 0x0C:
        return None
    length, start = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, start = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    try:
        return der[start : start + length].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _general_names(sans: Mapping[str, object]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []

    def values(kind: str) -> list[str]:
        found = sans.get(kind) or []
        return [str(item) for item in found] if isinstance(found, list) else []

    try:
        names += [x509.DNSName(value) for value in values("dns_names")]
        names += [x509.RFC822Name(value) for value in values("emails")]
        names += [x509.OtherName(_UPN_OID, _der_utf8(value)) for value in values("upns")]
        names += [x509.UniformResourceIdentifier(value) for value in values("uris")]
    except ValueError as exc:
        raise _invalid("x509_props.sans", str(exc)) from exc
    for value in values("ipAddresses"):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(value)))
        except ValueError as exc:
            raise _invalid("x509_props.sans.ipAddresses", f"'{value}' is not an IPv4 or IPv6 address") from exc
    return names


def _leaf_extensions(x509_props: Mapping[str, object], subject_empty: bool) -> list[tuple[x509.ExtensionType, bool]]:
    """The extensions a policy asks for, with their criticality, in the order the service's CSRs carry them."""
    extensions: list[tuple[x509.ExtensionType, bool]] = []
    usages = x509_props.get("key_usage")
    if isinstance(usages, list) and usages:
        flags = dict.fromkeys(_KEY_USAGES.values(), False)
        for name in usages:
            flags[_KEY_USAGES[str(name)]] = True
        extensions.append((x509.KeyUsage(**flags), True))
    ekus = x509_props.get("ekus")
    if isinstance(ekus, list) and ekus:
        extensions.append((x509.ExtendedKeyUsage([_eku_oid(str(eku)) for eku in ekus]), False))
    sans = x509_props.get("sans")
    names = _general_names(sans) if isinstance(sans, Mapping) else []
    if names:
        # RFC 5280 4.2.1.6: SANs are critical when they are the only name the certificate has.
        extensions.append((x509.SubjectAlternativeName(names), subject_empty))
    elif subject_empty:
        raise PolicyError("A certificate policy needs a subject or at least one subject alternative name.")
    extensions.append((x509.BasicConstraints(ca=False, path_length=None), False))
    return extensions


def _policy_subject(policy: Mapping[str, object]) -> tuple[dict[str, object], x509.Name]:
    full = build_policy_defaults(policy)
    x509_props = full["x509_props"]
    assert isinstance(x509_props, dict)
    subject = x509_props.get("subject")
    return x509_props, parse_subject(subject) if isinstance(subject, str) else x509.Name([])


def build_certificate(
    policy: Mapping[str, object],
    private_key: CertificatePrivateKey,
    *,
    not_before: datetime,
    not_after: datetime | None = None,
    issuer_cert: x509.Certificate | None = None,
    issuer_key: CertificatePrivateKey | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """A certificate for ``private_key`` as the policy describes it: self-signed unless an issuer is given.

    Validity runs from ``not_before`` to ``not_after`` (default: ``validity_months`` after ``not_before``; pass
    both from :func:`validity_window` to match the service). Extensions follow the service's self-signed
    certificates: key usage (critical), EKUs, SANs, basic constraints CA=false, subject and authority key ids.
    """
    if (issuer_cert is None) != (issuer_key is None):
        raise ValueError("issuer_cert and issuer_key go together: give both or neither.")
    x509_props, subject = _policy_subject(policy)
    not_before = _utc(not_before)
    if not_after is None:
        not_after = add_months(not_before, int(str(x509_props["validity_months"])))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert is not None else subject)
        .public_key(private_key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(_utc(not_after))
    )
    for extension, critical in _leaf_extensions(x509_props, subject_empty=not subject.rdns):
        builder = builder.add_extension(extension, critical=critical)
    builder = _add_key_ids(builder, private_key.public_key(), issuer_cert)
    signer = issuer_key if issuer_key is not None else private_key
    return builder.sign(signer, signature_hash(signer))


def _add_key_ids(
    builder: x509.CertificateBuilder,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    issuer_cert: x509.Certificate | None,
) -> x509.CertificateBuilder:
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    if issuer_cert is None:
        aki = x509.AuthorityKeyIdentifier(ski.digest, None, None)
    else:
        try:
            issuer_ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski)
        except x509.ExtensionNotFound:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(_public_key(issuer_cert))
    builder = builder.add_extension(aki, critical=False)
    return builder.add_extension(ski, critical=False)


def _public_key(cert: x509.Certificate) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise CertificateFormatError("Key Vault certificates hold RSA or EC keys only.")
    return key


def build_csr(policy: Mapping[str, object], private_key: CertificatePrivateKey) -> x509.CertificateSigningRequest:
    """The PKCS#10 request a pending certificate operation shows: policy subject, requested extensions, signed."""
    x509_props, subject = _policy_subject(policy)
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    for extension, critical in _leaf_extensions(x509_props, subject_empty=not subject.rdns):
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(private_key, signature_hash(private_key))


# -- wire encodings ------------------------------------------------------------------------------------------------


@contextmanager
def _legacy_certificates_tolerated() -> Iterator[None]:
    # The service accepts certificates from old tools (makecert) with non-positive serial numbers; cryptography
    # loads them but warns, which test suites running with warnings-as-errors would see as a failure of the fake.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="Parsed a serial number which wasn't positive",
            category=crypto_utils.CryptographyDeprecationWarning,
        )
        yield


def thumbprint_x5t(cert: x509.Certificate) -> str:
    """``x5t``: base64url of the SHA-1 of the DER certificate, without padding."""
    digest = hashlib.sha1(
        cert.public_bytes(serialization.Encoding.DER)
    ).digest()  # SHA-1 because the wire format says so
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def cer_b64(cert: x509.Certificate) -> str:
    """``cer`` (and ``x5c`` items): standard base64 of the DER certificate, padded."""
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def csr_b64(csr: x509.CertificateSigningRequest) -> str:
    """A certificate operation's ``csr``: standard base64 of the DER request, padded."""
    return base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode("ascii")


def certificate_to_merge(x5c: Sequence[str]) -> list[x509.Certificate]:
    """Decode MergeCertificate's ``x5c`` (base64 DER certificates, leaf first) into certificates."""
    if not x5c:
        raise CertificateFormatError("The certificate chain to merge (x5c) is empty.")
    certs = []
    for index, item in enumerate(x5c):
        try:
            with _legacy_certificates_tolerated():
                certs.append(x509.load_der_x509_certificate(_b64decode(item)))
        except (ValueError, TypeError) as exc:
            raise CertificateFormatError(f"x5c[{index}] is not a base64-encoded DER X.509 certificate.") from exc
    return certs


def _b64decode(text: str) -> bytes:
    compact = re.sub(r"\s+", "", text).replace("-", "+").replace("_", "/")
    return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)


def decode_import_value(value: str) -> bytes:
    """The bytes behind ImportCertificate's ``value``.

    The Python SDK always sends standard base64 of the file it was given (PFX or PEM bytes alike, see
    ``CertificateClient.import_certificate``); other clients send PEM text as it is. Both are accepted, as is
    base64 with line breaks, URL-safe characters or missing padding.
    """
    if not isinstance(value, str) or not value.strip():
        raise CertificateFormatError("The certificate value to import is empty.")
    if "-----BEGIN" in value:
        return value.encode("utf-8")
    try:
        return _b64decode(value)
    except (binascii.Error, ValueError) as exc:
        raise CertificateFormatError("The certificate value to import is neither base64 nor PEM text.") from exc


# -- secret material: export and import ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedCertificate:
    """Certificate material read from PKCS#12 or PEM: the leaf, its private key and the other certificates."""

    cert: x509.Certificate
    key: CertificatePrivateKey
    chain: tuple[x509.Certificate, ...] = ()

    def __repr__(self) -> str:  # never the key
        return f"LoadedCertificate(subject={self.cert.subject.rfc4514_string()!r}, chain={len(self.chain)})"


def export_pkcs12(
    cert: x509.Certificate,
    key: CertificatePrivateKey,
    chain: Iterable[x509.Certificate] = (),
    password: str | None = None,
) -> bytes:
    """A PFX holding key, leaf and chain; unencrypted like the service's secret unless a password is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode("utf-8")) if password else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(None, key, cert, list(chain) or None, encryption)


def export_pem(cert: x509.Certificate, key: CertificatePrivateKey, chain: Iterable[x509.Certificate] = ()) -> str:
    """``application/x-pem-file`` secret text: PKCS#8 private key first, then the leaf, then the chain."""
    parts = [
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")
    ]
    parts += [item.public_bytes(serialization.Encoding.PEM).decode("ascii") for item in (cert, *chain)]
    return "".join(parts)


def load_certificate_material(
    value: bytes | str, *, password: str | None = None, content_type: str | None = None
) -> LoadedCertificate:
    """Read what ImportCertificate (or a secret) carries: PKCS#12, or PEM with a PKCS#8 key and certificates.

    ``value`` is raw bytes or PEM text; use :func:`decode_import_value` first for the wire's base64 string.
    ``content_type`` picks the format when given; otherwise PEM is recognised by its ``-----BEGIN`` lines. The
    leaf is the certificate whose public key matches the private key; the others are the chain, in order.
    """
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    looks_pem = b"-----BEGIN" in data
    if content_type not in (None, CONTENT_TYPE_PKCS12, CONTENT_TYPE_PEM):
        raise CertificateFormatError(f"Content type '{content_type}' is not a certificate format Key Vault reads.")
    if content_type == CONTENT_TYPE_PEM or (content_type is None and looks_pem):
        return _load_pem(data, password)
    if looks_pem:
        raise CertificateFormatError(
            "The certificate content is PEM but the policy's content type is application/x-pkcs12; "
            "set secret_props.contentType to application/x-pem-file to import PEM."
        )
    return _load_pkcs12(data, password)


def _looks_like_pfx(data: bytes) -> bool:
    # PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData MacData OPTIONAL }
    if len(data) < 8 or data[0] != 0x30:
        return False
    offset = 2 + (data[1] & 0x7F if data[1] & 0x80 else 0)
    return data[offset : offset + 3] == b"\x02\x01\x03"


def _load_pkcs12(data: bytes, password: str | None) -> LoadedCertificate:
    attempts = [password.encode("utf-8")] if password else [None, b""]
    loaded = None
    for attempt in attempts:
        try:
            with _legacy_certificates_tolerated():
                loaded = pkcs12.load_pkcs12(data, attempt)
            break
        except ValueError:
            continue
    if loaded is None:
        if _looks_like_pfx(data):
            if password:
                raise BadPasswordError("The password does not open the PKCS#12 (PFX) certificate content.")
            raise BadPasswordError("The PKCS#12 (PFX) certificate content is protected by a password; none was given.")
        raise CertificateFormatError(
            "The specified PKCS#12 X.509 certificate content can not be read. Please check that it is valid PKCS#12."
        )
    key = loaded.key
    certs = [item.certificate for item in loaded.additional_certs]
    if loaded.cert is not None:
        certs.insert(0, loaded.cert.certificate)
    if key is None:
        raise MissingPrivateKeyError("The PKCS#12 (PFX) certificate content has no private key.")
    return _assemble(_supported_key(key), certs)


_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)


def _load_pem(data: bytes, password: str | None) -> LoadedCertificate:
    keys: list[CertificatePrivateKey] = []
    certs: list[x509.Certificate] = []
    for match in _PEM_BLOCK.finditer(data):
        label, block = match.group(1).decode("ascii"), match.group(0)
        try:
            if label == "CERTIFICATE":
                with _legacy_certificates_tolerated():
                    certs.append(x509.load_pem_x509_certificate(block))
            elif label in ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"):
                secret = password.encode("utf-8") if password and label.startswith("ENCRYPTED") else None
                keys.append(_supported_key(serialization.load_pem_private_key(block, secret)))
            elif label.endswith("PRIVATE KEY"):
                raise CertificateFormatError(
                    f"The PEM content holds a '{label}' block; Key Vault only accepts private keys in PKCS#8 form "
                    "('BEGIN PRIVATE KEY')."
                )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, CertificateMaterialError):
                raise
            if label == "ENCRYPTED PRIVATE KEY":
                raise BadPasswordError("The password does not decrypt the PEM private key.") from exc
            raise CertificateFormatError(f"A '{label}' block of the PEM content can not be read.") from exc
    if not certs:
        raise CertificateFormatError(
            "The specified PEM X.509 certificate content holds no certificate. Please check that it is valid PEM."
        )
    if not keys:
        raise MissingPrivateKeyError(
            "The PEM certificate content has no private key; it must hold the PKCS#8 key as well as the certificates."
        )
    if len(keys) > 1:
        raise CertificateFormatError("The PEM certificate content holds more than one private key.")
    return _assemble(keys[0], certs)


def _supported_key(key: object) -> CertificatePrivateKey:
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        if isinstance(key, ec.EllipticCurvePrivateKey):
            key_props_for(key)  # refuses curves Key Vault does not have
        return key
    raise CertificateFormatError("Key Vault certificates hold RSA or EC private keys only.")


def _assemble(key: CertificatePrivateKey, certs: list[x509.Certificate]) -> LoadedCertificate:
    if not certs:
        raise CertificateFormatError("The certificate content holds a private key but no certificate.")
    for index, cert in enumerate(certs):
        if public_key_matches(cert, key):
            return LoadedCertificate(cert, key, tuple(certs[:index] + certs[index + 1 :]))
    raise KeyMismatchError("The private key does not belong to any of the certificates in the content.")
