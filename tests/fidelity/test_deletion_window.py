"""Deletion takes time, as in the service: with ``deletion_delay`` a soft-deleted secret, key or certificate is
"being deleted" for a while. Its deleted form answers 404 (which is why the SDK's delete pollers poll it), and
recover, purge and re-creating its name answer 409 Conflict with innererror ObjectIsBeingDeleted, through the
official clients, sync and async, until the window ends on the fake's progress clock.

The window is opened by the SDK's own DELETE: ``begin_delete_*`` on the sync clients (which sends it and returns
before polling), ``send_request`` on the async ones (whose ``delete_*`` polls until the end before returning).
"""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from kvconfig.fake import FakeKeyVault, ManualClock

from .window_support import DELAY, HSM_URL, KINDS, NOT_FOUND_CODE, VAULT_URL, Deleting


def _assert_being_deleted(error: HttpResponseError, message: str) -> None:
    assert error.status_code == 409
    assert error.error is not None
    assert error.error.code == "Conflict"
    assert error.error.innererror == {"code": "ObjectIsBeingDeleted"}
    assert error.error.message == message


@pytest.mark.parametrize("kind", KINDS)
async def test_during_the_deletion_window_the_deleted_object_is_not_found_and_its_name_is_refused(
    deleting: Deleting, kind: str
) -> None:
    client = deleting.client(kind)
    name = deleting.name(kind[0])
    await deleting.create(kind, client, name)
    await deleting.start_delete(kind, client, name)

    with pytest.raises(ResourceNotFoundError) as missing:
        await deleting.call(getattr(client, f"get_deleted_{kind}"), name)
    assert missing.value.error is not None
    assert missing.value.error.code == NOT_FOUND_CODE[kind]
    assert missing.value.error.message == f"Deleted {kind.capitalize()} not found: {name}"
    with pytest.raises(HttpResponseError) as purge:
        await deleting.call(getattr(client, f"purge_deleted_{kind}"), name)
    _assert_being_deleted(purge.value, f"{kind.capitalize()} is currently being deleted.")
    with pytest.raises(HttpResponseError) as recover:
        await deleting.recover(kind, client, name)
    _assert_being_deleted(recover.value, f"{kind.capitalize()} is currently being deleted.")
    with pytest.raises(HttpResponseError) as again:
        await deleting.create(kind, client, name)
    _assert_being_deleted(
        again.value, f"{kind.capitalize()} {name} is currently being deleted and cannot be re-created; retry later."
    )
    # The live object is gone from the start (a GET answers as for any missing object).
    with pytest.raises(ResourceNotFoundError):
        await deleting.call(getattr(client, f"get_{kind}"), name)

    deleting.fake.advance(seconds=DELAY)
    deleted = await deleting.call(getattr(client, f"get_deleted_{kind}"), name)
    assert deleted.name == name
    assert deleted.recovery_id == f"{VAULT_URL}/deleted{kind}s/{name}"
    assert await deleting.call(getattr(client, f"purge_deleted_{kind}"), name) is None
    await deleting.create(kind, client, name)  # the name is free again


@pytest.mark.parametrize("kind", KINDS)
async def test_the_delete_poller_returns_once_the_window_ended(deleting: Deleting, kind: str) -> None:
    client = deleting.client(kind)
    name = deleting.name(kind[0])
    await deleting.create(kind, client, name)
    started = deleting.clock.now()
    deleted = await deleting.delete(kind, client, name)
    waited = deleting.clock.now() - started
    # The poller's waits (2 s each) moved the ManualClock: it returned at its first poll after the window.
    assert DELAY <= waited < DELAY + 2.0 + 1e-6
    assert deleted.name == name
    # deletedDate is when the DELETE was answered, not when the window ended (as the service's recordings show).
    deleted_date = deleted.deleted_on if kind == "certificate" else deleted.deleted_date
    assert deleted_date.timestamp() == int(started)
    found = await deleting.call(getattr(client, f"get_deleted_{kind}"), name)
    assert found.name == name
    # Recovering works once the deletion finished.
    recovered = await deleting.recover(kind, client, name)
    if not deleting.is_async:
        recovered.wait()
        recovered = recovered.result()
    assert recovered.name == name


