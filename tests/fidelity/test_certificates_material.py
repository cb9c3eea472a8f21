"""What a certificate holds, read through the official clients: the PFX/PEM in its backing secret loads in
``cryptography`` and ``ssl``, thumbprints match, imports (PFX with and without password, PEM) round-trip, and the
backing key and secret behave as the service's managed objects."""

from __future__ import annotations

import base64
import hashlib
import ssl
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.certificates import CertificateContentType, CertificatePolicy
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from kvconfig import SecretResolver
from kvconfig.fake.certificates.material import export_pem, export_pkcs12
from kvconfig.fake.certificates.policy import build_policy_defaults
from kvconfig.fake.certificates.x509 import build_certificate, generate_private_key, validity_window

from .cert_support import CertVault


def _self_signed(subject: str = "CN=imported.example") -> tuple[x509.Certificate, object]:
    from datetime import datetime, timezone

    policy = build_policy_defaults({"x509_props": {"subject": subject}, "issuer": {"name": "Self"}})
    key = generate_private_key(None)
    not_before, not_after = validity_window(datetime.now(timezone.utc), 12)
    return build_certificate(policy, key, not_before=not_before, not_after=not_after), key


async def test_backing_secret_pfx_loads_in_cryptography_and_thumbprint_matches(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    cert = await cv.create(name)
    secret = await cv.call(cv.secret_client().get_secret, name)
    assert secret.properties.content_type == "application/x-pkcs12"
    assert secret.properties.managed is True
    assert secret.properties.key_id == cert.key_id
    assert secret.properties.version == cert.properties.version
    key, leaf, _ = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
    assert key is not None
    assert leaf is not None
    der = leaf.public_bytes(serialization.Encoding.DER)
    assert der == cert.cer
    assert hashlib.sha1(der).digest() == cert.properties.x509_thumbprint  # x5t is SHA-1 by definition


async def test_pem_content_type_secret_loads_in_ssl(certs: CertVault, tmp_path: Path) -> None:
    cv = certs
    name = cv.name()
    policy = CertificatePolicy(issuer_name="Self", subject="CN=localhost", content_type=CertificateContentType.pem)
    await cv.create(name, policy)
    secret = await cv.call(cv.secret_client().get_secret, name)
    assert secret.properties.content_type == "application/x-pem-file"
    assert secret.value.startswith("-----BEGIN PRIVATE KEY-----")
    pem = tmp_path / "cert.pem"
    pem.write_text(secret.value)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)


