"""Seed files with keys, certificates, vault properties and role assignments: what is refused, and with what words.

What a seeded key or certificate looks like through the official clients is in
tests/fidelity/test_seed_keys_and_certificates.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from kvconfig.fake import FakeKeyVault, SeedError, SequentialIds


def vault(**content: Any) -> dict[str, Any]:
    return {"vaults": {"myvault": content}}


BAD_SEEDS: list[tuple[str, Any, str]] = [
    ("keys-not-object", vault(keys=[]), "'keys' of vault 'myvault' must be an object"),
    ("key-not-object", vault(keys={"k": "RSA"}), "must be an object such as {'kty': 'RSA'}"),
    ("key-bad-name", vault(keys={"k_1": {"kty": "RSA"}}), "Key name 'k_1' in vault 'myvault' is not valid"),
    ("key-neither", vault(keys={"k": {"tags": {}}}), "needs either 'kty'"),
    ("key-both", vault(keys={"k": {"kty": "RSA", "jwk": {}}}), "needs either 'kty'"),
    ("key-unknown-member", vault(keys={"k": {"kty": "RSA", "colour": 1}}), "Unknown member(s) in key 'k'"),
    ("key-versions-and-more", vault(keys={"k": {"versions": [{"kty": "EC"}], "tags": {}}}), "inside its versions"),
    ("key-empty-versions", vault(keys={"k": {"versions": []}}), "must be a non-empty list"),
    ("key-bad-kty", vault(keys={"k": {"kty": "DSA"}}), "The key type 'DSA' is not valid"),
    ("key-oct-in-vault", vault(keys={"k": {"kty": "oct"}}), "Cannot seed key 'k' of vault 'myvault'"),
    ("key-hsm-in-standard", vault(keys={"k": {"kty": "RSA-HSM"}}), "Cannot seed key 'k'"),
    ("key-bad-size", vault(keys={"k": {"kty": "RSA", "size": 1000}}), "Cannot seed key 'k'"),
    ("key-bad-curve", vault(keys={"k": {"kty": "EC", "crv": "P-999"}}), "Cannot seed key 'k'"),
    ("key-bad-op", vault(keys={"k": {"kty": "EC", "key_ops": ["fly"]}}), "The key operation 'fly' is not valid"),
    ("key-ops-not-list", vault(keys={"k": {"kty": "EC", "key_ops": "sign"}}), "'key_ops' of key 'k'"),
    ("key-jwk-not-object", vault(keys={"k": {"jwk": "x"}}), "'jwk' of key 'k'"),
    ("key-jwk-public", vault(keys={"k": {"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}}), "JSON Web Key"),
    ("key-bad-version", vault(keys={"k": {"kty": "EC", "version": "v1"}}), "32 hexadecimal"),
    ("key-enabled-string", vault(keys={"k": {"kty": "EC", "enabled": "yes"}}), "'enabled' of key 'k'"),
    ("key-exp-string", vault(keys={"k": {"kty": "EC", "exp": "2030-01-01"}}), "'exp' of key 'k'"),
    ("certs-not-object", vault(certificates=[]), "'certificates' of vault 'myvault' must be an object"),
    ("cert-not-object", vault(certificates={"c": "CN=x"}), "a 'policy' (or 'subject'/'dns_names')"),
    ("cert-bad-name", vault(certificates={"c.1": {}}), "Certificate name 'c.1' in vault 'myvault' is not valid"),
    ("cert-unknown-member", vault(certificates={"c": {"subjct": "CN=x"}}), "Unknown member(s) in certificate"),
    ("cert-pfx-and-pem", vault(certificates={"c": {"pfx": "AA==", "pem": "x"}}), "has both 'pfx' and 'pem'"),
    ("cert-password-alone", vault(certificates={"c": {"password": "p"}}), "there is none"),
    ("cert-pfx-not-string", vault(certificates={"c": {"pfx": 1}}), "'pfx' of certificate 'c'"),
    ("cert-policy-not-object", vault(certificates={"c": {"policy": "Self"}}), "must be a CertificatePolicy"),
    ("cert-bad-subject", vault(certificates={"c": {"subject": "no-equals-sign"}}), "Cannot seed certificate 'c'"),
    ("cert-bad-validity", vault(certificates={"c": {"subject": "CN=x", "validity_months": 0}}), "validity"),
    ("cert-unknown-issuer", vault(certificates={"c": {"policy": {"issuer": {"name": "Nobody"}}}}), "Nobody"),
    ("cert-pfx-garbage", vault(certificates={"c": {"pfx": "bm90IGEgcGZ4"}}), "Cannot seed certificate 'c'"),
    ("cert-pem-garbage", vault(certificates={"c": {"pem": "-----BEGIN NOTHING-----"}}), "Cannot seed certificate"),
    ("cert-versions-empty", vault(certificates={"c": {"versions": []}}), "must be a non-empty list"),
    ("cert-version-unknown", vault(certificates={"c": {"versions": [{"colour": 1}]}}), "in a version of certificate"),
    (
        "cert-name-held-by-secret",
        vault(secrets={"c": "v"}, certificates={"c": {"subject": "CN=x"}}),
        "Cannot seed certificate 'c'",
    ),
    ("roles-not-list", vault(roles={"app": "Key Vault Secrets User"}), "'roles' of vault 'myvault' must be a list"),
    ("role-missing-identity", vault(roles=[{"role": "Key Vault Secrets User"}]), "Every role assignment"),
    ("role-unknown", vault(roles=[{"identity": "app", "role": "Chief"}]), "Cannot assign a role in vault 'myvault'"),
    ("property-wrong-type", vault(properties={"rbac": "no"}), "The vault property 'rbac' of 'myvault'"),
    ("property-int-as-bool", vault(properties={"retention_days": True}), "'retention_days'"),
]


@pytest.mark.parametrize(("data", "message"), [(d, m) for _, d, m in BAD_SEEDS], ids=[i for i, _, _ in BAD_SEEDS])
def test_seed_malformed_keys_certificates_and_properties_raise_seed_error(data: Any, message: str) -> None:
    with pytest.raises(SeedError) as caught:
        FakeKeyVault().seed(data)
    assert message in str(caught.value)


def test_seed_error_from_an_operation_chains_the_service_error() -> None:
    with pytest.raises(SeedError) as caught:
        FakeKeyVault().seed(vault(keys={"k": {"kty": "DSA"}}))
    assert type(caught.value.__cause__).__name__ == "ServiceError"


def test_seed_with_named_versions_leaves_the_fakes_id_generator_in_place() -> None:
    fake = FakeKeyVault()
    ids = fake.ids
    fake.seed(vault(keys={"k": {"kty": "EC", "version": "ab" * 16}}))
    assert fake.ids is ids
    with pytest.raises(SeedError):
        fake.seed(vault(keys={"k2": {"kty": "DSA", "version": "cd" * 16}}))
    assert fake.ids is ids


def test_seed_managed_hsm_pool_is_activated_and_holds_oct_keys() -> None:
    fake = FakeKeyVault()
    fake.seed({"vaults": {"https://mypool.managedhsm.azure.net": {"keys": {"aes": {"kty": "oct-HSM", "size": 256}}}}})
    pool = fake.vault("https://mypool.managedhsm.azure.net")
    assert pool.access.security_domain_activated is True
    [entry] = fake.dump()["vaults"]["mypool.managedhsm.azure.net"]["keys"]["aes"]["versions"]
    assert entry["jwk"]["kty"] == "oct-HSM"


def test_dump_leaves_certificate_backing_objects_to_the_certificate() -> None:
    fake = FakeKeyVault()
    fake.seed(vault(secrets={"plain": "v"}, keys={"k": {"kty": "EC"}}, certificates={"tls": {"subject": "CN=x"}}))
    dumped = fake.dump()["vaults"]["myvault.vault.azure.net"]
    assert set(dumped["secrets"]) == {"plain"}
    assert set(dumped["keys"]) == {"k"}
    assert set(dumped["certificates"]) == {"tls"}


def test_seed_named_certificate_versions_keep_their_ids_without_drawing_on_the_generator() -> None:
    made = FakeKeyVault(ids=SequentialIds())
    made.seed(vault(certificates={"made": {"subject": "CN=made", "versions": [{"version": "ab" * 16}, {}]}}))
    [named, drawn] = made.dump()["vaults"]["myvault.vault.azure.net"]["certificates"]["made"]["versions"]
    assert (named["version"], drawn["version"]) == ("ab" * 16, f"{1:032x}")

    imported = FakeKeyVault(ids=SequentialIds())
    imported.seed(vault(certificates={"imported": {"pfx": named["pfx"], "version": "CD" * 16}}))
    [entry] = imported.dump()["vaults"]["myvault.vault.azure.net"]["certificates"]["imported"]["versions"]
    assert entry["version"] == "cd" * 16
    assert imported.ids.new_version() == f"{1:032x}"
