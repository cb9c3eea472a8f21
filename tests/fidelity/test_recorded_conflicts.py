"""Answers the service's recordings show for objects in each other's way: a restore into a taken name (409 with the
restored object's versioned id), a direct change to a certificate's backing key or secret (403
``...ManagedByKeyVault``), and a certificate policy whose subject is not a distinguished name (400)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.keyvault.certificates import CertificatePolicy
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.aio import KeyClient as AsyncKeyClient

from .cert_support import CertVault
from .keys_support import KeysUnderTest, kh  # noqa: F401  (fixture)
from .support import VaultUnderTest


def _restore_conflict(kind: str, object_id: str) -> str:
    return (
        f"There was a conflict restoring the {kind} '{object_id}'. This can happen if either: a second {kind} with the "
        f"same name was created after the first {kind} was deleted; thus trying to restore a {kind} whose name is "
        f"already in use. To fix this, rename the second {kind} to something else so that the restore works. The "
        "second probable cause of this exception is when multiple operations are performed in parallel against the "
        f"{kind}. To avoid this error, perform operations against a {kind} in a sequential manner."
    )


async def test_restore_of_a_secret_whose_name_is_taken_names_the_restored_version(kv: VaultUnderTest) -> None:
    kv.need_fake()
    name = kv.name()
    secret = await kv.set(name, "v")
    backup = await kv.call(kv.client.backup_secret, name)
    with pytest.raises(ResourceExistsError) as caught:
        await kv.call(kv.client.restore_secret_backup, backup)
    assert caught.value.status_code == 409
    assert caught.value.error is not None
    assert caught.value.error.code == "Conflict"
    assert caught.value.error.message == _restore_conflict("secret", secret.id)


async def test_restore_of_a_key_whose_name_is_taken_names_the_restored_version(kh: KeysUnderTest) -> None:  # noqa: F811
    client = kh.key_client()
    name = kh.name()
    key = await kh.call(client.create_ec_key, name)
    blob = await kh.call(client.backup_key, name)
    with pytest.raises(ResourceExistsError) as caught:
        await kh.call(client.restore_key_backup, blob)
    assert caught.value.error is not None
    assert caught.value.error.message == _restore_conflict("key", key.id)


async def test_deleting_a_certificates_backing_secret_or_key_is_forbidden(certs: CertVault) -> None:
    name = certs.name()
    await certs.create(name)
    secrets = certs.secret_client()
    key_class = AsyncKeyClient if certs.is_async else KeyClient
    options = {"transport": certs.fake.async_transport() if certs.is_async else certs.fake.transport()}
    credential = certs.fake.async_credential() if certs.is_async else certs.fake.credential()
    keys = key_class(certs.vault_url, credential, retry_total=0, **options)
    certs._closeables.append(keys)
    deletes = [
        ("secret", "SecretManagedByKeyVault", secrets.delete_secret if certs.is_async else secrets.begin_delete_secret),
        ("key", "KeyManagedByKeyVault", keys.delete_key if certs.is_async else keys.begin_delete_key),
    ]
    for kind, inner, delete in deletes:
        with pytest.raises(HttpResponseError) as caught:
            await certs.call(delete, name)
        assert caught.value.status_code == 403
        assert caught.value.error is not None
        assert caught.value.error.code == "Forbidden"
        assert caught.value.error.innererror == {"code": inner}
        assert caught.value.error.message.startswith(
            f'Operation "delete" is not allowed on this {kind}, since it is associated with a certificate. '
            "Perform the operation on the corresponding certificate."
        )
    assert (await certs.call(certs.client.get_certificate, name)).name == name


async def test_a_policy_subject_that_is_not_a_distinguished_name_is_the_services_bad_parameter(
    certs: CertVault,
) -> None:
    policy = CertificatePolicy(issuer_name="Self", subject="no equals sign here")
    with pytest.raises(HttpResponseError) as caught:
        await certs.create(certs.name(), policy)
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "BadParameter"
    assert (
        caught.value.error.message == "Property policy.x509_props has invalid value. Invalid X.500 distinguished name"
    )
