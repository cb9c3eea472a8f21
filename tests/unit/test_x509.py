"""The fake's X.509 layer: policy defaults and validation, subjects, certificates, CSRs, the fake CA, PFX/PEM."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import socket
import ssl
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from kvconfig.fake.certificates.authority import GENERIC_PROVIDER, FakeCertificateAuthority, sign_csr
from kvconfig.fake.certificates.errors import (
    BadPasswordError,
    CertificateFormatError,
    CertificateMaterialError,
    KeyMismatchError,
    MissingPrivateKeyError,
    PolicyError,
)
from kvconfig.fake.certificates.material import LoadedCertificate, export_pem, export_pkcs12, load_certificate_material
from kvconfig.fake.certificates.names import format_subject, parse_subject
from kvconfig.fake.certificates.policy import (
    CONTENT_TYPE_PEM,
    CONTENT_TYPE_PKCS12,
    add_months,
    build_policy_defaults,
    key_props_for,
    months_between,
    policy_for_imported_certificate,
)
from kvconfig.fake.certificates.x509 import (
    build_certificate,
    build_csr,
    cer_b64,
    certificate_to_merge,
    csr_b64,
    decode_import_value,
    generate_private_key,
    public_key_matches,
    thumbprint_x5t,
    validity_window,
)

# `cer` and `x5t` of examples/certificates/DeleteCertificate-example.json in the REST spec.
EXAMPLE_CER = (
    "MIICODCCAeagAwIBAgIQqHmpBAv+CY9IJFoUhlbziTAJBgUrDgMCHQUAMBYxFDASBgNVBAMTC1Jvb3QgQWdlbmN5MB4XDTE1MDQyOTIxNTM0"
    "MVoXDTM5MTIzMTIzNTk1OVowFzEVMBMGA1UEAxMMS2V5VmF1bHRUZXN0MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA5bVAT73z"
    "r4+N4WVv2+SvTunAw08ksS4BrJW/nNliz3S9XuzMBMXvmYzU5HJ8TtEgluBiZZYd5qsMJD+OXHSNbsLdmMhni0jYX09h3XlC2VJw2sGKeYF+"
    "xEaavXm337aZZaZyjrFBrrUl51UePaN+kVFXNlBb3N3TYpqa7KokXenJQuR+i9Gv9a77c0UsSsDSryxppYhKK7HvTZCpKrhVtulF5iPMswWe"
    "9np3uggfMamyIsK/0L7X9w9B2qN7993RR0A00nOk4H6CnkuwO77dSsD0KJsk6FyAoZBzRXDZh9+d9R76zCL506NcQy/jl0lCiQYwsUX73PG5"
    "pxOh02OwKwIDAQABo0swSTBHBgNVHQEEQDA+gBAS5AktBh0dTwCNYSHcFmRjoRgwFjEUMBIGA1UEAxMLUm9vdCBBZ2VuY3mCEAY3bACqAGSK"
    "Ec+41KpcNfQwCQYFKw4DAh0FAANBAGqIjo2geVagzuzaZOe1ClGKhZeiCKfWAxklaGN+qlGUbVS4IN4V1lot3VKnzabasmkEHeNxPwLn1qvS"
    "D0cX9CE="
)
EXAMPLE_X5T = "fLi3U52HunIVNXubkEnf8tP6Wbo"

NOW = datetime(2024, 5, 17, 9, 30, tzinfo=timezone.utc)
HOST = "www.contoso.com"
E = TypeVar("E", bound=x509.ExtensionType)
SUBJECT = 'CN=www.contoso.com, O="Contoso, Ltd", OU=IT, L=Redmond, S=WA, C=US'
FULL_POLICY: dict[str, object] = {
    "x509_props": {
        "subject": SUBJECT,
        "sans": {
            "dns_names": [HOST, "api.contoso.com"],
            "emails": ["admin@contoso.com"],
            "upns": ["svc@contoso.com"],
            "uris": ["spiffe://contoso.com/web"],
            "ipAddresses": ["10.1.2.3", "2001:db8::1"],
        },
        "key_usage": ["digitalSignature", "keyEncipherment"],
        "validity_months": 13,
    },
    "issuer": {"name": "Self"},
}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    key = generate_private_key({"kty": "RSA"})
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ca() -> FakeCertificateAuthority:
    return FakeCertificateAuthority()


@pytest.fixture(scope="module")
def self_signed(rsa_key: rsa.RSAPrivateKey) -> x509.Certificate:
    not_before, not_after = validity_window(NOW, 13)
    return build_certificate(FULL_POLICY, rsa_key, not_before=not_before, not_after=not_after)


@pytest.fixture(scope="module")
def issued_chain(ca: FakeCertificateAuthority, rsa_key: rsa.RSAPrivateKey) -> list[x509.Certificate]:
    csr = build_csr(FULL_POLICY, rsa_key)
    return ca.issue(csr, "DigiCert", validity_months=12, not_before=datetime.now(timezone.utc) - timedelta(hours=1))


def _ext(cert: x509.Certificate | x509.CertificateSigningRequest, kind: type[E]) -> x509.Extension[E]:
    return cert.extensions.get_extension_for_class(kind)


def _pem(*certs: x509.Certificate) -> str:
    return "".join(cert.public_bytes(serialization.Encoding.PEM).decode() for cert in certs)


# -- policy defaults and validation --------------------------------------------------------------------------------


def test_policy_defaults_for_sdk_default_policy_match_service_get_policy() -> None:
    sdk_default = {"x509_props": {"subject": "CN=DefaultPolicy", "sans": {}}, "issuer": {"name": "Self"}}

    assert build_policy_defaults(sdk_default) == {
        "key_props": {"exportable": True, "kty": "RSA", "key_size": 2048, "reuse_key": False},
        "secret_props": {"contentType": CONTENT_TYPE_PKCS12},
        "x509_props": {
            "subject": "CN=DefaultPolicy",
            "ekus": ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"],
            "key_usage": ["digitalSignature", "keyEncipherment"],
            "validity_months": 12,
        },
        "lifetime_actions": [{"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "AutoRenew"}}],
        "issuer": {"name": "Self"},
        "attributes": {"enabled": True},
    }


def test_policy_defaults_unknown_or_missing_issuer_emails_contacts() -> None:
    for policy in ({"issuer": {"name": "Unknown"}}, {}):
        full = build_policy_defaults(policy)
        assert full["issuer"] == {"name": "Unknown"}
        assert full["lifetime_actions"] == [
            {"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "EmailContacts"}}
        ]


def test_policy_defaults_ec_key_gets_curve_size_and_signature_usage() -> None:
    full = build_policy_defaults({"key_props": {"kty": "EC-HSM", "exportable": False}})
    assert full["key_props"] == {
        "exportable": False,
        "kty": "EC-HSM",
        "key_size": 256,
        "reuse_key": False,
        "crv": "P-256",
    }
    x509_props = full["x509_props"]
    assert isinstance(x509_props, dict)
    assert x509_props["key_usage"] == ["digitalSignature"]

    by_size = build_policy_defaults({"key_props": {"kty": "EC", "key_size": 384}})
    assert by_size["key_props"] == {
        "exportable": True,
        "kty": "EC",
        "key_size": 384,
        "reuse_key": False,
        "crv": "P-384",
    }


def test_policy_defaults_keep_explicit_values_and_are_idempotent() -> None:
    policy = {
        "key_props": {"kty": "RSA", "key_size": 4096, "reuse_key": True},
        "secret_props": {"contentType": CONTENT_TYPE_PEM},
        "x509_props": {"subject": "CN=a", "ekus": [], "key_usage": ["keycertsign"], "validity_months": 297},
        "lifetime_actions": [{"trigger": {"days_before_expiry": 30}, "action": {"action_type": "emailcontacts"}}],
        "issuer": {"name": "DigiCertIssuer", "cty": "OV-SSL", "cert_transparency": False},
        "attributes": {"enabled": False},
        "id": "https://v.vault.azure.net/certificates/c/policy",
    }
    full = build_policy_defaults(policy)

    assert full["x509_props"] == {"subject": "CN=a", "ekus": [], "key_usage": ["keyCertSign"], "validity_months": 297}
    assert full["lifetime_actions"] == [
        {"trigger": {"days_before_expiry": 30}, "action": {"action_type": "EmailContacts"}}
    ]
    assert full["issuer"] == {"name": "DigiCertIssuer", "cty": "OV-SSL", "cert_transparency": False}
    assert full["attributes"] == {"enabled": False}
    assert "id" not in full
    assert build_policy_defaults(full) == full


@pytest.mark.parametrize(
    ("policy", "prop"),
    [
        ({"key_props": {"kty": "oct"}}, "key_props.kty"),
        ({"key_props": {"kty": "RSA", "key_size": 1024}}, "key_props.key_size"),
        ({"key_props": {"kty": "RSA", "crv": "P-256"}}, "key_props.crv"),
        ({"key_props": {"kty": "EC", "crv": "P-192"}}, "key_props.crv"),
        ({"key_props": {"kty": "EC", "crv": "P-256", "key_size": 384}}, "key_props.key_size"),
        ({"key_props": {"exportable": "yes"}}, "key_props.exportable"),
        ({"secret_props": {"contentType": "text/plain"}}, "secret_props.contentType"),
        ({"x509_props": {"validity_months": 0}}, "x509_props.validity_months"),
        ({"x509_props": {"validity_months": 1201}}, "x509_props.validity_months"),
        ({"x509_props": {"subject": "CN"}}, "x509_props.subject"),
        ({"x509_props": {"ekus": ["serverAuth"]}}, "x509_props.ekus"),
        ({"x509_props": {"key_usage": ["sign"]}}, "x509_props.key_usage"),
        ({"x509_props": {"sans": {"ipAddresses": ["999.1.1.1"]}}}, "x509_props.sans.ipAddresses"),
        ({"x509_props": {"sans": {"dns_names": "a.com"}}}, "x509_props.sans.dns_names"),
        (
            {"lifetime_actions": [{"trigger": {"lifetime_percentage": 80, "days_before_expiry": 5}, "action": {}}]},
            "lifetime_actions.trigger",
        ),
        (
            {"lifetime_actions": [{"trigger": {"lifetime_percentage": 100}, "action": {"action_type": "AutoRenew"}}]},
            "lifetime_actions.trigger.lifetime_percentage",
        ),
        (
            {"lifetime_actions": [{"trigger": {"lifetime_percentage": 0}, "action": {"action_type": "AutoRenew"}}]},
            "lifetime_actions.trigger.lifetime_percentage",
        ),
        (
            {
                "x509_props": {"validity_months": 1},
                "lifetime_actions": [{"trigger": {"days_before_expiry": 28}, "action": {"action_type": "AutoRenew"}}],
            },
            "lifetime_actions.trigger.days_before_expiry",
        ),
        (
            {"lifetime_actions": [{"trigger": {"lifetime_percentage": 50}, "action": {"action_type": "Renew"}}]},
            "lifetime_actions.action.action_type",
        ),
        ({"lifetime_actions": [{"trigger": {}, "action": {"action_type": "AutoRenew"}}]}, "lifetime_actions.trigger"),
    ],
)
def test_policy_defaults_invalid_policy_raises_policy_error(policy: dict[str, object], prop: str) -> None:
    with pytest.raises(PolicyError) as caught:
        build_policy_defaults(policy)

    assert caught.value.property == prop
    assert caught.value.code == "BadParameter"
    assert isinstance(caught.value, ValueError)


def test_policy_defaults_both_triggers_message_names_both() -> None:
    trigger = {"lifetime_percentage": 80, "days_before_expiry": 5}
    with pytest.raises(PolicyError, match="lifetime_percentage or days_before_expiry, not both"):
        build_policy_defaults({"lifetime_actions": [{"trigger": trigger, "action": {"action_type": "AutoRenew"}}]})


def test_build_certificate_without_subject_or_sans_raises_policy_error(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(PolicyError, match="subject or at least one subject alternative name"):
        build_certificate({"issuer": {"name": "Self"}}, rsa_key, not_before=NOW)


# -- subjects ------------------------------------------------------------------------------------------------------


def test_parse_subject_key_vault_form_encodes_most_general_first() -> None:
    name = parse_subject("CN=www.contoso.com, O=Contoso, OU=IT, L=Redmond, S=WA, C=US, E=pki@contoso.com, DC=contoso")

    assert [rdn.rfc4514_string() for rdn in name.rdns][:2] == ["DC=contoso", "1.2.840.113549.1.9.1=pki@contoso.com"]
    assert name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "www.contoso.com"
    assert name.get_attributes_for_oid(NameOID.STATE_OR_PROVINCE_NAME)[0].value == "WA"
    assert name.rdns[-1].rfc4514_string() == "CN=www.contoso.com"


def test_parse_subject_quotes_escapes_multivalue_semicolons_and_oids() -> None:
    name = parse_subject('cn=a\\, b; O="Contoso, ""Ltd"""; OU=x+ST=y, OID.2.5.4.5=42, 2.5.4.12=Boss')

    values = {attr.oid: attr.value for attr in name}
    assert values[NameOID.COMMON_NAME] == "a, b"
    assert values[NameOID.ORGANIZATION_NAME] == 'Contoso, "Ltd"'
    assert values[NameOID.SERIAL_NUMBER] == "42"
    assert values[NameOID.TITLE] == "Boss"
    assert len(name.rdns) == 5
    assert {attr.oid for attr in name.rdns[2]} == {NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.STATE_OR_PROVINCE_NAME}


