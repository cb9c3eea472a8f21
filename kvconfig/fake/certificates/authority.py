"""The fake certificate authority: a root and one issuing CA per issuer provider, signing CSRs for named issuers.

When a certificate policy names an issuer whose provider is ``DigiCert`` or ``GlobalSign`` (or any other
provider), the real service sends the CSR to that public CA and merges what comes back. The fake signs the CSR
itself with a test PKI instead: one root, and below it one intermediate per provider, so the chain a client gets
has the shape of a real one and validates against :meth:`FakeCertificateAuthority.root_pem` in OpenSSL and in
``cryptography.x509.verification``. Nothing here is trusted outside the tests that choose to trust it.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from kvconfig.fake.certificates.errors import CertificateFormatError
from kvconfig.fake.certificates.policy import CertificatePrivateKey, _utc, add_months, readable_extensions
from kvconfig.fake.certificates.x509 import _add_key_ids, signature_hash

__all__ = ["GENERIC_PROVIDER", "KNOWN_PROVIDERS", "FakeCertificateAuthority", "sign_csr"]

KNOWN_PROVIDERS = ("DigiCert", "GlobalSign")
"""Issuer providers Key Vault integrates with, each given its own intermediate CA."""
GENERIC_PROVIDER = "Generic"
"""The intermediate that signs for every other provider name."""

# Wide enough that tests which move the fake's clock by decades still get chains valid at that time.
_CA_NOT_BEFORE = datetime(2000, 1, 1, tzinfo=timezone.utc)
_CA_NOT_AFTER = datetime(2100, 1, 1, tzinfo=timezone.utc)
_SERIALS = {"root": 1, "DigiCert": 2, "GlobalSign": 3, GENERIC_PROVIDER: 4}


def sign_csr(
    csr: x509.CertificateSigningRequest,
    ca_cert: x509.Certificate,
    ca_key: CertificatePrivateKey,
    *,
    validity_months: int,
    not_before: datetime,
    not_after: datetime | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """Issue a certificate for a CSR: its subject, key and requested extensions, signed by ``ca_key``.

    Validity runs from ``not_before`` for ``validity_months`` unless ``not_after`` is given. The CA decides three
    things itself: basic constraints are always CA=false, and the subject and authority key identifiers are
    computed rather than copied. A CSR whose signature does not verify is refused (:class:`CertificateFormatError`).
    """
    if not csr.is_signature_valid:
        raise CertificateFormatError("The certificate signing request's signature does not verify.")
    public_key = csr.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise CertificateFormatError("Key Vault certificates hold RSA or EC keys only.")
    not_before = _utc(not_before)
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(_utc(not_after) if not_after is not None else add_months(not_before, validity_months))
    )
    decided_here = (x509.BasicConstraints, x509.SubjectKeyIdentifier, x509.AuthorityKeyIdentifier)
    for extension in readable_extensions(csr):
        if not isinstance(extension.value, decided_here):
            builder = builder.add_extension(extension.value, critical=extension.critical)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=False)
    builder = _add_key_ids(builder, public_key, ca_cert)
    return builder.sign(ca_key, signature_hash(ca_key))


class FakeCertificateAuthority:
    """A test PKI: a root CA and one intermediate per issuer provider, made on first use.

    Names, serial numbers and validity are fixed, so two instances build structurally identical chains; the keys
    (RSA 2048, for speed) are fresh per instance. Thread-safe: one instance may serve every vault of a fake.
    """

    def __init__(self, *, organization: str = "kvconfig fake PKI") -> None:
        self._organization = organization
        self._lock = threading.Lock()
        self._root: tuple[x509.Certificate, rsa.RSAPrivateKey] | None = None
        self._intermediates: dict[str, tuple[x509.Certificate, rsa.RSAPrivateKey]] = {}

    def __repr__(self) -> str:
        return f"FakeCertificateAuthority(organization={self._organization!r})"

    @staticmethod
    def provider_name(provider: str) -> str:
        """The intermediate that serves ``provider``: a known provider (any letter case) or ``Generic``."""
        for known in KNOWN_PROVIDERS:
            if known.lower() == provider.lower():
                return known
        return GENERIC_PROVIDER

    @property
    def root_certificate(self) -> x509.Certificate:
        """The self-signed root every chain ends in."""
        with self._lock:
            return self._root_pair()[0]

    def root_pem(self) -> str:
        """The root certificate as PEM, ready for ``ssl.SSLContext.load_verify_locations(cadata=...)``."""
        return self.root_certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def chain_for(self, provider: str) -> list[x509.Certificate]:
        """The chain above a leaf issued for ``provider``: its intermediate, then the root."""
        with self._lock:
            return [self._intermediate_pair(provider)[0], self._root_pair()[0]]

    def issue(
        self,
        csr: x509.CertificateSigningRequest,
        provider: str,
        *,
        validity_months: int,
        not_before: datetime,
        not_after: datetime | None = None,
    ) -> list[x509.Certificate]:
        """Sign ``csr`` with the provider's intermediate; return the leaf followed by the chain (as ``x5c`` lists)."""
        with self._lock:
            intermediate, key = self._intermediate_pair(provider)
            root = self._root_pair()[0]
        leaf = sign_csr(
            csr, intermediate, key, validity_months=validity_months, not_before=not_before, not_after=not_after
        )
        return [leaf, intermediate, root]

    # -- construction, under self._lock ------------------------------------------------------------------------

    def _name(self, common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self._organization),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )

    def _root_pair(self) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        if self._root is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = self._name("kvconfig Fake Root CA")
            cert = self._ca_certificate(name, key, path_length=1, serial=_SERIALS["root"], issuer=None)
            self._root = (cert, key)
        return self._root

    def _intermediate_pair(self, provider: str) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        canonical = self.provider_name(provider)
        if canonical not in self._intermediates:
            root = self._root_pair()
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = self._name(f"kvconfig Fake {canonical} Issuing CA")
            cert = self._ca_certificate(name, key, path_length=0, serial=_SERIALS[canonical], issuer=root)
            self._intermediates[canonical] = (cert, key)
        return self._intermediates[canonical]

    @staticmethod
    def _ca_certificate(
        name: x509.Name,
        key: rsa.RSAPrivateKey,
        *,
        path_length: int,
        serial: int,
        issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
    ) -> x509.Certificate:
        issuer_cert, signer = issuer if issuer is not None else (None, key)
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer_cert.subject if issuer_cert is not None else name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(_CA_NOT_BEFORE)
            .not_valid_after(_CA_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(usage, critical=True)
        )
        builder = _add_key_ids(builder, key.public_key(), issuer_cert)
        return builder.sign(signer, signature_hash(signer))