async def test_a_certificates_backing_key_and_secret_are_being_deleted_with_it(deleting: Deleting) -> None:
    certificates, secrets, keys = (deleting.client(kind) for kind in ("certificate", "secret", "key"))
    name = deleting.name("c")
    await deleting.create("certificate", certificates, name)
    await deleting.start_delete("certificate", certificates, name)
    with pytest.raises(ResourceNotFoundError):
        await deleting.call(secrets.get_deleted_secret, name)
    with pytest.raises(ResourceNotFoundError):
        await deleting.call(keys.get_deleted_key, name)
    with pytest.raises(HttpResponseError) as purge:
        await deleting.call(secrets.purge_deleted_secret, name)
    _assert_being_deleted(purge.value, "Secret is currently being deleted.")
    with pytest.raises(HttpResponseError) as taken:
        await deleting.call(keys.create_rsa_key, name)
    _assert_being_deleted(taken.value, f"Key {name} is currently being deleted and cannot be re-created; retry later.")

    deleting.fake.advance(seconds=DELAY)
    assert (await deleting.call(secrets.get_deleted_secret, name)).name == name
    assert (await deleting.call(keys.get_deleted_key, name)).name == name
    recovered = await deleting.recover("certificate", certificates, name)
    if not deleting.is_async:
        recovered.wait()
    assert (await deleting.call(secrets.get_secret, name)).name == name


async def test_managed_hsm_keys_are_being_deleted_too(deleting: Deleting) -> None:
    keys = deleting.client("key", HSM_URL)
    name = deleting.name("h")
    await deleting.create("key", keys, name)
    await deleting.start_delete("key", keys, name)
    with pytest.raises(ResourceNotFoundError):
        await deleting.call(keys.get_deleted_key, name)
    with pytest.raises(HttpResponseError) as purge:
        await deleting.call(keys.purge_deleted_key, name)
    _assert_being_deleted(purge.value, "Key is currently being deleted.")
    deleting.fake.advance(seconds=DELAY)
    assert await deleting.call(keys.purge_deleted_key, name) is None


async def test_without_soft_delete_there_is_no_window(deleting: Deleting) -> None:
    deleting.fake.create_vault("deletingsoftless", soft_delete=False)
    secrets = deleting.client("secret", "https://deletingsoftless.vault.azure.net")
    name = deleting.name("s")
    await deleting.create("secret", secrets, name)
    started = deleting.clock.now()
    await deleting.delete("secret", secrets, name)
    assert deleting.clock.now() == started  # no recovery id: the poller is finished from the start
    await deleting.create("secret", secrets, name)  # the name is free at once


async def test_purge_protection_still_refuses_purge_after_the_window(deleting: Deleting) -> None:
    deleting.fake.create_vault("deletingprotected", purge_protection=True, deletion_delay=2.0)
    secrets = deleting.client("secret", "https://deletingprotected.vault.azure.net")
    name = deleting.name("s")
    await deleting.create("secret", secrets, name)
    await deleting.start_delete("secret", secrets, name)
    with pytest.raises(HttpResponseError) as during:
        await deleting.call(secrets.purge_deleted_secret, name)
    assert during.value.status_code == 409  # being deleted comes first
    deleting.fake.advance(seconds=2)
    with pytest.raises(HttpResponseError) as after:
        await deleting.call(secrets.purge_deleted_secret, name)
    assert after.value.status_code == 403


def test_by_default_deletes_finish_at_once() -> None:
    clock = ManualClock(1_750_000_000)
    fake = FakeKeyVault(clock=clock)
    with SecretClient(VAULT_URL, fake.credential(), transport=fake.transport()) as client:
        client.set_secret("plain", "v")
        client.begin_delete_secret("plain")
        assert client.get_deleted_secret("plain").name == "plain"


def test_a_real_time_window_ends_by_itself_on_the_system_clock() -> None:
    fake = FakeKeyVault(deletion_delay=1.0)  # room for two in-process requests on a loaded machine
    with SecretClient(VAULT_URL, fake.credential(), transport=fake.transport()) as client:
        client.set_secret("realtime", "v")
        client.begin_delete_secret("realtime")  # the DELETE only: nothing polls, nothing moves the fake's time
        deleted_at = time.monotonic()  # after the window began, however late the DELETE was served
        with pytest.raises(ResourceNotFoundError):
            client.get_deleted_secret("realtime")
        with pytest.raises(HttpResponseError) as purge:
            client.purge_deleted_secret("realtime")
        assert purge.value.status_code == 409
        time.sleep(max(0.0, 1.05 - (time.monotonic() - deleted_at)))
        assert client.get_deleted_secret("realtime").name == "realtime"
        client.purge_deleted_secret("realtime")


async def test_under_patch_the_sdks_default_transports_wait_through_the_window_too() -> None:
    clock = ManualClock(1_750_000_000)
    fake = FakeKeyVault(clock=clock, deletion_delay=DELAY)
    with fake.patch():
        with SecretClient(VAULT_URL, fake.credential()) as client:
            client.set_secret("patched", "v")
            started = clock.now()
            client.begin_delete_secret("patched").wait()
            assert DELAY <= clock.now() - started < DELAY + 2.0 + 1e-6
        credential = fake.async_credential()
        async with secrets_aio.SecretClient(VAULT_URL, credential) as aio_client, credential:
            await aio_client.set_secret("patched-async", "v")
            started = clock.now()
            await aio_client.delete_secret("patched-async")
            assert DELAY <= clock.now() - started < DELAY + 2.0 + 1e-6
