"""Names in certificates: Key Vault's X.500 subject strings to and from ``x509.Name``, and SANs to general names."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

from kvconfig.fake.certificates.errors import PolicyError, invalid_property

__all__ = ["UPN_OID", "der_utf8_decode", "format_subject", "general_names", "parse_subject"]


UPN_OID = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")

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
    # The service's words ([R]: .NET session record CertificateClientLiveTests/StartCreateCertificateError, which
    # ends the message with "\r\n", left out here). Seed files, read by people, get the reason too.
    error = PolicyError(
        "Property policy.x509_props has invalid value. Invalid X.500 distinguished name", property="x509_props.subject"
    )
    error.reason = f"the subject name '{subject}' is not a valid X.500 distinguished name: {reason}"
    return error


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


def _der_utf8(text: str) -> bytes:
    data = text.encode("utf-8")
    length = len(data)
    if length < 0x80:
        header = bytes([length])
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([0x80 | len(size)]) + size
    return b"\x0c" + header + data


def der_utf8_decode(der: bytes) -> str | None:
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


def general_names(sans: Mapping[str, object]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []

    def values(kind: str) -> list[str]:
        found = sans.get(kind) or []
        return [str(item) for item in found] if isinstance(found, list) else []

    try:
        names += [x509.DNSName(value) for value in values("dns_names")]
        names += [x509.RFC822Name(value) for value in values("emails")]
        names += [x509.OtherName(UPN_OID, _der_utf8(value)) for value in values("upns")]
        names += [x509.UniformResourceIdentifier(value) for value in values("uris")]
    except ValueError as exc:
        raise invalid_property("x509_props.sans", str(exc)) from exc
    for value in values("ipAddresses"):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(value)))
        except ValueError as exc:
            raise invalid_property("x509_props.sans.ipAddresses", f"'{value}' is not an IPv4 or IPv6 address") from exc
    return names
