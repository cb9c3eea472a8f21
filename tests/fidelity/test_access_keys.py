"""Access control on keys through the official KeyClient and CryptographyClient (sync and async): the Key Vault RBAC
roles with their real data actions, key-scoped assignments, role removal, and access policies per key permission.

The CryptographyClient GETs the key before its first operation and then does the public-key operations (encrypt,
verify, wrap) locally; only the private-key ones (decrypt, sign, unwrap) reach the vault. When that GET answers 403
it stops trying and sends every operation to the vault (sdk-behaviour.md §4). The tests assert both behaviours.
"""

# The fixtures are imported from keys_support; test parameters of the same name are pytest's injection.
# ruff: noqa: F811

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from azure.keyvault.keys import ApiVersion, KeyRotationLifetimeAction, KeyRotationPolicy, KeyRotationPolicyAction
from azure.keyvault.keys.crypto import EncryptionAlgorithm, KeyWrapAlgorithm, SignatureAlgorithm
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from .keys_access_support import credential_as, crypto_client_as, denied, inner_code, key_client_as, rsa_jwk
from .keys_support import VAULT_URL, KeysUnderTest, _handle, kh  # noqa: F401

DIGEST = hashlib.sha256(b"payload").digest()
PLAINTEXT = b"attack at dawn"
CEK = bytes(range(32))
KV = "Microsoft.KeyVault/vaults"


async def _officer_key(kh: KeysUnderTest, name: str | None = None) -> Any:
    """An RSA key imported by a Crypto Officer (enforcement starts with this first assignment)."""
    kh.fake.vault(VAULT_URL).assign_role("officer", "Key Vault Crypto Officer")
    officer = key_client_as(kh, "officer", VAULT_URL)
    return await kh.call(officer.import_key, name or kh.name(), rsa_jwk())


def _assert_rbac_denied(error: Any, action: str) -> None:
    assert error.status_code == 403
    assert error.error.code == "Forbidden"
    assert inner_code(error) == "ForbiddenByRbac"
    assert f"Action: '{KV}/{action}'" in error.error.message


async def _round_trip(kh: KeysUnderTest, crypto: Any) -> None:
    """Every operation a Crypto User may run, checked end to end."""
    encrypted = await kh.call(crypto.encrypt, EncryptionAlgorithm.rsa_oaep_256, PLAINTEXT)
    assert (
        await kh.call(crypto.decrypt, EncryptionAlgorithm.rsa_oaep_256, encrypted.ciphertext)
    ).plaintext == PLAINTEXT
    signed = await kh.call(crypto.sign, SignatureAlgorithm.rs256, DIGEST)
    assert (await kh.call(crypto.verify, SignatureAlgorithm.rs256, DIGEST, signed.signature)).is_valid
    wrapped = await kh.call(crypto.wrap_key, KeyWrapAlgorithm.rsa_oaep_256, CEK)
    assert (await kh.call(crypto.unwrap_key, KeyWrapAlgorithm.rsa_oaep_256, wrapped.encrypted_key)).key == CEK


async def test_crypto_user_reads_and_uses_keys_but_cannot_create_delete_or_rotate(kh: KeysUnderTest) -> None:
    key = await _officer_key(kh)
    kh.fake.vault(VAULT_URL).assign_role("app", "Key Vault Crypto User")
    app = key_client_as(kh, "app", VAULT_URL)

    assert (await kh.call(app.get_key, key.name)).id == key.id
    assert [item.name for item in await kh.collect(app.list_properties_of_keys())] == [key.name]
    await _round_trip(kh, crypto_client_as(kh, "app", f"{VAULT_URL}/keys/{key.name}"))
    await _round_trip(kh, app.get_cryptography_client(key.name))
    # keys/update/action and keys/backup/action are in the role.
    updated = await kh.call(app.update_key_properties, key.name, tags={"owner": "app"})
    assert updated.properties.tags == {"owner": "app"}
    assert await kh.call(app.backup_key, key.name)

    _assert_rbac_denied(await denied(kh, app.create_ec_key, kh.name()), "keys/create/action")
    _assert_rbac_denied(await denied(kh, app.import_key, kh.name(), rsa_jwk()), "keys/import/action")
    _assert_rbac_denied(await denied(kh, app.rotate_key, key.name), "keys/rotate/action")
    _assert_rbac_denied(await denied(kh, app.get_key_rotation_policy, key.name), "keyrotationpolicies/read")
    delete = app.delete_key if kh.is_async else app.begin_delete_key
    _assert_rbac_denied(await denied(kh, delete, key.name), "keys/delete")
    assert (await kh.call(app.get_key, key.name)).id == key.id


