"""A certificate's secret material: the PKCS#12 or PEM its backing secret holds, and reading what callers import.

Export writes what the service stores in a certificate's backing secret (unencrypted PFX, or PEM with the PKCS#8
key first); import reads PKCS#12 (with or without password) and PEM with a PKCS#8 key, and picks the leaf by its
private key. Errors are the typed ``CertificateMaterialError`` family of ``errors.py``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from kvconfig.fake.certificates.errors import (
    BadPasswordError,
    CertificateFormatError,
    CertificateMaterialError,
    KeyMismatchError,
    MissingPrivateKeyError,
)
from kvconfig.fake.certificates.policy import (
    CONTENT_TYPE_PEM,
    CONTENT_TYPE_PKCS12,
    CertificatePrivateKey,
    key_props_for,
)
from kvconfig.fake.certificates.x509 import _legacy_certificates_tolerated, public_key_matches

__all__ = ["LoadedCertificate", "convert_secret_value", "export_pem", "export_pkcs12", "load_certificate_material"]


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
    key: CertificatePrivateKey | None,
    chain: Iterable[x509.Certificate] = (),
    password: str | None = None,
) -> bytes:
    """A PFX holding key, leaf and chain; unencrypted like the service's secret unless a password is given.

    ``key=None`` leaves the private key out: what the secret of a certificate with a non-exportable key holds.
    """
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode("utf-8")) if password else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(None, key, cert, list(chain) or None, encryption)


def export_pem(
    cert: x509.Certificate, key: CertificatePrivateKey | None, chain: Iterable[x509.Certificate] = ()
) -> str:
    """``application/x-pem-file`` secret text: PKCS#8 private key first (unless ``None``), then leaf, then chain."""
    parts = []
    if key is not None:
        parts.append(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode("ascii")
        )
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


def convert_secret_value(value: str, from_type: str | None, to_type: str) -> str | None:
    """A certificate-backed secret's value in another content type (GetSecret's ``outContentType``), or ``None``
    when there is nothing to convert (same type, or not certificate material)."""
    if from_type == to_type or from_type not in (CONTENT_TYPE_PKCS12, CONTENT_TYPE_PEM):
        return None
    try:
        raw: bytes | str = base64.b64decode(value) if from_type == CONTENT_TYPE_PKCS12 else value
        loaded = load_certificate_material(raw, content_type=from_type)
    except (CertificateMaterialError, binascii.Error, ValueError):
        return None
    if to_type == CONTENT_TYPE_PEM:
        return export_pem(loaded.cert, loaded.key, loaded.chain)
    return base64.b64encode(export_pkcs12(loaded.cert, loaded.key, loaded.chain)).decode("ascii")
