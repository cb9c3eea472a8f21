"""Managed HSM pools through the official KeyClient and CryptographyClient (sync and async): HSM key types, AES-GCM
remote encryption, random bytes, key attestation, security-domain activation, local RBAC roles, keys only."""

# The fixtures are imported from keys_support; test parameters of the same name are pytest's injection.
# ruff: noqa: F811

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.keys import ApiVersion, KeyType
from azure.keyvault.keys.crypto import EncryptionAlgorithm, SignatureAlgorithm
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from .keys_access_support import credential_as, crypto_client_as, denied, inner_code, key_client_as
from .keys_support import KeysUnderTest, kh  # noqa: F401

POOL = "contosohsm"
POOL_URL = f"https://{POOL}.managedhsm.azure.net"
HSM = "Microsoft.KeyVault/managedHsm"
DIGEST = hashlib.sha256(b"payload").digest()


def _pool(kh: KeysUnderTest, *, activated: bool = True) -> Any:
    return kh.fake.create_vault(POOL, cloud="managedhsm.azure.net", activated=activated)


def _assert_hsm_denied(error: Any, action: str) -> None:
    assert error.status_code == 403
    assert inner_code(error) == "ForbiddenByRbac"
    assert f"Action: '{HSM}/{action}'" in error.error.message


async def test_crypto_user_makes_hsm_keys_and_uses_them(kh: KeysUnderTest) -> None:
    _pool(kh).assign_role("app", "Managed HSM Crypto User")
    app = key_client_as(kh, "app", POOL_URL)

    ec = await kh.call(app.create_ec_key, kh.name(), curve="P-256", hardware_protected=True)
    assert ec.key_type == KeyType.ec_hsm
    assert ec.id.startswith(f"{POOL_URL}/keys/")
    oct_key = await kh.call(app.create_oct_key, kh.name(), size=256, hardware_protected=True)
    assert oct_key.key_type == KeyType.oct_hsm
    assert oct_key.key.k is None  # a symmetric key never leaves the HSM
    rsa_key = await kh.call(app.create_rsa_key, kh.name(), size=2048, hardware_protected=True)
    assert rsa_key.key_type == KeyType.rsa_hsm
    names = {item.name for item in await kh.collect(app.list_properties_of_keys())}
    assert names == {ec.name, oct_key.name, rsa_key.name}

    aes = crypto_client_as(kh, "app", oct_key.id)
    encrypted = await kh.call(
        aes.encrypt, EncryptionAlgorithm.a256_gcm, b"secret message", additional_authenticated_data=b"aad"
    )
    assert len(encrypted.iv) == 12
    assert encrypted.tag
    decrypted = await kh.call(
        aes.decrypt,
        EncryptionAlgorithm.a256_gcm,
        encrypted.ciphertext,
        iv=encrypted.iv,
        authentication_tag=encrypted.tag,
        additional_authenticated_data=b"aad",
    )
    assert decrypted.plaintext == b"secret message"
    signer = crypto_client_as(kh, "app", ec.id)
    signed = await kh.call(signer.sign, SignatureAlgorithm.es256, DIGEST)
    assert (await kh.call(signer.verify, SignatureAlgorithm.es256, DIGEST, signed.signature)).is_valid

    random = await kh.call(app.get_random_bytes, 32)
    assert len(random) == 32
    # Crypto User may delete but neither read deleted keys nor purge: the Crypto Officer's part.
    if kh.is_async:
        await app.delete_key(ec.name, _polling_interval=0)
    else:
        app.begin_delete_key(ec.name, _polling_interval=0).wait()
    _assert_hsm_denied(await denied(kh, app.purge_deleted_key, ec.name), "keys/deletedKeys/delete")
    _assert_hsm_denied(await denied(kh, app.get_deleted_key, ec.name), "keys/deletedKeys/read/action")


async def test_key_attestation_on_a_pool_needs_api_version_7_6(kh: KeysUnderTest) -> None:
    _pool(kh).assign_role("app", "Managed HSM Crypto User")
    app = key_client_as(kh, "app", POOL_URL, api_version=ApiVersion.V7_6)
    key = await kh.call(app.create_ec_key, kh.name(), curve="P-256", hardware_protected=True)
    attested = await kh.call(app.get_key_attestation, key.name)
    assert attested.id == key.id
    assert attested.properties.attestation.certificate_pem_file
    old = key_client_as(kh, "app", POOL_URL, api_version=ApiVersion.V7_5)
    with pytest.raises(ValueError, match=r"7\.6"):
        await kh.call(old.get_key_attestation, key.name)


