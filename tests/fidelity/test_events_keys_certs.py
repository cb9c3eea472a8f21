"""Event Grid events for keys and certificates, through the official KeyClient and CertificateClient (sync and async)
on a ManualClock: NewVersionCreated for every way a version appears (create, import, rotate, rotation policy, merge,
auto-renew), NearExpiry 30 days ahead and Expired at ``exp``; once each, in order, with the real schema."""

# The fixtures are imported from keys_support; test parameters of the same name are pytest's injection.
# ruff: noqa: F811

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Any

from azure.keyvault.certificates import CertificatePolicy, CertificatePolicyAction, LifetimeAction
from azure.keyvault.keys import KeyRotationLifetimeAction, KeyRotationPolicy, KeyRotationPolicyAction
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kvconfig.fake import EventGridEvent
from kvconfig.fake.certificates.authority import FakeCertificateAuthority

from .cert_support import CertVault
from .keys_access_support import EC_POLICY, create_certificate, rsa_jwk
from .keys_support import VAULT_URL, KeysUnderTest, kh_clock  # noqa: F401

KV = "Microsoft.KeyVault."
ENVELOPE = {"id", "topic", "subject", "eventType", "eventTime", "data", "dataVersion", "metadataVersion"}


def _short(events: list[EventGridEvent]) -> list[tuple[str, str]]:
    return [(event.event_type.removeprefix(KV), event.subject) for event in events]


def _check_schema(event: EventGridEvent, vault: Any, object_type: str, object_id: str, exp: int | None) -> None:
    wire = event.to_dict()
    assert set(wire) == ENVELOPE
    assert wire["topic"] == vault.properties.resource_id
    assert (wire["dataVersion"], wire["metadataVersion"]) == ("1", "1")
    name, version = object_id.rsplit("/", 2)[-2:]
    assert wire["subject"] == name
    assert wire["data"] == {
        "Id": object_id,
        "VaultName": vault.name,
        "ObjectType": object_type,
        "ObjectName": name,
        "Version": version,
        "NBF": wire["data"]["NBF"],
        "EXP": exp,
    }


# -- keys -----------------------------------------------------------------------------------------------------------


async def test_create_import_and_rotate_publish_key_new_version_created_once_each(kh_clock: KeysUnderTest) -> None:
    kh = kh_clock
    received: list[EventGridEvent] = []
    kh.fake.events.subscribe(received.append)
    client = kh.key_client()
    created = await kh.call(client.create_ec_key, "signing", curve="P-256")
    imported = await kh.call(client.import_key, "wrapping", rsa_jwk())
    rotated = await kh.call(client.rotate_key, "signing")
    await kh.call(client.get_key, "signing")  # reads publish nothing
    await kh.call(client.update_key_properties, "signing", tags={"a": "b"})  # neither do updates

    assert _short(received) == [
        ("KeyNewVersionCreated", "signing"),
        ("KeyNewVersionCreated", "wrapping"),
        ("KeyNewVersionCreated", "signing"),
    ]
    vault = kh.fake.vault(VAULT_URL)
    for event, key in zip(received, (created, imported, rotated), strict=True):
        _check_schema(event, vault, "Key", key.id, None)
    assert received == kh.fake.events.published


async def test_rotation_policy_rotates_on_the_clock_and_publishes_each_new_version(kh_clock: KeysUnderTest) -> None:
    kh = kh_clock
    client = kh.key_client()
    key = await kh.call(client.create_ec_key, "rotating", curve="P-256")
    policy = KeyRotationPolicy(
        lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P30D")],
        expires_in="P60D",
    )
    await kh.call(client.update_key_rotation_policy, "rotating", policy)
    received: list[EventGridEvent] = []
    kh.fake.events.subscribe(received.append, event_types=["KeyNewVersionCreated"])

    kh.fake.advance(days=29)
    assert received == []
    kh.fake.advance(days=2)
    kh.fake.advance(days=1)
    assert len(received) == 1
    current = await kh.call(client.get_key, "rotating")
    assert current.properties.version != key.properties.version
    exp = int(current.properties.expires_on.timestamp())
    _check_schema(received[0], kh.fake.vault(VAULT_URL), "Key", current.id, exp)
    kh.fake.advance(days=30)  # 30 days after the rotated version was made: the next one
    assert received[0].data["Version"] == current.properties.version
    assert len(received) == 2


async def test_key_near_expiry_and_expired_fire_once_each_in_order(kh_clock: KeysUnderTest) -> None:
    kh = kh_clock
    client = kh.key_client()
    now = datetime.fromtimestamp(kh.fake.clock.now(), timezone.utc)
    soon = await kh.call(client.create_ec_key, "soon", expires_on=now + timedelta(days=40))
    later = await kh.call(client.create_ec_key, "later", expires_on=now + timedelta(days=45))
    await kh.call(client.create_ec_key, "forever")
    received: list[EventGridEvent] = []
    kh.fake.events.subscribe(received.append, event_types=["KeyNearExpiry", "KeyExpired"])

    kh.fake.advance(days=10, seconds=1)
    assert _short(received) == [("KeyNearExpiry", "soon")]
    kh.fake.advance(days=5)
    await kh.call(client.get_key, "soon")  # time acts again before a request: nothing new
    assert _short(received) == [("KeyNearExpiry", "soon"), ("KeyNearExpiry", "later")]
    kh.fake.advance(days=100)
    assert _short(received) == [
        ("KeyNearExpiry", "soon"),
        ("KeyNearExpiry", "later"),
        ("KeyExpired", "soon"),
        ("KeyExpired", "later"),
    ]
    vault = kh.fake.vault(VAULT_URL)
    _check_schema(received[2], vault, "Key", soon.id, int(soon.properties.expires_on.timestamp()))
    _check_schema(received[3], vault, "Key", later.id, int(later.properties.expires_on.timestamp()))
    kh.fake.advance(days=100)
    assert len(received) == 4


