"""Issuers, contacts, pending operations and merge through the official CertificateClient, and certificates issued
by the fake's CA for DigiCert/GlobalSign issuers, whose chains validate against the fake CA's root."""

from __future__ import annotations

import base64
from datetime import datetime, timezone

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.certificates import (
    AdministratorContact,
    CertificateContact,
    CertificateOperation,
    CertificatePolicy,
    KeyVaultCertificate,
    WellKnownIssuerNames,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.verification import PolicyBuilder, Store

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.certificates.authority import FakeCertificateAuthority

from .cert_support import CertVault

_DER = serialization.Encoding.DER
_SHA256 = hashes.SHA256()


async def test_issuer_set_get_update_list_delete_never_echo_the_password(certs_versions: CertVault) -> None:
    cv = certs_versions
    admin = AdministratorContact(first_name="J", last_name="D", email="j@d.example", phone="1")
    created = await cv.call(
        cv.client.create_issuer, "issuer1", "Test", account_id="user", password="secret", admin_contacts=[admin]
    )
    assert created.name == "issuer1"
    assert created.provider == "Test"
    assert created.account_id == "user"
    assert created.password is None
    assert created.admin_contacts[0].email == "j@d.example"
    updated = await cv.call(cv.client.update_issuer, "issuer1", account_id="user2", password="other")
    assert updated.account_id == "user2"
    assert updated.password is None
    assert updated.admin_contacts[0].first_name == "J"  # not in the update: kept
    got = await cv.call(cv.client.get_issuer, "issuer1")
    assert got.id == f"{cv.vault_url}/certificates/issuers/issuer1"
    listed = await cv.collect(cv.client.list_properties_of_issuers())
    assert [(entry.name, entry.provider) for entry in listed] == [("issuer1", "Test")]
    deleted = await cv.call(cv.client.delete_issuer, "issuer1")
    assert deleted.name == "issuer1"
    with pytest.raises(ResourceNotFoundError) as caught:
        await cv.call(cv.client.get_issuer, "issuer1")
    assert caught.value.error is not None
    assert (caught.value.error.code, caught.value.error.message) == ("CertificateIssuerNotFound", "Issuer not found")


async def test_contacts_set_get_delete_and_not_found_when_none(certs_versions: CertVault) -> None:
    cv = certs_versions
    with pytest.raises(ResourceNotFoundError) as caught:
        await cv.call(cv.client.get_contacts)
    assert caught.value.error is not None
    assert (caught.value.error.code, caught.value.error.message) == ("ContactsNotFound", "Contacts not found")
    contacts = [CertificateContact(email="a@b.example", name="A", phone="1"), CertificateContact(email="c@d.example")]
    stored = await cv.call(cv.client.set_contacts, contacts)
    assert [contact.email for contact in stored] == ["a@b.example", "c@d.example"]
    assert [contact.name for contact in await cv.call(cv.client.get_contacts)] == ["A", None]
    removed = await cv.call(cv.client.delete_contacts)
    assert [contact.email for contact in removed] == ["a@b.example", "c@d.example"]
    with pytest.raises(ResourceNotFoundError):
        await cv.call(cv.client.delete_contacts)


def _unknown_policy(subject: str = "CN=merge.example") -> CertificatePolicy:
    return CertificatePolicy(issuer_name=WellKnownIssuerNames.unknown, subject=subject, san_dns_names=["merge.example"])


async def test_unknown_issuer_leaves_pending_operation_with_real_csr(certs_versions: CertVault) -> None:
    cv = certs_versions
    name = cv.name()
    operation = await cv.create(name, _unknown_policy())
    assert isinstance(operation, CertificateOperation)
    assert operation.status == "inProgress"
    assert operation.issuer_name == "Unknown"
    csr = x509.load_der_x509_csr(operation.csr)
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == "CN=merge.example"
    again = await cv.call(cv.client.get_certificate_operation, name)
    assert again.request_id == operation.request_id
    # Until the merge, the certificate is the disabled version the create made, without a certificate (recorded).
    waiting = await cv.call(cv.client.get_certificate, name)
    assert waiting.properties.enabled is False
    assert waiting.cer is None
    policy = await cv.call(cv.client.get_certificate_policy, name)
    assert policy.issuer_name == "Unknown"


async def test_merge_certificate_signed_elsewhere_completes_the_operation(certs_versions: CertVault) -> None:
    cv = certs_versions
    name = cv.name()
    operation = await cv.create(name, _unknown_policy())
    ca = FakeCertificateAuthority(organization="elsewhere")
    chain = ca.issue(
        x509.load_der_x509_csr(operation.csr),
        "Acme",
        validity_months=6,
        not_before=datetime.now(timezone.utc),
    )
    merged = await cv.call(
        cv.client.merge_certificate, name, [c.public_bytes(_DER) for c in chain], tags={"merged": "yes"}
    )
    assert isinstance(merged, KeyVaultCertificate)
    assert merged.cer == chain[0].public_bytes(_DER)
    assert merged.properties.tags == {"merged": "yes"}
    assert (await cv.call(cv.client.get_certificate_operation, name)).status == "completed"
    secret = await cv.call(cv.secret_client().get_secret, name)
    key, leaf, extra = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
    assert leaf == chain[0]
    assert key is not None
    assert [c.subject for c in extra] == [c.subject for c in chain[1:]]


async def test_merge_with_another_key_raises_bad_parameter(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    await cv.create(name, _unknown_policy())
    ca = FakeCertificateAuthority()
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name.from_rfc4514_string("CN=merge.example"))
        .sign(stranger, _SHA256)
    )
    chain = ca.issue(csr, "Acme", validity_months=6, not_before=datetime.now(timezone.utc))
    with pytest.raises(HttpResponseError) as caught:
        await cv.call(cv.client.merge_certificate, name, [c.public_bytes(_DER) for c in chain])
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "BadParameter"


