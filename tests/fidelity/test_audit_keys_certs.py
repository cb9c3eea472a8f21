"""The audit log for keys, certificates and Managed HSM requests made by the official clients (sync and async):
exactly one record per request on the wire, with Key Vault's operation names, results and callers."""

# The fixtures are imported from keys_support; test parameters of the same name are pytest's injection.
# ruff: noqa: F811

from __future__ import annotations

import hashlib
import uuid

from azure.keyvault.keys.crypto import SignatureAlgorithm

from .cert_support import CertVault
from .keys_access_support import (
    RequestCounter,
    cert_client_as,
    create_certificate,
    denied,
    key_client_as,
)
from .keys_support import KeysUnderTest, kh  # noqa: F401

DIGEST = hashlib.sha256(b"payload").digest()


def _fresh_vault_url(cloud: str = "vault.azure.net") -> str:
    """A vault no client of this process has talked to: the SDK's challenge cache is per host and process-wide, so
    the first request to it is always the unauthenticated challenge request."""
    return f"https://audit{uuid.uuid4().hex[:12]}.{cloud}"


async def test_key_requests_are_audited_once_each_with_their_operation_names(kh: KeysUnderTest) -> None:
    url = _fresh_vault_url()
    kh.fake.vault(url).assign_role("officer", "Key Vault Crypto Officer")
    counter = RequestCounter()
    client = key_client_as(kh, "officer", url, raw_request_hook=counter)
    name = kh.name()
    await kh.call(client.create_ec_key, name, curve="P-256")
    crypto = client.get_cryptography_client(name)  # shares the KeyClient's pipeline (and its request hook)
    signature = (await kh.call(crypto.sign, SignatureAlgorithm.es256, DIGEST)).signature
    assert (await kh.call(crypto.verify, SignatureAlgorithm.es256, DIGEST, signature)).is_valid  # local: no request
    await kh.call(client.rotate_key, name)
    await kh.collect(client.list_properties_of_keys())
    await kh.call(client.backup_key, name)
    await kh.delete(client, name)
    await kh.call(client.purge_deleted_key, name)

    records = list(kh.fake.audit)
    assert len(records) == counter.count
    assert [record.operation_name for record in records] == [
        "KeyCreate",  # the SDK's unauthenticated challenge request: 401, no identity
        "KeyCreate",
        "KeyGet",
        "KeySign",
        "KeyRotate",
        "KeyList",
        "KeyBackup",
        "KeyDelete",
        "KeyGetDeleted",
        "KeyPurge",
    ]
    assert [record.status for record in records] == [401, 200, 200, 200, 200, 200, 200, 200, 200, 204]
    assert records[0].identity is None
    for record in records[1:]:
        assert record.caller == "officer"
        assert record.result_type == "Success"
        assert record.properties["isRbacAuthorized"] is True
        assert record.properties["requestUri"].startswith(f"{url}/")
    signed = records[3].to_dict()
    assert signed["properties"]["id"].startswith(f"{url}/keys/{name}/")
    assert signed["resourceId"] == kh.fake.vault(url).properties.resource_id.upper()


async def test_denied_key_operations_are_audited_as_forbidden(kh: KeysUnderTest) -> None:
    url = _fresh_vault_url()
    vault = kh.fake.vault(url)
    vault.assign_role("officer", "Key Vault Crypto Officer")
    vault.assign_role("auditor", "Key Vault Reader")
    key = await kh.call(key_client_as(kh, "officer", url).create_ec_key, kh.name())
    kh.fake.audit.clear()
    counter = RequestCounter()
    reader = key_client_as(kh, "auditor", url, raw_request_hook=counter)

    await denied(kh, reader.create_ec_key, kh.name())
    await denied(kh, reader.get_cryptography_client(key.name).sign, SignatureAlgorithm.es256, DIGEST)

    records = list(kh.fake.audit)
    # No challenge this time: the officer's client already answered it for this host (the SDK caches it per host).
    assert len(records) == counter.count == 3
    assert [(record.operation_name, record.status) for record in records] == [
        ("KeyCreate", 403),
        ("KeyGet", 200),
        ("KeySign", 403),
    ]
    for record in (records[0], records[2]):
        assert (record.result_type, record.result_signature) == ("Failure", "Forbidden")
        assert record.properties["isRbacAuthorized"] is False
        assert record.caller == "auditor"
    assert kh.fake.audit.records(operation="sign", status=403, identity="auditor") == [records[2]]


async def test_managed_hsm_requests_are_audited_with_the_pool_resource(kh: KeysUnderTest) -> None:
    pool = kh.fake.create_vault(_fresh_vault_url("managedhsm.azure.net"), activated=True)
    pool.assign_role("app", "Managed HSM Crypto User")
    counter = RequestCounter()
    client = key_client_as(kh, "app", pool.url, raw_request_hook=counter)
    await kh.call(client.get_random_bytes, 16)
    await kh.call(client.create_ec_key, kh.name(), hardware_protected=True)

    records = kh.fake.audit.records(vault=pool.name)
    assert len(records) == counter.count == 3
    assert [(record.operation_name, record.status) for record in records] == [
        ("GetRandomBytes", 401),
        ("GetRandomBytes", 200),
        ("KeyCreate", 200),
    ]
    assert records[1].resource_id == pool.properties.resource_id.upper()


async def test_certificate_requests_are_audited_once_each_with_their_operation_names(certs: CertVault) -> None:
    certs.vault_url = _fresh_vault_url()
    certs.fake.vault(certs.vault_url).assign_role("officer", "Key Vault Certificates Officer")
    counter = RequestCounter()
    client = cert_client_as(certs, "officer", raw_request_hook=counter)
    name = certs.name()
    await create_certificate(certs, client, name)
    await certs.call(client.get_certificate_policy, name)
    await certs.call(client.update_certificate_properties, name, tags={"a": "b"})
    await certs.collect(client.list_properties_of_certificate_versions(name))
    await certs.call(client.backup_certificate, name)

    records = list(certs.fake.audit)
    assert len(records) == counter.count
    names = [record.operation_name for record in records]
    assert names[:2] == ["CertificateCreate", "CertificateCreate"]
    assert records[0].status == 401
    assert records[1].status == 202
    # The SDK's poller: the pending operation until it completes, then the certificate.
    polled = names[2 : names.index("CertificateGet")]
    assert polled
    assert set(polled) == {"CertificatePendingGet"}
    assert names[names.index("CertificateGet") :] == [
        "CertificateGet",
        "CertificatePolicyGet",
        "CertificateUpdate",
        "CertificateListVersions",
        "CertificateBackup",
    ]
    assert all(record.caller == "officer" and record.result_type == "Success" for record in records[1:])