@pytest.mark.parametrize(
    "subject", ["", "   ", "CN", "CN=", "XX=foo", "CN=a,", 'O="unterminated', 'O="a" b', "C=USA", "=x", "CN=a\\"]
)
def test_parse_subject_malformed_raises_policy_error(subject: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_subject(subject)
    assert caught.value.property == "x509_props.subject"


def test_format_subject_round_trips_key_vault_form() -> None:
    assert format_subject(parse_subject(SUBJECT)) == SUBJECT
    assert format_subject(parse_subject("CN=a+OU=b, E=x@y.z")) == "CN=a+OU=b, E=x@y.z"


# -- keys ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("crv", "curve", "digest"),
    [
        ("P-256", ec.SECP256R1, hashes.SHA256),
        ("P-384", ec.SECP384R1, hashes.SHA384),
        ("P-521", ec.SECP521R1, hashes.SHA512),
        ("P-256K", ec.SECP256K1, hashes.SHA256),
    ],
)
def test_ec_certificate_uses_policy_curve_and_matching_hash(
    crv: str, curve: type[ec.EllipticCurve], digest: type[hashes.HashAlgorithm]
) -> None:
    policy = {"key_props": {"kty": "EC", "crv": crv}, "x509_props": {"subject": "CN=ec"}}
    key = generate_private_key(policy["key_props"])
    cert = build_certificate(policy, key, not_before=NOW)

    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, curve)
    assert isinstance(cert.signature_hash_algorithm, digest)
    assert key_props_for(key)["crv"] == crv
    assert _ext(cert, x509.KeyUsage).value.digital_signature
    assert not _ext(cert, x509.KeyUsage).value.key_encipherment