# -- certificates ---------------------------------------------------------------------------------------------------


def _certificate_events(cv: CertVault) -> list[EventGridEvent]:
    return [event for event in cv.fake.events.published if ".Certificate" in event.event_type]


async def test_certificate_create_import_and_merge_publish_new_version_created_once_each(
    certs_clock: CertVault,
) -> None:
    cv = certs_clock
    created = await create_certificate(cv, cv.client, "created")
    secret = await cv.call(cv.secret_client().get_secret, "created")
    imported = await cv.call(cv.client.import_certificate, "imported", base64.b64decode(secret.value))
    unknown = CertificatePolicy(issuer_name="Unknown", subject="CN=merge.test", san_dns_names=["merge.test"])
    operation = await create_certificate(cv, cv.client, "merged", unknown)
    chain = FakeCertificateAuthority(organization="elsewhere").issue(
        x509.load_der_x509_csr(operation.csr),
        "Acme",
        validity_months=6,
        not_before=datetime.fromtimestamp(cv.fake.clock.now(), timezone.utc),
    )
    der = serialization.Encoding.DER
    merged = await cv.call(cv.client.merge_certificate, "merged", [cert.public_bytes(der) for cert in chain])
    await cv.call(cv.client.get_certificate, "created")  # reads publish nothing

    events = _certificate_events(cv)
    assert _short(events) == [
        ("CertificateNewVersionCreated", "created"),
        ("CertificateNewVersionCreated", "imported"),
        ("CertificateNewVersionCreated", "merged"),
    ]
    vault = cv.fake.vault(cv.vault_url)
    for event, cert in zip(events, (created, imported, merged), strict=True):
        _check_schema(event, vault, "Certificate", cert.id, int(cert.properties.expires_on.timestamp()))


async def test_certificate_auto_renew_publishes_new_version_created(certs_clock: CertVault) -> None:
    cv = certs_clock
    policy = CertificatePolicy(
        issuer_name="Self",
        subject="CN=renew.test",
        key_type=EC_POLICY.key_type,
        key_curve_name=EC_POLICY.key_curve_name,
        validity_in_months=12,
        lifetime_actions=[LifetimeAction(CertificatePolicyAction.auto_renew, days_before_expiry=60)],
    )
    first = await create_certificate(cv, cv.client, "renewing", policy)
    cv.fake.advance(days=200)
    assert len(_certificate_events(cv)) == 1
    cv.fake.advance(days=120)
    renewed = await cv.call(cv.client.get_certificate, "renewing")
    assert renewed.properties.version != first.properties.version
    events = [event for event in _certificate_events(cv) if event.event_type.endswith("NewVersionCreated")]
    assert [event.data["Version"] for event in events] == [first.properties.version, renewed.properties.version]
    _check_schema(
        events[1],
        cv.fake.vault(cv.vault_url),
        "Certificate",
        renewed.id,
        int(renewed.properties.expires_on.timestamp()),
    )


async def test_certificate_near_expiry_and_expired_fire_once_each_in_order(certs_clock: CertVault) -> None:
    cv = certs_clock
    # A policy's default lifetime action renews at 80% of the lifetime: email instead, so this version stays current.
    policy = CertificatePolicy(
        issuer_name="Self",
        subject="CN=expiring.test",
        key_type=EC_POLICY.key_type,
        key_curve_name=EC_POLICY.key_curve_name,
        lifetime_actions=[LifetimeAction(CertificatePolicyAction.email_contacts, days_before_expiry=10)],
    )
    cert = await create_certificate(cv, cv.client, "expiring", policy)
    exp = int(cert.properties.expires_on.timestamp())
    received: list[EventGridEvent] = []
    cv.fake.events.subscribe(received.append, event_types=["CertificateNearExpiry", "CertificateExpired"])

    cv.fake.clock.advance(exp - 31 * 86400 - cv.fake.clock.now())  # type: ignore[attr-defined]
    cv.fake.tick()
    assert received == []
    cv.fake.advance(days=2)
    assert _short(received) == [("CertificateNearExpiry", "expiring")]
    cv.fake.advance(days=40)
    assert _short(received) == [("CertificateNearExpiry", "expiring"), ("CertificateExpired", "expiring")]
    for event in received:
        _check_schema(event, cv.fake.vault(cv.vault_url), "Certificate", cert.id, exp)
    cv.fake.advance(days=40)
    assert len(received) == 2
