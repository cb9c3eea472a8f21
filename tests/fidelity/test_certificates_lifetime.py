"""Lifetime actions on the fake's clock, through the official CertificateClient: AutoRenew makes a new version at
``lifetime_percentage`` or ``days_before_expiry``, ``reuse_key`` keeps the key, EmailContacts records a notification."""

from __future__ import annotations

from azure.keyvault.certificates import (
    CertificateContact,
    CertificatePolicy,
    CertificatePolicyAction,
    LifetimeAction,
    WellKnownIssuerNames,
)
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kvconfig.fake import FakeKeyVault, ManualClock

from .cert_support import CertVault


def _spki(cer: bytes) -> bytes:
    key = x509.load_der_x509_certificate(cer).public_key()
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


async def _advance(cv: CertVault, name: str, *, days: float) -> None:
    """Move the fake's clock; time acts on the vault at its next request (here, a get of the certificate)."""
    cv.fake.clock.advance(days=days)  # type: ignore[attr-defined]
    await cv.call(cv.client.get_certificate_policy, name)


async def _versions(cv: CertVault, name: str) -> list[str]:
    return [entry.version for entry in await cv.collect(cv.client.list_properties_of_certificate_versions(name))]


async def test_auto_renew_at_lifetime_percentage_makes_one_new_version(certs_clock: CertVault) -> None:
    cv = certs_clock
    name = cv.name()
    policy = CertificatePolicy(
        issuer_name="Self",
        subject="CN=renew",
        validity_in_months=12,
        lifetime_actions=[LifetimeAction(CertificatePolicyAction.auto_renew, lifetime_percentage=50)],
    )
    first = await cv.create(name, policy)
    await _advance(cv, name, days=150)
    assert len(await _versions(cv, name)) == 1
    await _advance(cv, name, days=40)
    latest = await cv.call(cv.client.get_certificate, name)
    assert latest.properties.version != first.properties.version
    assert len(await _versions(cv, name)) == 2
    assert _spki(bytes(latest.cer)) != _spki(bytes(first.cer))  # reuse_key is off: a new key
    assert latest.properties.not_before > first.properties.not_before


async def test_auto_renew_days_before_expiry_with_reuse_key_keeps_the_key(certs_clock: CertVault) -> None:
    cv = certs_clock
    name = cv.name()
    policy = CertificatePolicy(
        issuer_name="Self",
        subject="CN=reuse",
        key_type="RSA",
        reuse_key=True,
        validity_in_months=1,
        lifetime_actions=[LifetimeAction(CertificatePolicyAction.auto_renew, days_before_expiry=10)],
    )
    first = await cv.create(name, policy)
    await _advance(cv, name, days=25)
    latest = await cv.call(cv.client.get_certificate, name)
    assert latest.properties.version != first.properties.version
    assert _spki(bytes(latest.cer)) == _spki(bytes(first.cer))
    secret = await cv.call(cv.secret_client().get_secret, name)
    assert secret.properties.version == latest.properties.version


async def test_email_contacts_records_a_notification_for_the_contacts(certs_clock: CertVault) -> None:
    cv = certs_clock
    name = cv.name()
    await cv.call(cv.client.set_contacts, [CertificateContact(email="ops@example.com")])
    policy = CertificatePolicy(
        issuer_name="Self",
        subject="CN=notify",
        validity_in_months=12,
        lifetime_actions=[LifetimeAction(CertificatePolicyAction.email_contacts, days_before_expiry=30)],
    )
    cert = await cv.create(name, policy)
    await _advance(cv, name, days=300)
    assert cv.fake.certificate_notifications == []
    await _advance(cv, name, days=60)
    notes = cv.fake.certificate_notifications
    assert [(note.certificate, note.version, note.contacts) for note in notes] == [
        (name, cert.properties.version, ("ops@example.com",))
    ]
    await _advance(cv, name, days=1)
    assert len(cv.fake.certificate_notifications) == 1  # once per version
    assert len(await _versions(cv, name)) == 1


async def test_unknown_issuer_default_action_is_email_contacts_and_never_renews(certs_clock: CertVault) -> None:
    cv = certs_clock
    name = cv.name()
    operation = await cv.create(name, CertificatePolicy(issuer_name=WellKnownIssuerNames.unknown, subject="CN=u"))
    policy = await cv.call(cv.client.get_certificate_policy, name)
    assert [(action.action, action.lifetime_percentage) for action in policy.lifetime_actions] == [
        (CertificatePolicyAction.email_contacts, 80)
    ]
    assert operation.status == "inProgress"


async def test_restored_certificate_renews_in_a_fresh_fake(certs_clock: CertVault) -> None:
    cv = certs_clock
    name = cv.name()
    policy = CertificatePolicy(
        issuer_name="Self",
        subject="CN=restored",
        validity_in_months=12,
        lifetime_actions=[LifetimeAction(CertificatePolicyAction.auto_renew, lifetime_percentage=50)],
    )
    await cv.create(name, policy)
    blob = await cv.call(cv.client.backup_certificate, name)
    other = CertVault(FakeKeyVault(clock=ManualClock(1_750_000_000)), cv.mode)
    other.client = other.make_client()
    try:
        await other.call(other.client.restore_certificate_backup, blob)
        await _advance(other, name, days=200)
        assert len(await _versions(other, name)) == 2
    finally:
        await other.close()