async def test_crypto_officer_manages_keys_rotation_policies_and_soft_delete(kh: KeysUnderTest) -> None:
    kh.fake.vault(VAULT_URL).assign_role("officer", "Key Vault Crypto Officer")
    officer = key_client_as(kh, "officer", VAULT_URL)
    name = kh.name()
    key = await kh.call(officer.create_ec_key, name, curve="P-256")
    signed = await kh.call(officer.get_cryptography_client(name).sign, SignatureAlgorithm.es256, DIGEST)
    assert signed.key_id == key.id
    policy = await kh.call(
        officer.update_key_rotation_policy,
        name,
        KeyRotationPolicy(
            lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P90D")]
        ),
    )
    assert (await kh.call(officer.get_key_rotation_policy, name)).id == policy.id
    rotated = await kh.call(officer.rotate_key, name)
    assert rotated.properties.version != key.properties.version
    await kh.delete(officer, name)
    assert (await kh.call(officer.get_deleted_key, name)).name == name
    await kh.recover(officer, name)
    await kh.delete(officer, name)
    await kh.call(officer.purge_deleted_key, name)
    assert await kh.collect(officer.list_deleted_keys()) == []
    # The role holds keys and rotation policies only: not the vault's secrets.
    kh.fake.set_secret(VAULT_URL, "db", "v")
    secrets_cls = secrets_aio.SecretClient if kh.is_async else SecretClient
    secrets = secrets_cls(VAULT_URL, credential_as(kh, "officer"), **kh._options({}))
    kh._closeables.append(secrets)
    _assert_rbac_denied(await denied(kh, secrets.get_secret, "db"), "secrets/getSecret/action")


async def test_crypto_service_encryption_user_gets_wraps_and_unwraps_only(kh: KeysUnderTest) -> None:
    key = await _officer_key(kh)
    kh.fake.vault(VAULT_URL).assign_role("storage", "Key Vault Crypto Service Encryption User")
    client = key_client_as(kh, "storage", VAULT_URL)
    crypto = crypto_client_as(kh, "storage", key.id)
    kh.fake.audit.clear()

    wrapped = await kh.call(crypto.wrap_key, KeyWrapAlgorithm.rsa_oaep, CEK)
    assert (await kh.call(crypto.unwrap_key, KeyWrapAlgorithm.rsa_oaep, wrapped.encrypted_key)).key == CEK
    assert (await kh.call(client.get_key, key.name)).id == key.id
    # Encrypting needs only the public key: the SDK does it locally, the vault never sees it.
    encrypted = await kh.call(crypto.encrypt, EncryptionAlgorithm.rsa_oaep, PLAINTEXT)
    assert kh.fake.audit.records(operation="KeyEncrypt") == []
    assert kh.fake.audit.records(operation="KeyWrap") == []
    _assert_rbac_denied(
        await denied(kh, crypto.decrypt, EncryptionAlgorithm.rsa_oaep, encrypted.ciphertext), "keys/decrypt/action"
    )
    _assert_rbac_denied(await denied(kh, crypto.sign, SignatureAlgorithm.rs256, DIGEST), "keys/sign/action")
    _assert_rbac_denied(await denied(kh, client.update_key_properties, key.name, enabled=False), "keys/update/action")
    _assert_rbac_denied(await denied(kh, client.create_ec_key, kh.name()), "keys/create/action")


