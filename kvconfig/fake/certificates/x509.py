"""Keys, certificates and CSRs of the fake's certificates, and their wire encodings (``x5t``, ``cer``, ``csr``).

Pure functions over ``cryptography`` objects: no HTTP, no vault state, no clock (callers pass the times). The
certificate operations call them to turn a policy (see ``policy.py``) into keys, self-signed certificates
and CSRs, and to read what MergeCertificate and ImportCertificate carry. PKCS#12/PEM export and import live in
``material.py``; ``sign_csr`` and the fake certificate authority in ``authority.py``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from cryptography import utils as crypto_utils
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kvconfig.fake.certificates.errors import CertificateFormatError, PolicyError
from kvconfig.fake.certificates.names import general_names, parse_subject
from kvconfig.fake.certificates.policy import (
    _CURVES,
    _KEY_USAGES,
    _KTYS,
    CertificatePrivateKey,
    _eku_oid,
    _key_props,
    _utc,
    add_months,
    build_policy_defaults,
    key_props_for,
)

__all__ = [
    "build_certificate",
    "build_csr",
    "cer_b64",
    "certificate_to_merge",
    "csr_b64",
    "decode_import_value",
    "generate_private_key",
    "public_key_matches",
    "signature_hash",
    "thumbprint_x5t",
    "validity_window",
]


# -- keys ----------------------------------------------------------------------------------------------------------


def generate_private_key(key_props: Mapping[str, object] | None) -> CertificatePrivateKey:
    """A new key for a certificate, as ``key_props`` asks: RSA 2048/3072/4096 or EC P-256/P-384/P-521/P-256K."""
    props = _key_props(key_props or {})
    if _KTYS[str(props["kty"])] == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=int(str(props["key_size"])))
    return ec.generate_private_key(_CURVES[str(props["crv"])][0])


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


def validity_window(issued_at: datetime, validity_months: int) -> tuple[datetime, datetime]:
    """``(not_before, not_after)`` as the service sets them for a certificate issued at ``issued_at``.

    The service back-dates ``nbf`` by ten minutes (clock skew) and adds the months to the issue time, not to
    ``nbf`` (RestoreCertificate example: nbf 18:26:26, exp a year after 18:36:26, the creation time).
    """
    issued_at = _utc(issued_at)
    return issued_at - timedelta(minutes=10), add_months(issued_at, validity_months)


def _leaf_extensions(x509_props: Mapping[str, object], subject_empty: bool) -> list[tuple[x509.ExtensionType, bool]]:
    """The extensions a policy asks for, with their criticality, in the order the service's CSRs carry them."""
    extensions: list[tuple[x509.ExtensionType, bool]] = []
    usages = x509_props.get("key_usage")
    if isinstance(usages, list) and usages:
        flags = dict.fromkeys(_KEY_USAGES.values(), False)
        for name in usages:
            flags[_KEY_USAGES[str(name)]] = True
        if not flags["key_agreement"]:
            # RFC 5280 4.2.1.3: encipherOnly and decipherOnly have no meaning without keyAgreement. The service keeps
            # them in the policy and issues the certificate; the certificate carries the usages that mean something
            # (cryptography, like most X.509 readers, refuses to build or read the undefined combination).
            flags["encipher_only"] = flags["decipher_only"] = False
        if any(flags.values()):
            extensions.append((x509.KeyUsage(**flags), True))
    ekus = x509_props.get("ekus")
    if isinstance(ekus, list) and ekus:
        extensions.append((x509.ExtendedKeyUsage([_eku_oid(str(eku)) for eku in ekus]), False))
    sans = x509_props.get("sans")
    names = general_names(sans) if isinstance(sans, Mapping) else []
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
    """Decode MergeCertificate's ``x5c`` (leaf first) into certificates, in every form the service accepts.

    Each entry is base64 of DER (the REST spec's form), base64 of PEM text (one or more certificates), base64 of the
    bare base64 body of a PEM certificate (what the SDK's merge sample sends: ``pem_body.encode()`` becomes base64 of
    that text on the wire), or PEM text itself.
    """
    if not x5c:
        raise CertificateFormatError("The certificate chain to merge (x5c) is empty.")
    certs: list[x509.Certificate] = []
    for index, item in enumerate(x5c):
        try:
            with _legacy_certificates_tolerated():
                certs += _merge_entry(item)
        except (ValueError, TypeError) as exc:
            raise CertificateFormatError(
                f"x5c[{index}] is not an X.509 certificate (base64 DER, PEM, or base64 of either)."
            ) from exc
    return certs


_PEM_MARK = b"-----BEGIN"


def _merge_entry(item: str) -> list[x509.Certificate]:
    if "-----BEGIN" in item:
        return x509.load_pem_x509_certificates(item.encode("ascii"))
    raw = _b64decode(item)
    if raw.lstrip().startswith(_PEM_MARK):
        return x509.load_pem_x509_certificates(raw)
    if raw[:1] == b"\x30":  # a DER SEQUENCE
        return [x509.load_der_x509_certificate(raw)]
    # The base64 text of a DER certificate, itself base64-encoded by the SDK.
    return [x509.load_der_x509_certificate(_b64decode(raw.decode("ascii")))]


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
