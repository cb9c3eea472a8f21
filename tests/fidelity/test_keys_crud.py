"""Create, import, get, update and list keys through the official KeyClient, sync and async, at every api-version."""

# The fixtures are imported from keys_support; test parameters of the same name are pytest's injection.
# ruff: noqa: F811

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.keys import JsonWebKey, KeyReleasePolicy
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kvconfig.crypto import generate_key

from .keys_support import (
    HSM_URL,
    PREMIUM_URL,
    VAULT_URL,
    KeysUnderTest,
    kh,  # noqa: F401
    kh_versions,  # noqa: F401
)

VERSION = re.compile(r"^[0-9a-f]{32}$")
RSA_OPS = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
POLICY = json.dumps({"anyOf": [{"allOf": [{"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"}],
                                "authority": "https://attest.example"}], "version": "1.0.0"}).encode()  # fmt: skip


def _b64len(value: bytes | None) -> int:
    return len(value or b"")


async def test_create_rsa_key_returns_public_jwk_with_default_ops_at_every_api_version(
    kh_versions: KeysUnderTest,
) -> None:
    kh = kh_versions
    client = kh.key_client()
    name = kh.name()
    key = await kh.call(client.create_rsa_key, name, size=3072, tags={"env": "test"})
    assert key.name == name
    assert VERSION.match(key.properties.version)
    assert key.id == f"{VAULT_URL}/keys/{name}/{key.properties.version}"
    assert key.key_type == "RSA"
    assert key.key_operations == RSA_OPS
    assert _b64len(key.key.n) == 384
    assert key.key.e == b"\x01\x00\x01"
    assert key.key.d is None
    assert key.properties.tags == {"env": "test"}
    assert key.properties.enabled is True
    assert key.properties.recovery_level == "Recoverable+Purgeable"
    got = await kh.call(client.get_key, name)
    assert got.id == key.id
    assert got.key.n == key.key.n
    versioned = await kh.call(client.get_key, name, key.properties.version)
    assert versioned.id == key.id


@pytest.mark.parametrize(("curve", "length"), [("P-256", 32), ("P-384", 48), ("P-521", 66), ("P-256K", 32)])
async def test_create_ec_key_has_fixed_length_coordinates(kh: KeysUnderTest, curve: str, length: int) -> None:
    client = kh.key_client()
    key = await kh.call(client.create_ec_key, kh.name(), curve=curve)
    assert key.key_type == "EC"
    assert key.key.crv == curve
    assert len(key.key.x) == length
    assert len(key.key.y) == length
    assert key.key_operations == ["sign", "verify"]


async def test_create_rsa_key_with_public_exponent_and_sizes(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    key = await kh.call(client.create_rsa_key, kh.name(), size=2048, public_exponent=3)
    assert key.key.e == b"\x03"
    assert len(key.key.n) == 256
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.create_rsa_key, kh.name(), size=1024)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "BadParameter"


async def test_create_key_with_key_ops_attributes_and_tags(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    nbf = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)
    exp = nbf + timedelta(days=400)
    key = await kh.call(
        client.create_key,
        kh.name(),
        "RSA",
        key_operations=["sign", "verify"],
        enabled=True,
        not_before=nbf,
        expires_on=exp,
        tags={"a": "b"},
    )
    assert key.key_operations == ["sign", "verify"]
    assert key.properties.not_before == nbf
    assert key.properties.expires_on == exp


async def test_hsm_key_types_are_refused_on_a_standard_vault(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.create_rsa_key, kh.name(), hardware_protected=True)
    assert caught.value.status_code == 400
    assert caught.value.error.message == "Hardware key operation not allowed on standard vault"
    with pytest.raises(HttpResponseError):
        await kh.call(client.create_ec_key, kh.name(), hardware_protected=True)


async def test_hsm_key_types_are_created_on_premium_vaults_and_managed_hsm(kh: KeysUnderTest) -> None:
    premium = kh.key_client(PREMIUM_URL)
    rsa_hsm = await kh.call(premium.create_rsa_key, kh.name(), hardware_protected=True)
    assert rsa_hsm.key_type == "RSA-HSM"
    ec_hsm = await kh.call(premium.create_ec_key, kh.name(), curve="P-384", hardware_protected=True)
    assert ec_hsm.key_type == "EC-HSM"
    hsm = kh.key_client(HSM_URL)
    oct_key = await kh.call(hsm.create_oct_key, kh.name(), size=256, hardware_protected=True)
    assert oct_key.key_type == "oct-HSM"
    assert oct_key.key_operations == ["encrypt", "decrypt", "wrapKey", "unwrapKey"]
    assert oct_key.key.k is None
    assert oct_key.id.startswith(f"{HSM_URL}/keys/")


async def test_oct_keys_are_refused_on_a_vault(kh: KeysUnderTest) -> None:
    for url in (VAULT_URL, PREMIUM_URL):
        client = kh.key_client(url)
        with pytest.raises(HttpResponseError) as caught:
            await kh.call(client.create_oct_key, kh.name(), size=256, hardware_protected=True)
        assert caught.value.status_code == 400


async def test_create_key_with_an_invalid_name_is_refused(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.create_rsa_key, "bad_name")
    assert caught.value.status_code == 400