async def test_key_scoped_assignment_grants_that_key_only(kh: KeysUnderTest) -> None:
    mine = await _officer_key(kh)
    other = await _officer_key(kh)
    vault = kh.fake.vault(VAULT_URL)
    vault.assign_role("app", "Key Vault Crypto User", scope=f"/keys/{mine.name}")
    app = key_client_as(kh, "app", VAULT_URL)

    assert (await kh.call(app.get_key, mine.name)).id == mine.id
    signed = await kh.call(crypto_client_as(kh, "app", mine.id).sign, SignatureAlgorithm.rs256, DIGEST)
    assert signed.key_id == mine.id
    error = await denied(kh, app.get_key, other.name)
    _assert_rbac_denied(error, "keys/read")
    assert f"Resource: '{vault.properties.resource_id.lower()}/keys/{other.name}'" in error.error.message  # type: ignore[union-attr]
    _assert_rbac_denied(
        await denied(kh, crypto_client_as(kh, "app", other.id).sign, SignatureAlgorithm.rs256, DIGEST),
        "keys/sign/action",
    )
    # Listing is a vault-scope read: a key-scoped role does not give it.
    with pytest.raises(Exception) as listing:
        await kh.collect(app.list_properties_of_keys())
    assert getattr(listing.value, "status_code", None) == 403


async def test_reader_lists_and_reads_keys_but_every_crypto_operation_is_denied(kh: KeysUnderTest) -> None:
    key = await _officer_key(kh)
    kh.fake.vault(VAULT_URL).assign_role("auditor", "Key Vault Reader")
    reader = key_client_as(kh, "auditor", VAULT_URL)
    crypto = crypto_client_as(kh, "auditor", key.id)

    assert [item.name for item in await kh.collect(reader.list_properties_of_keys())] == [key.name]
    assert len(await kh.collect(reader.list_properties_of_key_versions(key.name))) == 1
    assert (await kh.call(reader.get_key, key.name)).key.n == key.key.n
    _assert_rbac_denied(await denied(kh, crypto.sign, SignatureAlgorithm.rs256, DIGEST), "keys/sign/action")
    _assert_rbac_denied(
        await denied(kh, crypto.decrypt, EncryptionAlgorithm.rsa_oaep, b"\0" * 256), "keys/decrypt/action"
    )
    _assert_rbac_denied(
        await denied(kh, crypto.unwrap_key, KeyWrapAlgorithm.rsa_oaep, b"\0" * 256), "keys/unwrap/action"
    )
    _assert_rbac_denied(await denied(kh, reader.create_ec_key, kh.name()), "keys/create/action")
    _assert_rbac_denied(await denied(kh, reader.backup_key, key.name), "keys/backup/action")


async def test_removing_a_role_takes_effect_on_the_next_request(kh: KeysUnderTest) -> None:
    key = await _officer_key(kh)
    vault = kh.fake.vault(VAULT_URL)
    grant = vault.assign_role("app", "Key Vault Crypto User")
    crypto = crypto_client_as(kh, "app", key.id)
    assert (await kh.call(crypto.sign, SignatureAlgorithm.rs256, DIGEST)).key_id == key.id
    grant.remove()
    _assert_rbac_denied(await denied(kh, crypto.sign, SignatureAlgorithm.rs256, DIGEST), "keys/sign/action")
    vault.assign_role("app", "Key Vault Crypto User")
    assert (await kh.call(crypto.sign, SignatureAlgorithm.rs256, DIGEST)).key_id == key.id
    assert vault.remove_role("app") == 1
    _assert_rbac_denied(await denied(kh, crypto.sign, SignatureAlgorithm.rs256, DIGEST), "keys/sign/action")


# -- access policies ------------------------------------------------------------------------------------------------

POLICY_URL = "https://keyspolicies.vault.azure.net"


async def _policy_vault_key(kh: KeysUnderTest, **permissions: list[str]) -> Any:
    kh.fake.create_vault(POLICY_URL, rbac=False, access_policies={"admin": {"keys": ["all"]}, "app": permissions})
    admin = key_client_as(kh, "admin", POLICY_URL)
    return await kh.call(admin.import_key, kh.name(), rsa_jwk())


def _assert_policy_denied(error: Any, permission: str) -> None:
    assert error.status_code == 403
    assert error.error.code == "Forbidden"
    assert inner_code(error) == "AccessDenied"
    assert f"does not have keys {permission} permission on key vault 'keyspolicies;location=" in error.error.message


