"""Create, get, list, update, policies, soft delete and backup/restore of certificates through the official
CertificateClient (sync and async, and the sync client at every api-version it can send)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.certificates import (
    CertificateContentType,
    CertificatePolicy,
    KeyVaultCertificate,
    WellKnownIssuerNames,
)

from .cert_support import CertVault

API_7_6_AND_LATER = ("7.6", "2025-07-01", "2026-04-01")


async def test_create_certificate_poller_returns_certificate_with_policy_and_backing_ids(
    certs_versions: CertVault,
) -> None:
    cv = certs_versions
    name = cv.name()
    cert = await cv.create(name, tags={"team": "a"})
    assert isinstance(cert, KeyVaultCertificate)
    version = cert.properties.version
    assert cert.id == f"{cv.vault_url}/certificates/{name}/{version}"
    assert cert.key_id == f"{cv.vault_url}/keys/{name}/{version}"
    assert cert.secret_id == f"{cv.vault_url}/secrets/{name}/{version}"
    assert cert.properties.tags == {"team": "a"}
    assert cert.properties.enabled is True
    assert cert.properties.not_before is not None
    assert cert.properties.expires_on is not None
    assert cert.policy is not None
    assert cert.policy.issuer_name == "Self"
    assert cert.policy.subject == "CN=DefaultPolicy"
    assert cert.policy.key_type == "RSA"
    assert cert.policy.key_size == 2048
    assert cert.policy.content_type == CertificateContentType.pkcs12
    assert cert.policy.validity_in_months == 12
    assert len(cert.cer) > 100


async def test_create_certificate_operation_is_in_progress_then_completed(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    if cv.is_async:
        await cv.client.create_certificate(name, CertificatePolicy.get_default(), _polling_interval=0)
    else:
        poller = cv.client.begin_create_certificate(name, CertificatePolicy.get_default(), _polling_interval=0)
        poller.result()
    operation = await cv.call(cv.client.get_certificate_operation, name)
    assert operation.status == "completed"
    assert operation.issuer_name == "Self"
    assert operation.csr
    assert operation.request_id
    assert operation.target == f"{cv.vault_url}/certificates/{name}"


async def test_create_certificate_raw_answer_is_202_in_progress_with_csr() -> None:
    from kvconfig.fake import FakeKeyVault

    fake = FakeKeyVault()
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    body = b'{"policy": {"x509_props": {"subject": "CN=raw", "sans": {}}, "issuer": {"name": "Self"}}}'
    response = fake.handle(
        "POST",
        "https://raw.vault.azure.net/certificates/c1/create?api-version=2026-04-01",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body,
    )
    assert response.status == 202
    payload = response.json()
    assert isinstance(payload, dict)
    assert payload["status"] == "inProgress"
    assert payload["id"] == "https://raw.vault.azure.net/certificates/c1/pending"
    assert payload["issuer"] == {"name": "Self"}
    assert payload["cancellation_requested"] is False
    assert payload["status_details"].startswith("Pending certificate created.")
    assert len(payload["request_id"]) == 32
    assert payload["csr"]


async def test_get_certificate_latest_has_policy_version_has_none(certs_versions: CertVault) -> None:
    cv = certs_versions
    name = cv.name()
    created = await cv.create(name)
    latest = await cv.call(cv.client.get_certificate, name)
    assert latest.id == created.id
    assert latest.policy is not None
    assert latest.properties.x509_thumbprint == created.properties.x509_thumbprint
    version = await cv.call(cv.client.get_certificate_version, name, created.properties.version)
    assert version.id == created.id
    assert version.policy is None


async def test_get_certificate_missing_raises_not_found_with_service_message(certs_versions: CertVault) -> None:
    cv = certs_versions
    with pytest.raises(ResourceNotFoundError) as caught:
        await cv.call(cv.client.get_certificate, "nope")
    assert caught.value.error is not None
    assert caught.value.error.code == "CertificateNotFound"
    assert caught.value.error.message == (
        "A certificate with (name/id) nope was not found in this key vault. If you recently deleted this certificate "
        "you may be able to recover it using the correct recovery command. For help resolving this issue, please see "
        "https://go.microsoft.com/fwlink/?linkid=2125182"
    )


async def test_list_certificates_and_versions(certs_versions: CertVault) -> None:
    cv = certs_versions
    names = sorted(cv.name() for _ in range(2))
    first = await cv.create(names[0])
    second = await cv.create(names[0])
    await cv.create(names[1])
    listed = await cv.collect(cv.client.list_properties_of_certificates(max_page_size=1))
    assert sorted(entry.name for entry in listed) == names
    assert all(entry.version is None and entry.x509_thumbprint for entry in listed)
    versions = await cv.collect(cv.client.list_properties_of_certificate_versions(names[0]))
    assert {entry.version for entry in versions} == {first.properties.version, second.properties.version}
    assert await cv.collect(cv.client.list_properties_of_certificate_versions("no-such-cert")) == []


async def test_list_certificates_include_pending_shows_unmerged_certificates(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    policy = CertificatePolicy(issuer_name=WellKnownIssuerNames.unknown, subject="CN=pending")
    await cv.create(name, policy)
    plain = await cv.collect(cv.client.list_properties_of_certificates())
    assert name not in [entry.name for entry in plain]
    pending = await cv.collect(cv.client.list_properties_of_certificates(include_pending=True))
    assert name in [entry.name for entry in pending]


async def test_update_certificate_properties_changes_enabled_and_tags(certs_versions: CertVault) -> None:
    cv = certs_versions
    name = cv.name()
    await cv.create(name)
    updated = await cv.call(cv.client.update_certificate_properties, name, enabled=False, tags={"a": "b"})
    assert updated.properties.enabled is False
    assert updated.properties.tags == {"a": "b"}
    again = await cv.call(cv.client.get_certificate, name)
    assert again.properties.enabled is False
    assert again.properties.tags == {"a": "b"}


async def test_update_certificate_policy_merges_the_sections_given(certs_versions: CertVault) -> None:
    cv = certs_versions
    name = cv.name()
    await cv.create(name)
    policy = await cv.call(cv.client.get_certificate_policy, name)
    assert policy.key_size == 2048
    new = CertificatePolicy(
        issuer_name="Self", subject="CN=changed", content_type=CertificateContentType.pem, validity_in_months=6
    )
    updated = await cv.call(cv.client.update_certificate_policy, name, new)
    assert updated.subject == "CN=changed"
    assert updated.content_type == CertificateContentType.pem
    assert updated.validity_in_months == 6
    assert updated.key_size == 2048  # not in the request: kept
    read = await cv.call(cv.client.get_certificate_policy, name)
    assert read.subject == "CN=changed"
    assert read.content_type == CertificateContentType.pem


async def test_create_with_invalid_policy_raises_bad_parameter(certs: CertVault) -> None:
    cv = certs
    policy = CertificatePolicy(issuer_name="Self", subject="CN=x", key_type="RSA", key_size=1234)
    with pytest.raises(HttpResponseError) as caught:
        await cv.create(cv.name(), policy)
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "BadParameter"
    assert "key_props.key_size" in caught.value.error.message


async def test_ec_policy_makes_ec_certificate(certs: CertVault) -> None:
    cv = certs
    policy = CertificatePolicy(issuer_name="Self", subject="CN=ec", key_type="EC", key_curve_name="P-384")
    cert = await cv.create(cv.name(), policy)
    assert cert.policy.key_type == "EC"
    assert cert.policy.key_curve_name == "P-384"
    assert cert.policy.key_size == 384


async def test_san_ip_addresses_and_uris_are_kept_only_by_api_versions_that_have_them(
    certs_versions: CertVault,
) -> None:
    cv = certs_versions
    policy = CertificatePolicy(
        issuer_name="Self", san_dns_names=["a.example"], san_ip_addresses=["10.0.0.1"], san_uris=["https://a.example"]
    )
    cert = await cv.create(cv.name(), policy)
    assert cert.policy.san_dns_names == ["a.example"]
    if cv.api_version in (None, "2025-07-01"):
        assert cert.policy.san_ip_addresses == ["10.0.0.1"]
        assert cert.policy.san_uris == ["https://a.example"]
    else:
        assert not cert.policy.san_ip_addresses
        assert not cert.policy.san_uris


async def test_preserve_order_round_trips_where_the_api_version_has_it(certs_versions: CertVault) -> None:
    cv = certs_versions
    if cv.api_version not in (None, *API_7_6_AND_LATER):
        pytest.skip("preserve_order arrived with api-version 7.6")
    cert = await cv.create(cv.name(), preserve_order=True)
    assert cert.properties.preserve_order is True


async def test_delete_get_deleted_list_deleted_recover_and_purge(certs_versions: CertVault) -> None:
    cv = certs_versions
    name = cv.name()
    created = await cv.create(name)
    deleted = await cv.delete(name)
    assert deleted.recovery_id == f"{cv.vault_url}/deletedcertificates/{name}"
    assert deleted.deleted_on is not None
    assert deleted.scheduled_purge_date is not None
    assert deleted.policy is not None
    with pytest.raises(ResourceNotFoundError):
        await cv.call(cv.client.get_certificate, name)
    got = await cv.call(cv.client.get_deleted_certificate, name)
    assert got.id == created.id
    listed = await cv.collect(cv.client.list_deleted_certificates())
    assert [entry.name for entry in listed] == [name]
    recovered = await cv.recover(name)
    assert recovered.id == created.id
    assert (await cv.call(cv.client.get_certificate, name)).id == created.id
    await cv.delete(name)
    await cv.call(cv.client.purge_deleted_certificate, name)
    with pytest.raises(ResourceNotFoundError) as caught:
        await cv.call(cv.client.get_deleted_certificate, name)
    assert caught.value.error is not None
    assert caught.value.error.message == f"Deleted Certificate not found: {name}"


async def test_delete_takes_backing_key_and_secret_and_recover_brings_them_back(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    await cv.create(name)
    secrets = cv.secret_client()
    await cv.delete(name)
    deleted_secret = await cv.call(secrets.get_deleted_secret, name)
    assert deleted_secret.name == name
    with pytest.raises(ResourceNotFoundError):
        await cv.call(secrets.get_secret, name)
    await cv.recover(name)
    assert (await cv.call(secrets.get_secret, name)).properties.managed is True


async def test_recover_of_a_certificate_not_deleted_raises_not_found(certs: CertVault) -> None:
    cv = certs
    with pytest.raises(ResourceNotFoundError) as caught:
        await cv.recover(cv.name())
    assert caught.value.error is not None
    assert caught.value.error.code == "CertificateNotFound"


async def test_create_over_a_soft_deleted_certificate_raises_conflict(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    await cv.create(name)
    await cv.delete(name)
    with pytest.raises(ResourceExistsError) as caught:
        await cv.create(name)
    assert caught.value.error is not None
    assert caught.value.error.innererror == {"code": "ObjectIsDeletedButRecoverable"}


async def test_backup_and_restore_bring_back_every_version_and_the_backing_secret(certs_versions: CertVault) -> None:
    cv = certs_versions
    name = cv.name()
    first = await cv.create(name)
    second = await cv.create(name)
    secrets = cv.secret_client()
    value = (await cv.call(secrets.get_secret, name)).value
    blob = await cv.call(cv.client.backup_certificate, name)
    assert blob.startswith(b"&AzureKeyVaultKeyBackupV1.microsoft.com")
    await cv.delete(name)
    await cv.call(cv.client.purge_deleted_certificate, name)
    restored = await cv.call(cv.client.restore_certificate_backup, blob)
    assert restored.id == second.id
    assert restored.policy is not None
    versions = await cv.collect(cv.client.list_properties_of_certificate_versions(name))
    assert {entry.version for entry in versions} == {first.properties.version, second.properties.version}
    assert (await cv.call(secrets.get_secret, name)).value == value


async def test_restore_over_existing_certificate_conflicts_and_garbage_is_malformed(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    await cv.create(name)
    blob = await cv.call(cv.client.backup_certificate, name)
    with pytest.raises(ResourceExistsError):
        await cv.call(cv.client.restore_certificate_backup, blob)
    with pytest.raises(HttpResponseError) as caught:
        await cv.call(cv.client.restore_certificate_backup, b"garbage")
    assert caught.value.error is not None
    assert caught.value.error.code == "Malformed backup blob"
