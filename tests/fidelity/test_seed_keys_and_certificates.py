"""Seeded keys and certificates as the official KeyClient, CryptographyClient and CertificateClient see them, and
dump -> seed round trips of everything a vault holds."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.certificates import CertificateClient, CertificatePolicy
from azure.keyvault.certificates.aio import CertificateClient as AsyncCertificateClient
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm
from azure.keyvault.secrets import SecretClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from kvconfig.crypto import generate_key, key_from_jwk, verify
from kvconfig.fake import FakeKeyVault, ManualClock

URL = "https://myvault.vault.azure.net"


def keys(fake: FakeKeyVault, identity: str | None = None) -> KeyClient:
    return KeyClient(URL, fake.credential(identity), transport=fake.transport(), retry_total=0)


def certificates(fake: FakeKeyVault) -> CertificateClient:
    return CertificateClient(URL, fake.credential(), transport=fake.transport(), retry_total=0)


def secrets(fake: FakeKeyVault, identity: str | None = None) -> SecretClient:
    return SecretClient(URL, fake.credential(identity), transport=fake.transport(), retry_total=0)


def self_signed(common_name: str = "imported.example") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def test_seeded_keys_are_served_with_their_type_size_ops_tags_and_versions() -> None:
    fake = FakeKeyVault()
    fake.seed(
        {
            "vaults": {
                "myvault": {
                    "keys": {
                        "signing": {"kty": "EC", "crv": "P-384", "tags": {"team": "payments"}},
                        "wrapping": {"kty": "RSA", "size": 3072, "key_ops": ["wrapKey", "unwrapKey"]},
                        "off": {"kty": "EC", "enabled": False, "exp": 1900000000},
                        "rotated": {"versions": [{"kty": "RSA"}, {"kty": "RSA", "version": "ab" * 16}]},
                    }
                }
            }
        }
    )
    with keys(fake) as client:
        signing = client.get_key("signing")
        assert (signing.key_type, signing.key.crv, signing.properties.tags) == ("EC", "P-384", {"team": "payments"})
        wrapping = client.get_key("wrapping")
        assert len(wrapping.key.n) * 8 == 3072
        assert wrapping.key_operations == ["wrapKey", "unwrapKey"]
        off = next(p for p in client.list_properties_of_keys() if p.name == "off")
        assert off.enabled is False
        assert off.expires_on == datetime.fromtimestamp(1900000000, timezone.utc)
        assert client.get_key("rotated").properties.version == "ab" * 16
        assert len(list(client.list_properties_of_key_versions("rotated"))) == 2


def test_seeded_jwk_is_the_key_the_vault_signs_with() -> None:
    material = generate_key("EC", curve="P-256")
    fake = FakeKeyVault()
    fake.seed({"vaults": {"myvault": {"keys": {"imported": {"jwk": dict(material.private_jwk())}}}}})
    with keys(fake) as client:
        key = client.get_key("imported")
        assert key.key_operations == ["sign", "verify"]  # what Import Key grants an EC key by default
        digest = hashes.Hash(hashes.SHA256())
        digest.update(b"payload")
        data = digest.finalize()
        crypto = CryptographyClient(key, fake.credential(), transport=fake.transport())
        signature = crypto.sign(SignatureAlgorithm.es256, data).signature
    assert verify(material.public_key(), "ES256", data, signature)


def test_seeded_certificate_from_policy_is_issued_with_backing_key_and_secret() -> None:
    fake = FakeKeyVault()
    fake.seed(
        {
            "vaults": {
                "myvault": {
                    "certificates": {
                        "tls": {"subject": "CN=app.example.com", "dns_names": ["app.example.com"], "tags": {"a": "b"}},
                        "ec": {
                            "policy": {"key_props": {"kty": "EC", "crv": "P-256"}, "x509_props": {"subject": "CN=e"}}
                        },
                    }
                }
            }
        }
    )
    with certificates(fake) as client:
        tls = client.get_certificate("tls")
        assert tls.policy is not None
        assert (tls.policy.subject, tls.policy.san_dns_names, tls.policy.issuer_name) == (
            "CN=app.example.com",
            ["app.example.com"],
            "Self",
        )
        assert tls.properties.tags == {"a": "b"}
        assert client.get_certificate_operation("tls").status == "completed"
        assert client.get_certificate("ec").policy.key_curve_name == "P-256"  # type: ignore[union-attr]
    with secrets(fake) as client:
        secret = client.get_secret("tls")
    with keys(fake) as client:
        backing = client.get_key("tls")
    assert secret.properties.content_type == "application/x-pkcs12"
    assert secret.properties.key_id == backing.id
    loaded = pkcs12.load_pkcs12(base64.b64decode(secret.value or ""), None)
    assert loaded.key is not None
    assert loaded.cert is not None
    assert loaded.cert.certificate.public_bytes(serialization.Encoding.DER) == bytes(tls.cer or b"")
    assert backing.properties.managed is True
    assert backing.properties.version == tls.properties.version


def test_seeded_pfx_with_password_and_pem_are_imported() -> None:
    key, cert = self_signed()
    pfx = pkcs12.serialize_key_and_certificates(None, key, cert, None, serialization.BestAvailableEncryption(b"pw"))
    pem_key, pem_cert = self_signed("pem.example")
    pem = (
        pem_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        + pem_cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    fake = FakeKeyVault()
    fake.seed(
        {
            "vaults": {
                "myvault": {
                    "certificates": {
                        "from-pfx": {"pfx": base64.b64encode(pfx).decode(), "password": "pw"},
                        "from-pem": {"pem": pem, "enabled": False},
                    }
                }
            }
        }
    )
    with certificates(fake) as client:
        imported = client.get_certificate("from-pfx")
        assert bytes(imported.cer or b"") == cert.public_bytes(serialization.Encoding.DER)
        assert imported.policy is not None
        assert imported.policy.issuer_name == "Unknown"  # as Import Certificate sets it
        assert imported.policy.san_dns_names == ["imported.example"]
        from_pem = client.get_certificate("from-pem")
        assert from_pem.properties.enabled is False
        assert from_pem.policy.content_type == "application/x-pem-file"  # type: ignore[union-attr]
    with secrets(fake) as client:
        # The backing secret holds the PFX without its password, as the service stores it.
        value = client.get_secret("from-pfx").value or ""
    assert pkcs12.load_pkcs12(base64.b64decode(value), None).key is not None


async def test_seeded_certificate_is_served_to_the_async_client() -> None:
    fake = FakeKeyVault()
    fake.seed({"vaults": {"myvault": {"certificates": {"tls": {"subject": "CN=async"}}}}})
    async with AsyncCertificateClient(URL, fake.async_credential(), transport=fake.async_transport()) as client:
        assert (await client.get_certificate("tls")).policy.subject == "CN=async"  # type: ignore[union-attr]


def test_seeded_certificate_renews_itself_on_the_fake_clock() -> None:
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=timezone.utc))
    fake = FakeKeyVault(clock=clock)
    fake.seed({"vaults": {"myvault": {"certificates": {"tls": {"subject": "CN=renew", "validity_months": 1}}}}})
    fake.advance(days=30)  # past the default lifetime action (AutoRenew at 80 %)
    with certificates(fake) as client:
        assert len(list(client.list_properties_of_certificate_versions("tls"))) == 2


def fill_through_the_sdk(fake: FakeKeyVault) -> None:
    with keys(fake) as client:
        client.create_rsa_key("rsa", size=2048, tags={"by": "sdk"})
        client.create_ec_key("ec", curve="P-256", key_operations=["sign"])
        client.create_ec_key("ec", curve="P-384")
        client.update_key_properties("ec", enabled=False)
    with certificates(fake) as client:
        policy = CertificatePolicy(issuer_name="Self", subject="CN=sdk", san_dns_names=["sdk.example"])
        client.begin_create_certificate("sdk-cert", policy).result()
        pem_policy = CertificatePolicy(issuer_name="Self", subject="CN=pem", content_type="application/x-pem-file")
        client.begin_create_certificate("pem-cert", pem_policy).result()
        client.begin_create_certificate("sdk-cert", policy).result()
        client.update_certificate_properties("sdk-cert", tags={"v": "2"})
    with secrets(fake) as client:
        client.set_secret("plain", "v")


def test_dump_then_seed_round_trips_keys_and_certificates_exactly() -> None:
    original = FakeKeyVault()
    original.seed({"vaults": {"myvault": {"properties": {"location": "northeurope"}}}})
    fill_through_the_sdk(original)
    dumped = json.loads(json.dumps(original.dump()))

    copy = FakeKeyVault()
    copy.seed(dumped)

    assert copy.dump() == dumped
    with keys(original) as before, keys(copy) as after:
        assert after.get_key("rsa").key.n == before.get_key("rsa").key.n
        versions = [p.version for p in after.list_properties_of_key_versions("ec")]
        assert versions == [p.version for p in before.list_properties_of_key_versions("ec")]
    with certificates(original) as before, certificates(copy) as after:
        old, new = before.get_certificate("sdk-cert"), after.get_certificate("sdk-cert")
        assert (new.properties.version, new.properties.x509_thumbprint) == (
            old.properties.version,
            old.properties.x509_thumbprint,
        )
        assert new.properties.tags == {"v": "2"}
        assert new.policy.san_dns_names == ["sdk.example"]  # type: ignore[union-attr]
    with secrets(original) as before, secrets(copy) as after:
        assert after.get_secret("sdk-cert").value == before.get_secret("sdk-cert").value
        assert after.get_secret("pem-cert").value == before.get_secret("pem-cert").value


def test_certificate_with_a_non_exportable_key_round_trips_its_certificate_and_key() -> None:
    original = FakeKeyVault()
    policy = {"key_props": {"exportable": False}, "x509_props": {"subject": "CN=locked"}}
    original.seed({"vaults": {"myvault": {"certificates": {"locked": {"policy": policy}}}}})
    copy = FakeKeyVault()
    copy.seed(json.loads(json.dumps(original.dump())))
    with certificates(original) as before, certificates(copy) as after:
        assert after.get_certificate("locked").cer == before.get_certificate("locked").cer
        assert after.get_certificate("locked").policy.exportable is False  # type: ignore[union-attr]
    with keys(original) as before, keys(copy) as after:
        assert after.get_key("locked").key.n == before.get_key("locked").key.n
    with secrets(copy) as client:
        # As the service does: without an exportable key, the secret carries the certificate only.
        assert pkcs12.load_pkcs12(base64.b64decode(client.get_secret("locked").value or ""), None).key is None


def test_vault_properties_roles_and_access_policies_round_trip_and_are_enforced() -> None:
    seed: dict[str, Any] = {
        "vaults": {
            "myvault": {
                "properties": {
                    "rbac": True,
                    "location": "westeurope",
                    "resource_group": "rg-app",
                    "enforce_access": True,
                },
                "roles": [{"identity": "app", "role": "Key Vault Secrets User"}],
                "secrets": {"db": "pa55"},
            },
            "legacy": {
                "properties": {"rbac": False, "access_policies": {"app": {"secrets": ["get"]}}},
                "secrets": {"db": "old"},
            },
        }
    }
    fake = FakeKeyVault()
    fake.seed(seed)
    dumped = fake.dump()
    props = dumped["vaults"]["myvault.vault.azure.net"]["properties"]
    assert (props["location"], props["resource_group"], props["enforce_access"]) == ("westeurope", "rg-app", True)
    assert dumped["vaults"]["myvault.vault.azure.net"]["roles"] == [
        {"identity": "app", "role": "Key Vault Secrets User", "scope": "/"}
    ]
    copy = FakeKeyVault()
    copy.seed(json.loads(json.dumps(dumped)))
    assert copy.dump() == dumped
    with secrets(copy, "app") as client:
        assert client.get_secret("db").value == "pa55"
    with secrets(copy, "intruder") as client, pytest.raises(HttpResponseError) as caught:
        client.get_secret("db")
    assert caught.value.status_code == 403
    legacy = SecretClient("https://legacy.vault.azure.net", copy.credential("app"), transport=copy.transport())
    with legacy:
        assert legacy.get_secret("db").value == "old"


def test_seed_loaded_from_a_dumped_json_file_serves_a_key(tmp_path: Any) -> None:
    original = FakeKeyVault()
    original.seed({"vaults": {"myvault": {"keys": {"k": {"kty": "RSA"}}}}})
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(original.dump()), encoding="utf-8")
    copy = FakeKeyVault()
    copy.seed(path)
    with keys(copy) as client:
        assert client.get_key("k").key_type == "RSA"
    assert key_from_jwk(copy.dump()["vaults"]["myvault.vault.azure.net"]["keys"]["k"]["versions"][0]["jwk"]).has_private
