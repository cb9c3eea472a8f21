"""Pending certificate operations as the service runs them, through the official CertificateClient (sync and async):
issuance that takes time on the fake's clock and can be cancelled, Unknown issuer's request that waits for a merge,
merges of chains in every form the service accepts, platform-managed policies, and contentType on the bundle."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.certificates import (
    CertificateClient,
    CertificateContentType,
    CertificateOperation,
    CertificatePolicy,
    KeyVaultCertificate,
    WellKnownIssuerNames,
)
from azure.keyvault.certificates import aio as certificates_aio
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kvconfig.fake import FakeKeyVault, ManualClock

from .cert_support import CertVault

URL = "https://pending.vault.azure.net"


def _sign(cv: CertVault, csr: bytes) -> x509.Certificate:
    """The CSR signed by the fake's test CA (any CA would do: the merge checks the key, not the issuer)."""
    request = x509.load_der_x509_csr(csr)
    authority = cv.fake.certificate_authority
    now = datetime.now(timezone.utc)
    return authority.issue(request, "DigiCert", validity_months=12, not_before=now - timedelta(minutes=5))[0]


async def _unknown_request(cv: CertVault, name: str) -> CertificateOperation:
    policy = CertificatePolicy(issuer_name=WellKnownIssuerNames.unknown, subject="CN=merge.example")
    operation = await cv.create(name, policy)
    assert isinstance(operation, CertificateOperation)
    return operation


def _start_create(cv: CertVault, name: str) -> dict[str, str]:
    """CreateCertificate on the wire, without the SDK's poller (which would wait the issuance out)."""
    token = cv.fake.credential().get_token("https://vault.azure.net/.default").token
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = json.dumps({"policy": {"issuer": {"name": "Self"}, "x509_props": {"subject": "CN=slow"}}}).encode()
    created = cv.fake.handle("POST", f"{cv.vault_url}/certificates/{name}/create?api-version=7.6", auth, body)
    assert created.status == 202, created.body
    assert created.headers["Retry-After"] == "10"
    return auth


# -- Unknown issuer: the request waits for a merge ---------------------------------------------------------------------