async def test_policy_sign_without_get_makes_the_sdk_go_remote_after_one_forbidden_get(kh: KeysUnderTest) -> None:
    key = await _policy_vault_key(kh, keys=["sign"])
    kh.fake.audit.clear()
    crypto = crypto_client_as(kh, "app", key.id)

    signed = await kh.call(crypto.sign, SignatureAlgorithm.rs256, DIGEST)
    assert signed.key_id == key.id
    await kh.call(crypto.sign, SignatureAlgorithm.rs256, DIGEST)
    # The public-key operations go remote too now, and the policy has neither verify nor encrypt.
    _assert_policy_denied(await denied(kh, crypto.verify, SignatureAlgorithm.rs256, DIGEST, signed.signature), "verify")
    _assert_policy_denied(await denied(kh, crypto.encrypt, EncryptionAlgorithm.rsa_oaep, PLAINTEXT), "encrypt")
    gets = kh.fake.audit.records(operation="KeyGet", identity="app")
    assert [(record.status, record.properties["isAccessPolicyMatch"]) for record in gets] == [(403, False)]
    assert [record.status for record in kh.fake.audit.records(operation="KeySign", identity="app")] == [200, 200]


async def test_policy_sign_without_get_works_from_a_versionless_key_id(kh: KeysUnderTest) -> None:
    key = await _policy_vault_key(kh, keys=["sign"])
    crypto = crypto_client_as(kh, "app", f"{POLICY_URL}/keys/{key.name}")
    signed = await kh.call(crypto.sign, SignatureAlgorithm.rs256, DIGEST)
    assert signed.key_id is not None
    assert signed.key_id.startswith(f"{POLICY_URL}/keys/{key.name}")


async def test_policy_get_and_list_read_keys_but_manage_nothing(kh: KeysUnderTest) -> None:
    key = await _policy_vault_key(kh, keys=["get", "list"])
    app = key_client_as(kh, "app", POLICY_URL)
    assert (await kh.call(app.get_key, key.name)).id == key.id
    assert [item.name for item in await kh.collect(app.list_properties_of_keys())] == [key.name]
    _assert_policy_denied(await denied(kh, app.create_ec_key, kh.name()), "create")
    _assert_policy_denied(await denied(kh, app.update_key_properties, key.name, enabled=False), "update")
    _assert_policy_denied(await denied(kh, app.rotate_key, key.name), "rotate")
    _assert_policy_denied(await denied(kh, app.get_key_rotation_policy, key.name), "getrotationpolicy")
    crypto = crypto_client_as(kh, "app", key.id)
    _assert_policy_denied(await denied(kh, crypto.sign, SignatureAlgorithm.rs256, DIGEST), "sign")


async def test_policy_wrap_and_unwrap_with_get(kh: KeysUnderTest) -> None:
    key = await _policy_vault_key(kh, keys=["get", "wrapKey", "unwrapKey"])
    crypto = crypto_client_as(kh, "app", key.id)
    wrapped = await kh.call(crypto.wrap_key, KeyWrapAlgorithm.rsa_oaep, CEK)
    assert (await kh.call(crypto.unwrap_key, KeyWrapAlgorithm.rsa_oaep, wrapped.encrypted_key)).key == CEK
    _assert_policy_denied(await denied(kh, crypto.decrypt, EncryptionAlgorithm.rsa_oaep, b"\0" * 256), "decrypt")


async def test_removing_an_access_policy_takes_effect_at_once(kh: KeysUnderTest) -> None:
    key = await _policy_vault_key(kh, keys=["get"])
    app = key_client_as(kh, "app", POLICY_URL)
    assert (await kh.call(app.get_key, key.name)).id == key.id
    assert kh.fake.vault(POLICY_URL).access.remove_access_policy("app")
    _assert_policy_denied(await denied(kh, app.get_key, key.name), "get")


# -- across api-versions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api_version", [ApiVersion.V7_0, ApiVersion.V7_3, ApiVersion.V7_5, ApiVersion.V2025_07_01])
async def test_crypto_user_signs_and_is_denied_create_at_every_api_version(api_version: ApiVersion) -> None:
    async for kh_ in _handle(False, api_version.value):
        key = await _officer_key(kh_)
        kh_.fake.vault(VAULT_URL).assign_role("app", "Key Vault Crypto User")
        app = key_client_as(kh_, "app", VAULT_URL)
        signed = await kh_.call(app.get_cryptography_client(key.name).sign, SignatureAlgorithm.rs256, DIGEST)
        assert signed.key_id == key.id
        _assert_rbac_denied(await denied(kh_, app.create_ec_key, kh_.name()), "keys/create/action")
        records = kh_.fake.audit.records(operation="KeySign", identity="app")
        assert [record.operation_version for record in records] == [api_version.value]
