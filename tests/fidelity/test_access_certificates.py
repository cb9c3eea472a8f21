"""Access control on certificates through the official CertificateClient and SecretClient (sync and async): the
Certificates Officer manages certificates but cannot download their private keys, the Certificate User reads them
with their keys, a Secrets User reads the certificate's backing secret (the PFX) and nothing of the certificate;
certificate-scoped assignments and access policies per certificate permission."""

from __future__ import annotations

from typing import Any

from azure.keyvault.certificates import CertificateContact, CertificatePolicy
from cryptography.hazmat.primitives.serialization import pkcs12

from .cert_support import CertVault
from .keys_access_support import (
    cert_client_as,
    create_certificate,
    denied,
    inner_code,
    secret_client_as,
)

KV = "Microsoft.KeyVault/vaults"


def _assert_rbac_denied(error: Any, action: str) -> None:
    assert error.status_code == 403
    assert inner_code(error) == "ForbiddenByRbac"
    assert f"Action: '{KV}/{action}'" in error.error.message


async def _officer_certificate(cv: CertVault, name: str | None = None) -> Any:
    cv.fake.vault(cv.vault_url).assign_role("officer", "Key Vault Certificates Officer")
    return await create_certificate(cv, cert_client_as(cv, "officer"), name or cv.name())


def _load_pfx(value: str) -> Any:
    import base64

    return pkcs12.load_pkcs12(base64.b64decode(value), None)


async def test_certificates_officer_manages_certificates_but_cannot_download_the_key(certs: CertVault) -> None:
    cert = await _officer_certificate(certs)
    officer = cert_client_as(certs, "officer")

    assert (await certs.call(officer.get_certificate, cert.name)).id == cert.id
    assert [item.name for item in await certs.collect(officer.list_properties_of_certificates())] == [cert.name]
    updated = await certs.call(officer.update_certificate_properties, cert.name, tags={"team": "web"})
    assert updated.properties.tags == {"team": "web"}
    policy = await certs.call(officer.get_certificate_policy, cert.name)
    assert policy.subject == "CN=access.test"
    await certs.call(officer.update_certificate_policy, cert.name, CertificatePolicy(subject="CN=renamed.test"))
    await certs.call(officer.set_contacts, [CertificateContact(email="ops@example.test")])
    await certs.call(officer.create_issuer, "digicert", "DigiCert", account_id="acct", password="pw")

    # The PFX is the backing secret: reading it is secrets/getSecret/action, which the role does not hold.
    error = await denied(certs, secret_client_as(certs, "officer").get_secret, cert.name)
    _assert_rbac_denied(error, "secrets/getSecret/action")

    name = cert.name
    if certs.is_async:
        await officer.delete_certificate(name, _polling_interval=0)
        await officer.recover_deleted_certificate(name, _polling_interval=0)
        await officer.delete_certificate(name, _polling_interval=0)
    else:
        officer.begin_delete_certificate(name, _polling_interval=0).wait()
        officer.begin_recover_deleted_certificate(name, _polling_interval=0).wait()
        officer.begin_delete_certificate(name, _polling_interval=0).wait()
    await certs.call(officer.purge_deleted_certificate, name)
    assert await certs.collect(officer.list_deleted_certificates()) == []


async def test_certificate_user_reads_certificates_and_their_private_keys_but_manages_nothing(
    certs: CertVault,
) -> None:
    cert = await _officer_certificate(certs)
    certs.fake.vault(certs.vault_url).assign_role("web", "Key Vault Certificate User")
    web = cert_client_as(certs, "web")

    assert (await certs.call(web.get_certificate, cert.name)).cer == cert.cer
    assert len(await certs.collect(web.list_properties_of_certificate_versions(cert.name))) == 1
    assert (await certs.call(web.get_certificate_policy, cert.name)).subject == "CN=access.test"
    secret = await certs.call(secret_client_as(certs, "web").get_secret, cert.name)
    assert secret.properties.content_type == "application/x-pkcs12"
    assert _load_pfx(secret.value).key is not None

    _assert_rbac_denied(
        await denied(certs, web.update_certificate_properties, cert.name, enabled=False), "certificates/update/action"
    )
    create = web.create_certificate if certs.is_async else web.begin_create_certificate
    _assert_rbac_denied(
        await denied(certs, create, certs.name(), CertificatePolicy.get_default()), "certificates/create/action"
    )
    delete = web.delete_certificate if certs.is_async else web.begin_delete_certificate
    _assert_rbac_denied(await denied(certs, delete, cert.name), "certificates/delete")