async def test_unknown_issuer_operation_says_it_waits_for_a_merge(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    operation = await _unknown_request(cv, name)
    assert operation.status == "inProgress"
    assert operation.status_details is not None
    assert "merge" in operation.status_details.lower()
    fetched = await cv.call(cv.client.get_certificate_operation, name)
    assert fetched.status_details == operation.status_details


@pytest.mark.parametrize("form", ["der", "pem-body", "pem", "pem-chain"])
async def test_merge_accepts_der_pem_and_base64_text(certs: CertVault, form: str) -> None:
    cv = certs
    name = cv.name()
    operation = await _unknown_request(cv, name)
    leaf = _sign(cv, bytes(operation.csr))
    root = x509.load_pem_x509_certificate(cv.fake.certificate_authority.root_pem().encode())
    pem = leaf.public_bytes(serialization.Encoding.PEM)
    if form == "der":
        chain = [leaf.public_bytes(serialization.Encoding.DER)]
    elif form == "pem-body":
        # The SDK's own merge sample: the PEM body without its header lines, as bytes.
        body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
        chain = [body]
    elif form == "pem":
        chain = [pem]
    else:
        chain = [pem + root.public_bytes(serialization.Encoding.PEM)]
    merged = await cv.call(cv.client.merge_certificate, name, chain)
    assert isinstance(merged, KeyVaultCertificate)
    assert bytes(merged.cer) == leaf.public_bytes(serialization.Encoding.DER)
    operation = await cv.call(cv.client.get_certificate_operation, name)
    assert operation.status == "completed"


async def test_merge_still_refuses_a_leaf_that_is_not_the_pending_key(certs: CertVault) -> None:
    cv = certs
    first, second = cv.name(), cv.name()
    await _unknown_request(cv, first)
    other = await _unknown_request(cv, second)
    foreign = _sign(cv, bytes(other.csr)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(HttpResponseError) as raised:
        await cv.call(cv.client.merge_certificate, first, [foreign])
    assert raised.value.status_code == 400


async def test_merge_of_text_that_is_no_certificate_is_a_400(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    await _unknown_request(cv, name)
    with pytest.raises(HttpResponseError) as raised:
        await cv.call(cv.client.merge_certificate, name, [b"not a certificate"])
    assert raised.value.status_code == 400
    assert "x5c[0]" in str(raised.value.message)


# -- issuance takes time; a pending create can be cancelled --------------------------------------------------------


async def test_self_issuance_takes_time_on_the_fake_clock_and_the_poller_finishes_without_sleeping(
    certs_clock: CertVault,
) -> None:
    cv = certs_clock
    fake = cv.fake
    assert isinstance(fake.clock, ManualClock)
    name = cv.name()
    started = fake.clock.now()
    # The SDK's default interval (5 s): its waits move the manual clock, and the request completes after one.
    if cv.is_async:
        cert = await cv.client.create_certificate(name, CertificatePolicy.get_default())
    else:
        cert = cv.client.begin_create_certificate(name, CertificatePolicy.get_default()).result()
    assert isinstance(cert, KeyVaultCertificate)
    assert fake.clock.now() - started == pytest.approx(5.0)


async def test_self_issuance_is_in_progress_until_its_time_has_passed(certs_clock: CertVault) -> None:
    cv = certs_clock
    name = cv.name()
    cv.fake.set_issuance_time("Self", 30)
    _start_create(cv, name)
    operation = await cv.call(cv.client.get_certificate_operation, name)
    assert operation.status == "inProgress"
    with pytest.raises(ResourceNotFoundError):
        await cv.call(cv.client.get_certificate, name)
    cv.fake.advance(seconds=29)
    assert (await cv.call(cv.client.get_certificate_operation, name)).status == "inProgress"
    cv.fake.advance(seconds=1)
    assert (await cv.call(cv.client.get_certificate_operation, name)).status == "completed"
    assert (await cv.call(cv.client.get_certificate, name)).name == name


def test_a_pending_create_is_cancelled_by_the_sync_client() -> None:
    fake = FakeKeyVault()
    fake.set_issuance_time("Self", None)  # signs only once cancelled or deleted: the poller cannot win the race
    with CertificateClient(URL, fake.credential(), transport=fake.transport()) as client:
        poller = client.begin_create_certificate("c", CertificatePolicy.get_default(), _polling_interval=0)
        cancelled = client.cancel_certificate_operation("c")
        assert cancelled.cancellation_requested is True
        result = poller.result(timeout=30)
        assert isinstance(result, CertificateOperation)
        assert result.status == "cancelled"
        # As the service answers it (.NET session record VerifyCancelCertificateOperation): no status details.
        assert result.status_details is None
        assert client.get_certificate_operation("c").status == "cancelled"
        with pytest.raises(ResourceNotFoundError):
            client.get_certificate("c")
        deleted = client.delete_certificate_operation("c")
        assert deleted.status == "cancelled"
        with pytest.raises(ResourceNotFoundError):
            client.get_certificate_operation("c")


async def test_a_pending_create_is_cancelled_by_the_async_client() -> None:
    fake = FakeKeyVault()
    fake.set_issuance_time("Self", None)
    async with certificates_aio.CertificateClient(URL, fake.async_credential(), transport=fake.async_transport()) as (
        client
    ):
        creating = asyncio.create_task(client.create_certificate("c", CertificatePolicy.get_default()))
        for _ in range(100):  # the create's first request, then its poller's turns of the loop
            await asyncio.sleep(0)
            if fake.operation_counts["GetCertificateOperation"]:
                break
        cancelled = await client.cancel_certificate_operation("c")
        assert cancelled.cancellation_requested is True
        result = await asyncio.wait_for(creating, 30)
        assert isinstance(result, CertificateOperation)
        assert result.status == "cancelled"
        await client.delete_certificate_operation("c")
        with pytest.raises(ResourceNotFoundError):
            await client.get_certificate_operation("c")


async def test_pending_certificate_bundle_names_its_operation(certs_clock: CertVault) -> None:
    cv = certs_clock
    name = cv.name()
    cert = await cv.create(name)
    assert isinstance(cert, KeyVaultCertificate)
    cv.fake.set_issuance_time("Self", None)
    auth = _start_create(cv, name)
    pending = cv.fake.handle("GET", f"{cv.vault_url}/certificates/{name}/pending?api-version=7.6", auth)
    assert pending.headers["Retry-After"] == "10"
    bundle = cv.fake.handle("GET", f"{cv.vault_url}/certificates/{name}/?api-version=7.6", auth).json()
    assert bundle["pending"] == {"id": f"{cv.vault_url}/certificates/{name}/pending"}
    latest = await cv.call(cv.client.get_certificate, name)
    assert latest.properties.version == cert.properties.version


# -- bundle and policy fields -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [CertificateContentType.pkcs12, CertificateContentType.pem])
async def test_certificate_bundle_echoes_its_content_type(certs: CertVault, content_type: str) -> None:
    cv = certs
    name = cv.name()
    policy = CertificatePolicy(issuer_name="Self", subject="CN=ct", content_type=content_type)
    await cv.create(name, policy)
    token = cv.fake.credential().get_token("https://vault.azure.net/.default").token
    raw = cv.fake.handle(
        "GET", f"{cv.vault_url}/certificates/{name}/?api-version=7.6", {"Authorization": f"Bearer {token}"}
    ).json()
    assert raw["contentType"] == content_type
    # The SDK reads the bundle without complaint and the policy agrees.
    cert = await cv.call(cv.client.get_certificate, name)
    assert cert.policy is not None
    assert cert.policy.content_type == content_type


async def test_platform_managed_policy_round_trips_at_2026_04_01(certs: CertVault) -> None:
    from azure.keyvault.certificates import PlatformManaged

    cv = certs
    name = cv.name()
    managed = PlatformManaged(certificate_usage="AppServiceTls", metadata={"site": "contoso", "slots": 2})
    policy = CertificatePolicy(issuer_name="Self", subject="CN=pm", platform_managed=managed)
    assert str(cv.client.api_version) == "2026-04-01"
    await cv.create(name, policy)
    stored = await cv.call(cv.client.get_certificate_policy, name)
    assert stored.platform_managed is not None
    assert stored.platform_managed.certificate_usage == "AppServiceTls"
    assert stored.platform_managed.metadata == {"site": "contoso", "slots": 2}


async def test_platform_managed_without_certificate_usage_is_a_400(certs: CertVault) -> None:
    cv = certs
    token = cv.fake.credential().get_token("https://vault.azure.net/.default").token
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body: dict[str, Any] = {"policy": {"platformManaged": {"metadata": {}}}}
    response = cv.fake.handle(
        "POST", f"{cv.vault_url}/certificates/pm/create?api-version=2026-04-01", auth, json.dumps(body).encode()
    )
    assert response.status == 400
    assert "certificateUsage" in response.json()["error"]["message"]


def test_base64_of_pem_body_is_what_the_sdk_sends_for_the_sample_merge() -> None:
    # Pins the wire form the merge test relies on: the SDK base64-encodes each bytes entry of x509_certificates.
    from azure.keyvault.certificates._generated.models import CertificateMergeParameters

    body = CertificateMergeParameters(x509_certificates=[b"MIIB"]).as_dict()
    assert body["x5c"] == [base64.b64encode(b"MIIB").decode()]
