"""Soft delete, recover, purge, backup/restore, rotation and rotation policies through the official KeyClient."""

# The fixtures are imported from keys_support; test parameters of the same name are pytest's injection.
# ruff: noqa: F811

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.keys import JsonWebKey, KeyRotationLifetimeAction, KeyRotationPolicy, KeyRotationPolicyAction
from cryptography.hazmat.primitives.asymmetric import rsa

from kvconfig.crypto import KeyMaterial
from kvconfig.crypto._jwk import b64url_decode
from kvconfig.fake.keys.rotation import rotation_notifications

from .keys_support import (
    HSM_URL,
    VAULT_URL,
    KeysUnderTest,
    kh,  # noqa: F401
    kh_clock,  # noqa: F401
    kh_versions,  # noqa: F401
)


async def test_delete_get_deleted_list_recover_and_purge(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    name = kh.name()
    key = await kh.call(client.create_rsa_key, name)
    deleted = await kh.delete(client, name)
    assert deleted.recovery_id == f"{VAULT_URL}/deletedkeys/{name}"
    assert deleted.deleted_date is not None
    assert (deleted.scheduled_purge_date - deleted.deleted_date).days == 90
    assert deleted.key.n == key.key.n
    with pytest.raises(ResourceNotFoundError):
        await kh.call(client.get_key, name)
    got = await kh.call(client.get_deleted_key, name)
    assert got.id == key.id
    listed = await kh.collect(client.list_deleted_keys())
    assert [item.name for item in listed] == [name]
    assert listed[0].recovery_id == deleted.recovery_id
    recovered = await kh.recover(client, name)
    assert recovered.id == key.id
    await kh.delete(client, name)
    await kh.call(client.purge_deleted_key, name)
    with pytest.raises(ResourceNotFoundError) as caught:
        await kh.call(client.get_deleted_key, name)
    assert caught.value.error.message == f"Deleted Key not found: {name}"


async def test_recover_of_a_key_that_is_not_deleted_is_not_found(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    with pytest.raises(ResourceNotFoundError) as caught:
        await kh.call(client._client.recover_deleted_key, "missing")
    assert caught.value.error.code == "KeyNotFound"


async def test_purge_is_refused_with_purge_protection(kh: KeysUnderTest) -> None:
    kh.fake.create_vault("https://protected.vault.azure.net", purge_protection=True)
    client = kh.key_client("https://protected.vault.azure.net")
    name = kh.name()
    await kh.call(client.create_ec_key, name)
    deleted = await kh.delete(client, name)
    assert deleted.properties.recovery_level == "Recoverable"
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.purge_deleted_key, name)
    assert caught.value.status_code == 403


async def test_backup_and_restore_keep_every_version_and_its_id(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    name = kh.name()
    first = await kh.call(client.create_ec_key, name)
    second = await kh.call(client.create_ec_key, name, tags={"v": "2"})
    blob = await kh.call(client.backup_key, name)
    assert blob.startswith(b"&AzureKeyVaultKeyBackupV1.microsoft.com")
    await kh.delete(client, name)
    await kh.call(client.purge_deleted_key, name)
    restored = await kh.call(client.restore_key_backup, blob)
    assert restored.id == second.id
    assert restored.key.x == second.key.x
    old = await kh.call(client.get_key, name, first.properties.version)
    assert old.key.x == first.key.x
    with pytest.raises(ResourceExistsError):
        await kh.call(client.restore_key_backup, blob)
    other = kh.key_client("https://othervault.vault.azure.net")
    moved = await kh.call(other.restore_key_backup, blob)
    assert moved.id == f"https://othervault.vault.azure.net/keys/{name}/{second.properties.version}"


async def test_restore_of_a_tampered_blob_is_malformed(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    name = kh.name()
    await kh.call(client.create_ec_key, name)
    blob = bytearray(await kh.call(client.backup_key, name))
    blob[-5] ^= 1
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.restore_key_backup, bytes(blob))
    assert caught.value.status_code == 400
    assert caught.value.error.code == "Malformed backup blob"


@pytest.mark.parametrize(("kind", "check"), [("rsa", "n"), ("ec", "x")])
async def test_rotate_makes_a_new_version_of_the_same_type_and_size(kh: KeysUnderTest, kind: str, check: str) -> None:
    client = kh.key_client()
    name = kh.name()
    if kind == "rsa":
        first = await kh.call(client.create_rsa_key, name, size=3072, key_operations=["sign"])
    else:
        first = await kh.call(client.create_ec_key, name, curve="P-384", tags={"t": "1"})
    rotated = await kh.call(client.rotate_key, name)
    assert rotated.properties.version != first.properties.version
    assert rotated.key_type == first.key_type
    assert rotated.key_operations == first.key_operations
    assert rotated.properties.tags == first.properties.tags
    assert getattr(rotated.key, check) != getattr(first.key, check)
    assert len(getattr(rotated.key, check)) == len(getattr(first.key, check))
    if kind == "rsa":
        assert rotated.key.e == first.key.e
    else:
        assert rotated.key.crv == "P-384"
    latest = await kh.call(client.get_key, name)
    assert latest.id == rotated.id


async def test_rotation_operations_need_api_version_7_3(kh_versions: KeysUnderTest) -> None:
    kh = kh_versions
    client = kh.key_client()
    name = kh.name()
    await kh.call(client.create_ec_key, name)
    if kh.api_version in ("7.0", "7.1", "7.2", "2016-10-01"):
        with pytest.raises((HttpResponseError, NotImplementedError, ValueError)):
            await kh.call(client.rotate_key, name)
    else:
        rotated = await kh.call(client.rotate_key, name)
        assert rotated.name == name


async def test_rotation_policy_defaults_and_round_trips(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    name = kh.name()
    await kh.call(client.create_ec_key, name)
    default = await kh.call(client.get_key_rotation_policy, name)
    assert default.id == f"{VAULT_URL}/keys/{name}/rotationpolicy"
    assert [(a.action, a.time_before_expiry) for a in default.lifetime_actions] == [
        (KeyRotationPolicyAction.notify, "P30D")
    ]
    actions = [KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P90D")]
    policy = await kh.call(
        client.update_key_rotation_policy, name, KeyRotationPolicy(), lifetime_actions=actions, expires_in="P2Y"
    )
    assert policy.expires_in == "P2Y"
    assert [(a.action, a.time_after_create, a.time_before_expiry) for a in policy.lifetime_actions] == [
        (KeyRotationPolicyAction.rotate, "P90D", None),
        (KeyRotationPolicyAction.notify, None, "P30D"),
    ]
    assert policy.created_on is not None
    again = await kh.call(client.get_key_rotation_policy, name)
    assert again.expires_in == "P2Y"
    assert len(again.lifetime_actions) == 2


async def test_rotation_policy_with_an_invalid_duration_is_refused(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    name = kh.name()
    await kh.call(client.create_ec_key, name)
    bad = [KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="90 days")]
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.update_key_rotation_policy, name, KeyRotationPolicy(), lifetime_actions=bad)
    assert caught.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        await kh.call(client.get_key_rotation_policy, "missing")


async def test_rotation_policy_rotates_on_the_fake_clock_and_sets_expiry(kh_clock: KeysUnderTest) -> None:
    # Time acts before each request (and on fake.tick()): moving the clock is enough.
    kh = kh_clock
    client = kh.key_client()
    name = kh.name()
    first = await kh.call(client.create_ec_key, name)
    actions = [KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P90D")]
    await kh.call(
        client.update_key_rotation_policy, name, KeyRotationPolicy(), lifetime_actions=actions, expires_in="P1Y"
    )
    kh.fake.clock.advance(days=89)
    assert (await kh.call(client.get_key, name)).id == first.id
    kh.fake.clock.advance(days=2)
    rotated = await kh.call(client.get_key, name)
    assert rotated.id != first.id
    assert rotated.properties.expires_on is not None
    life = rotated.properties.expires_on - rotated.properties.created_on
    assert life.days == 365
    assert (rotated.properties.created_on - first.properties.created_on).days == 90
    kh.fake.clock.advance(days=200)  # two more due dates passed: both versions are made, each when it was due
    versions = await kh.collect(client.list_properties_of_key_versions(name))
    assert len(versions) == 4


async def test_time_before_expiry_rotates_and_notify_is_recorded(kh_clock: KeysUnderTest) -> None:
    kh = kh_clock
    client = kh.key_client()
    name = kh.name()
    now = kh.fake.clock.now()
    first = await kh.call(
        client.create_rsa_key, name, expires_on=datetime.fromtimestamp(now + 60 * 86400, tz=timezone.utc)
    )
    actions = [KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_before_expiry="P7D")]
    await kh.call(
        client.update_key_rotation_policy, name, KeyRotationPolicy(), lifetime_actions=actions, expires_in="P90D"
    )
    kh.fake.clock.advance(days=31)  # inside Notify's 30 days before expiry, not yet Rotate's 7 days
    assert (await kh.call(client.get_key, name)).id == first.id
    assert [(n, v) for n, v, _ in rotation_notifications(kh.fake.vault(VAULT_URL))] == [
        (name, first.properties.version)
    ]
    kh.fake.clock.advance(days=23)
    rotated = await kh.call(client.get_key, name)
    assert rotated.id != first.id


async def test_managed_hsm_rotation_policy_has_no_notify(kh: KeysUnderTest) -> None:
    client = kh.key_client(HSM_URL)
    name = kh.name()
    await kh.call(client.create_rsa_key, name, hardware_protected=True)
    default = await kh.call(client.get_key_rotation_policy, name)
    assert default.lifetime_actions == []
    notify = [KeyRotationLifetimeAction(KeyRotationPolicyAction.notify, time_before_expiry="P30D")]
    with pytest.raises(HttpResponseError):
        await kh.call(client.update_key_rotation_policy, name, KeyRotationPolicy(), lifetime_actions=notify)


async def test_an_imported_key_of_a_size_create_key_refuses_is_not_rotated_and_never_a_500(
    kh_clock: KeysUnderTest,
) -> None:
    kh = kh_clock
    client = kh.key_client()
    name = kh.name()
    small = KeyMaterial(rsa.generate_private_key(65537, 1024), kty="RSA").private_jwk()
    members = {member: b64url_decode(str(small[member])) for member in ("n", "e", "d", "p", "q", "dp", "dq", "qi")}
    imported = await kh.call(client.import_key, name, JsonWebKey(kty="RSA", **members))
    with pytest.raises(HttpResponseError) as refused:
        await kh.call(client.rotate_key, name)
    assert refused.value.status_code == 400
    actions = [KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P30D")]
    await kh.call(client.update_key_rotation_policy, name, KeyRotationPolicy(), lifetime_actions=actions)
    kh.fake.clock.advance(days=31)
    assert (await kh.call(client.get_key, name)).id == imported.id
    assert kh.fake.unhandled_errors.count == 0