async def test_import_rsa_key_returns_only_public_members(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    material = generate_key("RSA")
    jwk = {k: base64.urlsafe_b64decode(str(v) + "==") for k, v in material.private_jwk().items() if k != "kty"}
    key = await kh.call(client.import_key, kh.name(), JsonWebKey(kty="RSA", **jwk), tags={"t": "1"})
    assert key.key_type == "RSA"
    assert key.key.d is None
    assert key.key_operations == RSA_OPS
    private = material.key
    assert isinstance(private, rsa.RSAPrivateKey)
    assert int.from_bytes(key.key.n, "big") == private.public_key().public_numbers().n


async def test_import_with_hsm_flag_makes_an_hsm_key(kh: KeysUnderTest) -> None:
    client = kh.key_client(PREMIUM_URL)
    material = generate_key("EC", curve="P-256")
    jwk = {
        k: base64.urlsafe_b64decode(str(v) + "==") for k, v in material.private_jwk().items() if k not in ("kty", "crv")
    }
    key = await kh.call(
        client.import_key,
        kh.name(),
        JsonWebKey(kty="EC", crv="P-256", key_ops=["sign"], **jwk),
        hardware_protected=True,
    )
    assert key.key_type == "EC-HSM"
    assert key.key_operations == ["sign"]
    private = material.key
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert int.from_bytes(key.key.x, "big") == private.public_key().public_numbers().x


async def test_import_public_key_or_oversized_oct_key_is_refused(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    public = generate_key("RSA").public_jwk()
    jwk = JsonWebKey(kty="RSA", n=base64.urlsafe_b64decode(str(public["n"]) + "=="), e=b"\x01\x00\x01")
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.import_key, kh.name(), jwk)
    assert caught.value.status_code == 400
    hsm = kh.key_client(HSM_URL)
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(hsm.import_key, kh.name(), JsonWebKey(kty="oct-HSM", k=b"x" * 65))
    assert caught.value.error.message == "JSON Web Key: k property of oct key is too large, maximum size is 64"
    imported = await kh.call(hsm.import_key, kh.name(), JsonWebKey(kty="oct", k=b"k" * 32), hardware_protected=True)
    assert imported.key_type == "oct-HSM"


async def test_get_missing_key_or_version_is_not_found(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    with pytest.raises(ResourceNotFoundError) as caught:
        await kh.call(client.get_key, "missing")
    assert caught.value.error.code == "KeyNotFound"
    name = kh.name()
    await kh.call(client.create_ec_key, name)
    with pytest.raises(ResourceNotFoundError):
        await kh.call(client.get_key, name, "0" * 32)


async def test_update_key_properties_changes_ops_attributes_and_tags(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    name = kh.name()
    created = await kh.call(client.create_rsa_key, name)
    updated = await kh.call(
        client.update_key_properties, name, key_operations=["encrypt", "decrypt"], tags={"x": "y"}, enabled=True
    )
    assert updated.key_operations == ["encrypt", "decrypt"]
    assert updated.properties.tags == {"x": "y"}
    assert updated.key.n == created.key.n
    disabled = await kh.call(client.update_key_properties, name, created.properties.version, enabled=False)
    assert disabled.properties.enabled is False
    # The service answers GET of a disabled key with the key, enabled false (.NET session record
    # KeyClientLiveTests/UpdateEcHsmKeyEnabled); only the operations that use the key are refused.
    fetched = await kh.call(client.get_key, name)
    assert fetched.properties.enabled is False
    assert fetched.key.n == created.key.n


async def test_list_keys_and_versions_with_paging(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    names = sorted(kh.name() for _ in range(3))
    for name in names:
        await kh.call(client.create_ec_key, name)
    versions = [await kh.call(client.create_ec_key, names[0]) for _ in range(2)]
    listed = await kh.collect(client.list_properties_of_keys(max_page_size=2))
    assert [item.name for item in listed] == names
    assert all(item.version is None for item in listed)
    assert all(item.id == f"{VAULT_URL}/keys/{item.name}" for item in listed)
    history = await kh.collect(client.list_properties_of_key_versions(names[0], max_page_size=1))
    assert len(history) == 3
    assert {v.properties.version for v in versions} <= {item.version for item in history}
    assert await kh.collect(client.list_properties_of_key_versions("missing")) == []


async def test_exportable_key_needs_a_release_policy_and_vice_versa(kh: KeysUnderTest) -> None:
    client = kh.key_client(PREMIUM_URL)
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.create_rsa_key, kh.name(), hardware_protected=True, exportable=True)
    assert caught.value.error.message == "Exportable keys must have release policy"
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(
            client.create_rsa_key, kh.name(), hardware_protected=True, release_policy=KeyReleasePolicy(POLICY)
        )
    assert caught.value.error.message == "Non-exportable keys must not have release policy"
    name = kh.name()
    key = await kh.call(
        client.create_rsa_key,
        name,
        hardware_protected=True,
        exportable=True,
        release_policy=KeyReleasePolicy(POLICY, immutable=True),
    )
    assert key.properties.exportable is True
    assert key.properties.release_policy.encoded_policy == POLICY
    assert key.properties.release_policy.immutable is True
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.update_key_properties, name, release_policy=KeyReleasePolicy(b'{"anyOf":[]}'))
    assert caught.value.error.message == "AKV.SKR.1020: Immutable Key Release Policy cannot be modified."


async def test_create_key_over_a_soft_deleted_name_conflicts(kh: KeysUnderTest) -> None:
    client = kh.key_client()
    name = kh.name()
    await kh.call(client.create_ec_key, name)
    await kh.delete(client, name)
    with pytest.raises(ResourceExistsError) as caught:
        await kh.call(client.create_ec_key, name)
    assert caught.value.error.innererror["code"] == "ObjectIsDeletedButRecoverable"