async def test_a_pool_answers_403_until_its_security_domain_is_activated(kh: KeysUnderTest) -> None:
    pool = _pool(kh, activated=False)
    pool.assign_role("app", "Managed HSM Crypto User")
    app = key_client_as(kh, "app", POOL_URL)
    for method, args in (
        (app.create_ec_key, (kh.name(),)),
        (app.get_key, ("missing",)),
        (app.get_random_bytes, (8,)),
    ):
        error = await denied(kh, method, *args)
        assert error.status_code == 403
        assert inner_code(error) == "SecurityDomainNotActivated"
        assert POOL in error.error.message  # type: ignore[union-attr]
    assert {record.status for record in kh.fake.audit.records(vault=POOL, identity="app")} == {403}

    kh.fake.activate_security_domain(POOL)
    key = await kh.call(app.create_ec_key, kh.name(), hardware_protected=True)
    assert (await kh.call(app.get_key, key.name)).id == key.id
    with pytest.raises(ResourceNotFoundError):
        await kh.call(app.get_key, "missing")


async def test_local_rbac_officer_and_administrator_cannot_use_or_create_keys(kh: KeysUnderTest) -> None:
    pool = _pool(kh)
    pool.assign_role("app", "Managed HSM Crypto User")
    pool.assign_role("officer", "Managed HSM Crypto Officer")
    pool.assign_role("admin", "Managed HSM Administrator")
    app = key_client_as(kh, "app", POOL_URL)
    officer = key_client_as(kh, "officer", POOL_URL)
    admin = key_client_as(kh, "admin", POOL_URL)
    key = await kh.call(app.create_ec_key, kh.name(), hardware_protected=True)

    _assert_hsm_denied(await denied(kh, officer.create_ec_key, kh.name()), "keys/create")
    _assert_hsm_denied(await denied(kh, officer.get_key, key.name), "keys/read/action")
    _assert_hsm_denied(
        await denied(kh, crypto_client_as(kh, "officer", key.id).sign, SignatureAlgorithm.es256, DIGEST),
        "keys/sign/action",
    )
    _assert_hsm_denied(await denied(kh, admin.create_ec_key, kh.name()), "keys/create")
    _assert_hsm_denied(await denied(kh, admin.get_random_bytes, 8), "rng/action")

    # The officer recovers and purges what a Crypto User deleted.
    if kh.is_async:
        await app.delete_key(key.name, _polling_interval=0)
        await officer.recover_deleted_key(key.name, _polling_interval=0)
    else:
        app.begin_delete_key(key.name, _polling_interval=0).wait()
        officer.begin_recover_deleted_key(key.name, _polling_interval=0).result()
    assert (await kh.call(app.get_key, key.name)).id == key.id
    if kh.is_async:
        await app.delete_key(key.name, _polling_interval=0)
    else:
        app.begin_delete_key(key.name, _polling_interval=0).wait()
    assert [item.name for item in await kh.collect(officer.list_deleted_keys())] == [key.name]
    await kh.call(officer.purge_deleted_key, key.name)
    assert await kh.collect(officer.list_deleted_keys()) == []


async def test_key_scoped_pool_role_and_key_vault_roles_are_refused(kh: KeysUnderTest) -> None:
    pool = _pool(kh)
    pool.assign_role("maker", "Managed HSM Crypto User", scope="/keys")
    maker = key_client_as(kh, "maker", POOL_URL)
    mine = await kh.call(maker.create_ec_key, kh.name(), hardware_protected=True)
    other = await kh.call(maker.create_ec_key, kh.name(), hardware_protected=True)
    pool.assign_role("app", "Managed HSM Crypto User", scope=f"/keys/{mine.name}")
    app = key_client_as(kh, "app", POOL_URL)
    assert (await kh.call(app.get_key, mine.name)).id == mine.id
    _assert_hsm_denied(await denied(kh, app.get_key, other.name), "keys/read/action")
    with pytest.raises(ValueError, match="cannot be assigned on a Managed HSM pool"):
        pool.assign_role("app", "Key Vault Crypto User")
    with pytest.raises(ValueError, match="Managed HSM role scope"):
        pool.assign_role("app", "Managed HSM Crypto User", scope="/secrets/s1")
    with pytest.raises(ValueError, match="no access policies"):
        pool.set_access_policy("app", keys=["get"])


async def test_a_pool_serves_keys_only(kh: KeysUnderTest) -> None:
    _pool(kh)
    cls = secrets_aio.SecretClient if kh.is_async else SecretClient
    secrets = cls(POOL_URL, credential_as(kh, "app"), **kh._options({}))
    kh._closeables.append(secrets)
    for method, args in ((secrets.set_secret, ("s1", "value")), (secrets.get_secret, ("s1",))):
        with pytest.raises(HttpResponseError) as caught:
            await kh.call(method, *args)
        assert caught.value.status_code == 400
        assert caught.value.error is not None
        assert caught.value.error.code == "BadParameter"
        assert "not supported by this kind of vault (managedhsm)" in caught.value.error.message
    assert kh.fake.vault(POOL, cloud="managedhsm.azure.net").secrets.get("s1") is None