async def test_cancel_and_delete_pending_operation(certs_versions: CertVault) -> None:
    cv = certs_versions
    name = cv.name()
    await cv.create(name, _unknown_policy())
    cancelled = await cv.call(cv.client.cancel_certificate_operation, name)
    assert cancelled.cancellation_requested is True
    deleted = await cv.call(cv.client.delete_certificate_operation, name)
    assert deleted.issuer_name == "Unknown"
    with pytest.raises(ResourceNotFoundError) as caught:
        await cv.call(cv.client.get_certificate_operation, name)
    assert caught.value.error is not None
    assert caught.value.error.code == "PendingCertificateNotFound"
    assert caught.value.error.message == f"Pending Certificate not found: {name}"


async def test_create_while_a_create_is_pending_raises_conflict(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    await cv.create(name, _unknown_policy())
    with pytest.raises(ResourceExistsError) as caught:
        await cv.create(name, _unknown_policy())
    assert caught.value.status_code == 409


async def test_create_with_issuer_not_set_raises_bad_parameter(certs: CertVault) -> None:
    cv = certs
    with pytest.raises(HttpResponseError) as caught:
        await cv.create(cv.name(), CertificatePolicy(issuer_name="nobody", subject="CN=x"))
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert "nobody" in caught.value.error.message


@pytest.mark.parametrize("provider", ["DigiCert", "GlobalSign"])
async def test_ca_issuer_certificate_chain_validates_against_fake_ca_root(certs: CertVault, provider: str) -> None:
    cv = certs
    await cv.call(cv.client.create_issuer, "ca", provider, account_id="acct", password="pw")
    name = cv.name()
    policy = CertificatePolicy(issuer_name="ca", subject="CN=www.example.com", san_dns_names=["www.example.com"])
    cert = await cv.create(name, policy)
    assert isinstance(cert, KeyVaultCertificate)
    leaf = x509.load_der_x509_certificate(cert.cer)
    assert provider in leaf.issuer.rfc4514_string()
    secret = await cv.call(cv.secret_client().get_secret, name)
    _, pfx_leaf, intermediates = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
    assert pfx_leaf == leaf
    root = x509.load_pem_x509_certificate(cv.fake.certificate_authority.root_pem().encode())
    verifier = (
        PolicyBuilder()
        .store(Store([root]))
        .time(datetime.now(timezone.utc))
        .build_server_verifier(x509.DNSName("www.example.com"))
    )
    built = verifier.verify(leaf, intermediates)
    assert built[-1] == root


def test_certificate_authority_is_one_per_fake() -> None:
    fake = FakeKeyVault()
    assert fake.certificate_authority is fake.certificate_authority
    assert FakeKeyVault().certificate_authority is not fake.certificate_authority
    assert fake.certificate_authority.root_pem().startswith("-----BEGIN CERTIFICATE-----")


def test_issuer_organization_details_of_the_wrong_type_are_refused_not_stored() -> None:
    # Found by the OpenAPI fuzz (test_openapi_fuzz.py): any JSON in org_details was stored and echoed back.
    fake = FakeKeyVault()
    fake.create_vault("orgdetails")
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    url = "https://orgdetails.vault.azure.net/certificates/issuers/i1?api-version=7.6"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    good = b'{"provider": "Test", "org_details": {"id": "o", "zip": 7, "x": 1, "admin_details": [{"email": "a@b.c"}]}}'
    created = fake.handle("PUT", url, headers, good)
    assert created.status == 200
    assert created.json()["org_details"] == {"zip": 0, "id": "o", "admin_details": [{"email": "a@b.c"}]}
    for bad in (
        b'{"org_details": {"admin_details": [{"last_name": {"-": {}}}]}}',
        b'{"org_details": {"admin_details": {"email": "a@b.c"}}}',
        b'{"org_details": {"admin_details": ["a@b.c"]}}',
        b'{"org_details": {"id": 5}}',
    ):
        refused = fake.handle("PATCH", url, headers, bad)
        assert refused.status == 400, bad
        assert refused.json()["error"]["code"] == "BadParameter"
    assert fake.handle("GET", url, headers).json()["org_details"] == created.json()["org_details"]