async def test_secrets_user_reads_the_backing_pfx_but_not_the_certificate(certs: CertVault) -> None:
    cert = await _officer_certificate(certs)
    certs.fake.vault(certs.vault_url).assign_role("tls", "Key Vault Secrets User")

    secret = await certs.call(secret_client_as(certs, "tls").get_secret, cert.name)
    assert secret.properties.content_type == "application/x-pkcs12"
    loaded = _load_pfx(secret.value)
    assert loaded.key is not None
    assert loaded.cert is not None
    assert loaded.cert.certificate.fingerprint(loaded.cert.certificate.signature_hash_algorithm) is not None
    _assert_rbac_denied(
        await denied(certs, cert_client_as(certs, "tls").get_certificate, cert.name), "certificates/read"
    )


async def test_reader_lists_and_reads_certificates_but_not_the_private_key(certs: CertVault) -> None:
    cert = await _officer_certificate(certs)
    certs.fake.vault(certs.vault_url).assign_role("auditor", "Key Vault Reader")
    reader = cert_client_as(certs, "auditor")

    assert [item.name for item in await certs.collect(reader.list_properties_of_certificates())] == [cert.name]
    assert (await certs.call(reader.get_certificate, cert.name)).cer == cert.cer
    error = await denied(certs, secret_client_as(certs, "auditor").get_secret, cert.name)
    _assert_rbac_denied(error, "secrets/getSecret/action")


async def test_certificate_scoped_officer_manages_that_certificate_only(certs: CertVault) -> None:
    mine = await _officer_certificate(certs)
    other = await _officer_certificate(certs)
    certs.fake.vault(certs.vault_url).assign_role(
        "team", "Key Vault Certificates Officer", scope=f"/certificates/{mine.name}"
    )
    team = cert_client_as(certs, "team")

    updated = await certs.call(team.update_certificate_properties, mine.name, tags={"scoped": "yes"})
    assert updated.properties.tags == {"scoped": "yes"}
    _assert_rbac_denied(await denied(certs, team.get_certificate, other.name), "certificates/read")


async def test_removing_a_certificate_role_takes_effect_at_once(certs: CertVault) -> None:
    cert = await _officer_certificate(certs)
    grant = certs.fake.vault(certs.vault_url).assign_role("web", "Key Vault Certificate User")
    web = cert_client_as(certs, "web")
    assert (await certs.call(web.get_certificate, cert.name)).id == cert.id
    grant.remove()
    _assert_rbac_denied(await denied(certs, web.get_certificate, cert.name), "certificates/read")


async def test_access_policies_allow_and_deny_per_certificate_permission(certs: CertVault) -> None:
    fake = certs.fake
    certs.vault_url = "https://certpolicies.vault.azure.net"
    fake.create_vault(
        certs.vault_url,
        rbac=False,
        access_policies={
            "admin": {"certificates": ["all"]},
            "web": {"certificates": ["get", "list"], "secrets": ["get"]},
        },
    )
    cert = await create_certificate(certs, cert_client_as(certs, "admin"), certs.name())
    web = cert_client_as(certs, "web")

    assert (await certs.call(web.get_certificate, cert.name)).id == cert.id
    assert len(await certs.collect(web.list_properties_of_certificates())) == 1
    assert _load_pfx((await certs.call(secret_client_as(certs, "web").get_secret, cert.name)).value).key is not None
    create = web.create_certificate if certs.is_async else web.begin_create_certificate
    error = await denied(certs, create, certs.name(), CertificatePolicy.get_default())
    assert error.status_code == 403
    assert inner_code(error) == "AccessDenied"
    assert "does not have certificates create permission on key vault 'certpolicies;location=" in error.error.message  # type: ignore[union-attr]
    error = await denied(certs, web.get_issuer, "anything")
    assert inner_code(error) == "AccessDenied"
    assert "does not have certificates getissuers permission" in error.error.message  # type: ignore[union-attr]