async def test_non_exportable_key_secret_holds_certificate_without_private_key(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    await cv.create(name, CertificatePolicy(issuer_name="Self", subject="CN=locked", key_type="RSA", exportable=False))
    secret = await cv.call(cv.secret_client().get_secret, name)
    key, leaf, others = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
    assert key is None
    # Without a key, readers see the certificate among the PFX's other certificates.
    assert [cert.subject.rfc4514_string() for cert in [*([leaf] if leaf else []), *others]] == ["CN=locked"]


@pytest.mark.parametrize("password", [None, "p@ss"])
async def test_import_pfx_with_and_without_password(certs_versions: CertVault, password: str | None) -> None:
    cv = certs_versions
    cert, key = _self_signed()
    pfx = export_pkcs12(cert, key, password=password)  # type: ignore[arg-type]
    name = cv.name()
    imported = await cv.call(cv.client.import_certificate, name, pfx, password=password, tags={"src": "pfx"})
    assert imported.cer == cert.public_bytes(serialization.Encoding.DER)
    assert imported.policy.issuer_name == "Unknown"
    assert imported.policy.subject == "CN=imported.example"
    assert imported.properties.tags == {"src": "pfx"}
    secret = await cv.call(cv.secret_client().get_secret, name)
    loaded_key, _, _ = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
    assert loaded_key is not None


async def test_import_pfx_with_wrong_password_raises_service_message(certs: CertVault) -> None:
    cv = certs
    cert, key = _self_signed()
    pfx = export_pkcs12(cert, key, password="right")  # type: ignore[arg-type]
    with pytest.raises(HttpResponseError) as caught:
        await cv.call(cv.client.import_certificate, cv.name(), pfx, password="wrong")
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "BadParameter"
    assert caught.value.error.message == (
        "The specified PKCS#12 X.509 certificate content can not be read. Please check if certificate is in valid "
        "PKCS#12 format."
    )


async def test_import_pem_with_private_key(certs: CertVault) -> None:
    cv = certs
    cert, key = _self_signed("CN=pem.example")
    pem = export_pem(cert, key).encode()  # type: ignore[arg-type]
    name = cv.name()
    policy = CertificatePolicy(content_type=CertificateContentType.pem)
    imported = await cv.call(cv.client.import_certificate, name, pem, policy=policy)
    assert imported.policy.content_type == CertificateContentType.pem
    secret = await cv.call(cv.secret_client().get_secret, name)
    assert "BEGIN PRIVATE KEY" in secret.value
    assert secret.properties.content_type == "application/x-pem-file"


async def test_backing_secret_cannot_be_set_or_deleted_directly(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    await cv.create(name)
    secrets = cv.secret_client()
    with pytest.raises(HttpResponseError) as caught:
        await cv.call(secrets.set_secret, name, "overwrite")
    assert caught.value.status_code == 403
    delete = secrets.delete_secret if cv.is_async else secrets.begin_delete_secret
    with pytest.raises(HttpResponseError) as refused:
        await cv.call(delete, name)
    assert refused.value.status_code == 403


async def test_secret_and_key_lists_show_backing_objects_as_managed(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    await cv.create(name)
    listed = await cv.collect(cv.secret_client().list_properties_of_secrets())
    assert [(entry.name, entry.managed) for entry in listed] == [(name, True)]
    keys = pytest.importorskip("azure.keyvault.keys")
    client = keys.KeyClient(cv.vault_url, cv.fake.credential(), transport=cv.fake.transport())
    key_items = list(client.list_properties_of_keys())
    assert [(entry.name, entry.managed) for entry in key_items] == [(name, True)]


def test_backing_key_signs_with_the_certificates_key() -> None:
    keys = pytest.importorskip("azure.keyvault.keys")
    from azure.keyvault.certificates import CertificateClient
    from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from kvconfig.fake import FakeKeyVault

    fake = FakeKeyVault()
    url = "https://signer.vault.azure.net"
    certificates = CertificateClient(url, fake.credential(), transport=fake.transport())
    cert = certificates.begin_create_certificate(
        "signer", CertificatePolicy.get_default(), _polling_interval=0
    ).result()
    key_client = keys.KeyClient(url, fake.credential(), transport=fake.transport())
    crypto = CryptographyClient(cert.key_id, fake.credential(), transport=fake.transport())
    digest = hashlib.sha256(b"payload").digest()
    signature = crypto.sign(SignatureAlgorithm.rs256, digest).signature
    public_key = x509.load_der_x509_certificate(bytes(cert.cer)).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(signature, b"payload", padding.PKCS1v15(), hashes.SHA256())
    assert key_client.get_key("signer").properties.managed is True


async def test_key_vault_reference_to_the_certificate_secret_resolves_to_its_pfx() -> None:
    from kvconfig.fake import FakeKeyVault

    fake = FakeKeyVault()
    url = "https://refvault.vault.azure.net"
    from azure.keyvault.certificates import CertificateClient

    client = CertificateClient(url, fake.credential(), transport=fake.transport())
    cert = client.begin_create_certificate("tls", CertificatePolicy.get_default(), _polling_interval=0).result()
    resolver = SecretResolver(credential=fake.async_credential(), transport=fake.async_transport())
    try:
        values = resolver.resolve({"TLS_PFX": f"@Microsoft.KeyVault(SecretUri={url}/secrets/tls/)"})
    finally:
        resolver.close()
    _, leaf, _ = pkcs12.load_key_and_certificates(base64.b64decode(values["TLS_PFX"]), None)
    assert leaf is not None
    assert leaf.public_bytes(serialization.Encoding.DER) == cert.cer


async def test_get_secret_out_content_type_pem_converts_pfx_secret(certs: CertVault) -> None:
    cv = certs
    name = cv.name()
    await cv.create(name)
    secrets = cv.secret_client()
    secret = await cv.call(secrets.get_secret, name, out_content_type="application/x-pem-file")
    assert secret.value.startswith("-----BEGIN PRIVATE KEY-----")
    assert "-----BEGIN CERTIFICATE-----" in secret.value