def test_generate_private_key_rsa_sizes(rsa_key: rsa.RSAPrivateKey) -> None:
    assert rsa_key.key_size == 2048
    bigger = generate_private_key({"kty": "RSA-HSM", "key_size": 3072})
    assert isinstance(bigger, rsa.RSAPrivateKey)
    assert key_props_for(bigger) == {"kty": "RSA", "key_size": 3072}


# -- self-signed certificates --------------------------------------------------------------------------------------


def test_self_signed_certificate_has_policy_subject_sans_usages_and_validity(self_signed: x509.Certificate) -> None:
    cert = self_signed

    assert cert.subject == cert.issuer == parse_subject(SUBJECT)
    assert cert.not_valid_before_utc == NOW - timedelta(minutes=10)
    assert cert.not_valid_after_utc == datetime(2025, 6, 17, 9, 30, tzinfo=timezone.utc)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    sans = _ext(cert, x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [HOST, "api.contoso.com"]
    assert sans.get_values_for_type(x509.RFC822Name) == ["admin@contoso.com"]
    assert sans.get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://contoso.com/web"]
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.1.2.3"),
        ipaddress.ip_address("2001:db8::1"),
    ]
    upn = sans.get_values_for_type(x509.OtherName)
    assert [(name.type_id.dotted_string, name.value) for name in upn] == [
        ("1.3.6.1.4.1.311.20.2.3", b"\x0c\x0fsvc@contoso.com")
    ]
    usage = _ext(cert, x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.key_encipherment
    assert not usage.value.key_cert_sign
    assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ]
    assert _ext(cert, x509.BasicConstraints).value.ca is False
    ski = _ext(cert, x509.SubjectKeyIdentifier).value
    assert _ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == ski.digest


def test_self_signed_certificate_loads_into_ssl_with_its_key(
    self_signed: x509.Certificate, rsa_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    pem_file = tmp_path / "cert.pem"
    pem_file.write_text(export_pem(self_signed, rsa_key))

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem_file)


def test_thumbprint_and_cer_follow_wire_encodings(self_signed: x509.Certificate) -> None:
    der = self_signed.public_bytes(serialization.Encoding.DER)
    x5t = thumbprint_x5t(self_signed)

    assert base64.urlsafe_b64decode(x5t + "=") == hashlib.sha1(der).digest()
    assert "=" not in x5t
    assert base64.b64decode(cer_b64(self_signed)) == der


def test_thumbprint_of_service_example_certificate_matches_its_x5t() -> None:
    cert = certificate_to_merge([EXAMPLE_CER])[0]

    assert thumbprint_x5t(cert) == EXAMPLE_X5T
    assert cer_b64(cert) == EXAMPLE_CER


def test_imported_policy_of_service_example_matches_service_answer() -> None:
    cert = certificate_to_merge([EXAMPLE_CER])[0]
    public_key = cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)

    policy = policy_for_imported_certificate(
        {"key_props": {"exportable": True, "kty": "RSA", "key_size": 2048, "reuse_key": False}}, cert, public_key
    )

    assert policy["x509_props"] == {"subject": "CN=KeyVaultTest", "ekus": [], "key_usage": [], "validity_months": 297}
    assert policy["issuer"] == {"name": "Unknown"}
    assert policy["key_props"] == {"exportable": True, "kty": "RSA", "key_size": 2048, "reuse_key": False}
    assert policy["lifetime_actions"] == [
        {"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "EmailContacts"}}
    ]


def test_imported_policy_reads_back_what_the_fake_made(
    self_signed: x509.Certificate, rsa_key: rsa.RSAPrivateKey
) -> None:
    policy = policy_for_imported_certificate(None, self_signed, rsa_key)

    x509_props = policy["x509_props"]
    assert isinstance(x509_props, dict)
    assert x509_props["subject"] == SUBJECT
    assert x509_props["validity_months"] == 13
    assert x509_props["sans"] == {
        "emails": ["admin@contoso.com"],
        "dns_names": [HOST, "api.contoso.com"],
        "upns": ["svc@contoso.com"],
        "uris": ["spiffe://contoso.com/web"],
        "ipAddresses": ["10.1.2.3", "2001:db8::1"],
    }


def test_imported_policy_with_other_key_type_raises_policy_error(
    self_signed: x509.Certificate, rsa_key: rsa.RSAPrivateKey
) -> None:
    with pytest.raises(PolicyError) as caught:
        policy_for_imported_certificate({"key_props": {"kty": "EC"}}, self_signed, rsa_key)
    assert caught.value.property == "key_props.kty"


# -- CSRs and the fake CA ------------------------------------------------------------------------------------------


def test_csr_carries_subject_and_requested_extensions(rsa_key: rsa.RSAPrivateKey) -> None:
    csr = build_csr(FULL_POLICY, rsa_key)

    assert csr.is_signature_valid
    assert csr.subject == parse_subject(SUBJECT)
    assert [type(ext.value) for ext in csr.extensions] == [
        x509.KeyUsage,
        x509.ExtendedKeyUsage,
        x509.SubjectAlternativeName,
        x509.BasicConstraints,
    ]
    assert x509.load_der_x509_csr(base64.b64decode(csr_b64(csr))) == csr


def test_sign_csr_copies_subject_extensions_and_sets_key_ids(
    ca: FakeCertificateAuthority, rsa_key: rsa.RSAPrivateKey
) -> None:
    csr = build_csr(FULL_POLICY, rsa_key)
    issuer = ca.chain_for("GlobalSign")[0]
    leaf = ca.issue(csr, "globalsign", validity_months=3, not_before=NOW)[0]

    assert leaf.subject == csr.subject
    assert leaf.issuer == issuer.subject
    assert leaf.not_valid_after_utc == datetime(2024, 8, 17, 9, 30, tzinfo=timezone.utc)
    assert public_key_matches(leaf, rsa_key)
    assert _ext(leaf, x509.SubjectAlternativeName).value == _ext(csr, x509.SubjectAlternativeName).value
    assert _ext(leaf, x509.KeyUsage).critical
    issuer_ski = _ext(issuer, x509.SubjectKeyIdentifier).value.digest
    assert _ext(leaf, x509.AuthorityKeyIdentifier).value.key_identifier == issuer_ski
    leaf.verify_directly_issued_by(issuer)


def test_sign_csr_with_explicit_window_and_serial(ca: FakeCertificateAuthority, rsa_key: rsa.RSAPrivateKey) -> None:
    root = ca.root_certificate
    csr = build_csr({"x509_props": {"subject": "CN=x"}}, rsa_key)
    not_before, not_after = validity_window(NOW, 6)
    # The root's key is private to the CA, so sign with a throwaway CA of our own.
    ca_key = generate_private_key({})
    ca_cert = build_certificate(
        {"x509_props": {"subject": "CN=local ca", "key_usage": ["keyCertSign"]}}, ca_key, not_before=NOW
    )
    leaf = sign_csr(csr, ca_cert, ca_key, validity_months=6, not_before=not_before, not_after=not_after, serial=7)

    assert leaf.serial_number == 7
    assert (leaf.not_valid_before_utc, leaf.not_valid_after_utc) == (not_before, not_after)
    assert leaf.issuer != root.subject


def test_fake_ca_chains_have_ca_extensions_per_provider(ca: FakeCertificateAuthority) -> None:
    digicert = ca.chain_for("DigiCert")
    root = ca.root_certificate

    assert digicert[1] == root
    assert ca.chain_for("digicert")[0] == digicert[0]
    assert ca.chain_for("SomeOtherCA")[0] == ca.chain_for("Anything")[0]
    assert GENERIC_PROVIDER in ca.chain_for("SomeOtherCA")[0].subject.rfc4514_string()
    assert ca.chain_for("GlobalSign")[0] != digicert[0]
    for cert, path_length in ((root, 1), (digicert[0], 0)):
        constraints = _ext(cert, x509.BasicConstraints)
        assert constraints.critical
        assert constraints.value == x509.BasicConstraints(ca=True, path_length=path_length)
        assert _ext(cert, x509.KeyUsage).value.key_cert_sign
        assert _ext(cert, x509.KeyUsage).value.crl_sign
    digicert[0].verify_directly_issued_by(root)
    assert x509.load_pem_x509_certificate(ca.root_pem().encode()) == root


def test_fake_ca_chain_validates_with_cryptography_verifier(
    ca: FakeCertificateAuthority, issued_chain: list[x509.Certificate]
) -> None:
    leaf, intermediate, root = issued_chain
    verifier = PolicyBuilder().store(Store([ca.root_certificate])).build_server_verifier(x509.DNSName(HOST))

    path = verifier.verify(leaf, [intermediate])

    assert path == [leaf, intermediate, root]


def test_fake_ca_chain_validates_in_tls_handshake(
    ca: FakeCertificateAuthority, issued_chain: list[x509.Certificate], rsa_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    leaf, intermediate, _root = issued_chain
    chain_file = tmp_path / "server.pem"
    chain_file.write_text(export_pem(leaf, rsa_key, [intermediate]))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(chain_file)
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.load_verify_locations(cadata=ca.root_pem())
    server_errors: list[BaseException] = []

    server_sock, client_sock = socket.socketpair()

    def serve() -> None:
        try:
            with server_context.wrap_socket(server_sock, server_side=True) as tls:
                tls.sendall(b"hello")
        except (OSError, ssl.SSLError) as exc:  # surfaced by the assertion below
            server_errors.append(exc)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client_context.wrap_socket(client_sock, server_hostname=HOST) as tls:
            assert tls.recv(5) == b"hello"
            peer = tls.getpeercert()
    finally:
        thread.join(10)
        server_sock.close()
        client_sock.close()

    assert not server_errors
    assert peer is not None
    assert ("DNS", HOST) in peer["subjectAltName"]


def test_merge_helpers_accept_issued_chain(issued_chain: list[x509.Certificate], rsa_key: rsa.RSAPrivateKey) -> None:
    merged = certificate_to_merge([cer_b64(cert) for cert in issued_chain])

    assert merged == issued_chain
    assert public_key_matches(merged[0], rsa_key)
    assert not public_key_matches(merged[1], rsa_key)


@pytest.mark.parametrize("x5c", [[], ["not base64!"], [base64.b64encode(b"not a certificate").decode()]])
def test_certificate_to_merge_garbage_raises_format_error(x5c: list[str]) -> None:
    with pytest.raises(CertificateFormatError):
        certificate_to_merge(x5c)


# -- PKCS#12 and PEM material ---------------------------------------------------------------------------------------


def test_pfx_without_password_round_trips(issued_chain: list[x509.Certificate], rsa_key: rsa.RSAPrivateKey) -> None:
    leaf, *chain = issued_chain
    pfx = export_pkcs12(leaf, rsa_key, chain)

    loaded = load_certificate_material(pfx, password=None, content_type=CONTENT_TYPE_PKCS12)

    assert loaded.cert == leaf
    assert list(loaded.chain) == chain
    assert public_key_matches(loaded.cert, loaded.key)
    assert "PRIVATE" not in repr(loaded)


def test_pfx_with_password_round_trips_and_wrong_password_is_refused(
    self_signed: x509.Certificate, rsa_key: rsa.RSAPrivateKey
) -> None:
    pfx = export_pkcs12(self_signed, rsa_key, password="s3cret")

    assert load_certificate_material(pfx, password="s3cret", content_type=None).cert == self_signed
    with pytest.raises(BadPasswordError, match="password does not open"):
        load_certificate_material(pfx, password="wrong", content_type=None)
    with pytest.raises(BadPasswordError, match="none was given"):
        load_certificate_material(pfx, password=None, content_type=None)


def test_pfx_with_empty_password_opens_without_one(self_signed: x509.Certificate, rsa_key: rsa.RSAPrivateKey) -> None:
    pfx = pkcs12.serialize_key_and_certificates(None, rsa_key, self_signed, None, serialization.NoEncryption())
    assert load_certificate_material(pfx, password=None, content_type=None).cert == self_signed


def test_pfx_without_key_raises_missing_private_key(self_signed: x509.Certificate) -> None:
    pfx = pkcs12.serialize_key_and_certificates(None, None, None, [self_signed], serialization.NoEncryption())
    with pytest.raises(MissingPrivateKeyError):
        load_certificate_material(pfx, password=None, content_type=CONTENT_TYPE_PKCS12)


def test_garbage_material_raises_format_error() -> None:
    with pytest.raises(CertificateFormatError):
        load_certificate_material(b"\x00garbage", password=None, content_type=None)


def test_export_pem_puts_pkcs8_key_first_then_leaf_then_chain(
    issued_chain: list[x509.Certificate], rsa_key: rsa.RSAPrivateKey
) -> None:
    leaf, *chain = issued_chain
    text = export_pem(leaf, rsa_key, chain)

    assert text.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert text.count("-----BEGIN CERTIFICATE-----") == 3
    assert text.index(_pem(leaf)) < text.index(_pem(chain[0])) < text.index(_pem(chain[1]))


def test_pem_with_key_last_and_leaf_after_chain_picks_leaf_by_key(
    issued_chain: list[x509.Certificate], rsa_key: rsa.RSAPrivateKey
) -> None:
    leaf, intermediate, root = issued_chain
    key_pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()

    loaded = load_certificate_material(_pem(intermediate, leaf, root) + key_pem, password=None, content_type=None)

    assert loaded.cert == leaf
    assert loaded.chain == (intermediate, root)
    assert isinstance(loaded, LoadedCertificate)


def test_pem_with_encrypted_pkcs8_key_needs_its_password(
    self_signed: x509.Certificate, rsa_key: rsa.RSAPrivateKey
) -> None:
    key_pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    ).decode()
    text = key_pem + _pem(self_signed)

    assert load_certificate_material(text, password="pw", content_type=CONTENT_TYPE_PEM).cert == self_signed
    with pytest.raises(BadPasswordError):
        load_certificate_material(text, password="nope", content_type=CONTENT_TYPE_PEM)


def test_pem_problems_raise_typed_errors(
    self_signed: x509.Certificate, rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    other_pem = other_rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    traditional = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()

    with pytest.raises(MissingPrivateKeyError):
        load_certificate_material(_pem(self_signed), password=None, content_type=CONTENT_TYPE_PEM)
    with pytest.raises(KeyMismatchError):
        load_certificate_material(other_pem + _pem(self_signed), password=None, content_type=None)
    with pytest.raises(CertificateFormatError, match="PKCS#8"):
        load_certificate_material(traditional + _pem(self_signed), password=None, content_type=None)
    with pytest.raises(CertificateFormatError, match="application/x-pem-file"):
        load_certificate_material(export_pem(self_signed, rsa_key), password=None, content_type=CONTENT_TYPE_PKCS12)
    with pytest.raises(CertificateFormatError, match="no certificate"):
        load_certificate_material(other_pem, password=None, content_type=CONTENT_TYPE_PEM)


def test_material_errors_share_one_base() -> None:
    for error in (CertificateFormatError, BadPasswordError, MissingPrivateKeyError, KeyMismatchError):
        assert issubclass(error, CertificateMaterialError)
        assert issubclass(error, ValueError)


# -- import values -------------------------------------------------------------------------------------------------


def test_decode_import_value_accepts_what_the_sdk_and_other_clients_send(
    self_signed: x509.Certificate, rsa_key: rsa.RSAPrivateKey
) -> None:
    pfx = export_pkcs12(self_signed, rsa_key)
    pem = export_pem(self_signed, rsa_key)

    # CertificateClient.import_certificate sends base64.b64encode(certificate_bytes) for PFX and PEM alike.
    assert decode_import_value(base64.b64encode(pfx).decode()) == pfx
    assert decode_import_value(base64.b64encode(pem.encode()).decode()) == pem.encode()
    assert decode_import_value(pem) == pem.encode()
    wrapped = base64.encodebytes(pfx).decode().rstrip("=\n")
    assert decode_import_value(wrapped) == pfx
    loaded = load_certificate_material(
        decode_import_value(base64.b64encode(pem.encode()).decode()), password=None, content_type=CONTENT_TYPE_PEM
    )
    assert loaded.cert == self_signed


@pytest.mark.parametrize("value", ["", "   ", "not base64 at all!"])
def test_decode_import_value_garbage_raises_format_error(value: str) -> None:
    with pytest.raises(CertificateFormatError):
        decode_import_value(value)


# -- months --------------------------------------------------------------------------------------------------------


def test_add_months_clamps_to_month_end_and_rolls_years() -> None:
    assert add_months(datetime(2024, 1, 31), 1) == datetime(2024, 2, 29)
    assert add_months(datetime(2023, 12, 15), 1) == datetime(2024, 1, 15)
    assert add_months(datetime(2024, 5, 17), 297) == datetime(2049, 2, 17)


def test_months_between_rounds_up_but_forgives_the_ten_minute_backdate() -> None:
    assert months_between(datetime(2015, 4, 29, 21, 53, 41), datetime(2039, 12, 31, 23, 59, 59)) == 297
    not_before, not_after = validity_window(NOW, 12)
    assert months_between(not_before, not_after) == 12
    assert months_between(NOW, NOW + timedelta(days=40)) == 2
