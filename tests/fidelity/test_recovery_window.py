"""Recovery takes time too, as in the service: with ``deletion_delay`` a recovered secret, key or certificate is "being
recovered" for a while. Its live form answers 404 (which is why the SDK's recover pollers poll it, as the service's
recorded recover sample shows), re-creating its name answers 409 Conflict with innererror ObjectIsBeingRecovered, and
recover or purge answer 409 Conflict, through the official clients, sync and async, until the window ends on the
fake's progress clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

from kvconfig.fake import FakeKeyVault, ManualClock

from .window_support import DELAY, HSM_URL, KINDS, NOT_FOUND_CODE, VAULT_URL, Deleting

_WIRE_FOLDER = {"secret": "secrets", "key": "keys", "certificate": "certificates"}


async def _deleted(deleting: Deleting, kind: str, client: Any, name: str) -> str:
    """Create and delete (waiting for the deletion window); return the id of the deleted object's latest version."""
    await deleting.create(kind, client, name)
    deleted = await deleting.delete(kind, client, name)
    version = deleted.properties.version
    assert version
    return f"{client.vault_url}/{_WIRE_FOLDER[kind]}/{name}/{version}"


def _assert_conflict(error: HttpResponseError, message: str, inner: str | None) -> None:
    assert error.status_code == 409
    assert error.error is not None
    assert error.error.code == "Conflict"
    assert error.error.message == message
    assert error.error.innererror == ({"code": inner} if inner else {})  # the SDK reads a missing one as {}


def _recovery_conflict(kind: str, object_id: str) -> str:
    return (
        f"There was a conflict while recovering the soft-deleted {kind} '{object_id}'. This can happen when multiple "
        f"operations are performed in parallel against the soft-deleted {kind}. To avoid this error, perform "
        f"operations against the soft-deleted {kind} in a sequential manner."
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_during_the_recovery_window_the_live_object_is_not_found_and_its_name_is_refused(
    deleting: Deleting, kind: str
) -> None:
    client = deleting.client(kind)
    name = deleting.name(kind[0])
    object_id = await _deleted(deleting, kind, client, name)
    await deleting.start_recover(kind, client, name)

    # What the recover poller polls: the live GET answers as for a missing object (the recorded 404).
    with pytest.raises(ResourceNotFoundError) as missing:
        await deleting.call(getattr(client, f"get_{kind}"), name)
    assert missing.value.error is not None
    assert missing.value.error.code == NOT_FOUND_CODE[kind]
    if kind != "certificate":  # the recorded sentence (certificates have their own, short one)
        sentence = f"A {kind} with (name/id) {name} was not found in this key vault."
        assert missing.value.error.message.startswith(sentence)
    # The object is no longer deleted either, nor listed as live or deleted.
    with pytest.raises(ResourceNotFoundError) as gone:
        await deleting.call(getattr(client, f"get_deleted_{kind}"), name)
    assert gone.value.error is not None
    assert gone.value.error.message == f"Deleted {kind.capitalize()} not found: {name}"
    assert name not in [item.name async for item in _items(getattr(client, f"list_deleted_{kind}s")())]
    # Recover, purge and re-creating the name are refused until the recovery ends.
    with pytest.raises(HttpResponseError) as again:
        await deleting.recover(kind, client, name)
    _assert_conflict(again.value, _recovery_conflict(kind, object_id), None)
    with pytest.raises(HttpResponseError) as purge:
        await deleting.call(getattr(client, f"purge_deleted_{kind}"), name)
    _assert_conflict(purge.value, _recovery_conflict(kind, object_id), None)
    with pytest.raises(HttpResponseError) as create:
        await deleting.create(kind, client, name)
    message = f"{kind.capitalize()} {name} is currently being recovered and cannot be re-created; retry later."
    _assert_conflict(create.value, message, "ObjectIsBeingRecovered")

    deleting.fake.advance(seconds=DELAY)
    live = await deleting.call(getattr(client, f"get_{kind}"), name)
    assert live.name == name
    assert live.properties.version == object_id.rsplit("/", 1)[1]  # the version it was deleted with


async def _items(listing: Any) -> AsyncIterator[Any]:
    if hasattr(listing, "__aiter__"):
        async for item in listing:
            yield item
    else:
        for item in listing:
            yield item


@pytest.mark.parametrize("kind", KINDS)
async def test_the_recover_poller_returns_once_the_window_ended(deleting: Deleting, kind: str) -> None:
    client = deleting.client(kind)
    name = deleting.name(kind[0])
    await _deleted(deleting, kind, client, name)
    started = deleting.clock.now()
    recovered = await deleting.recovered(kind, client, name)
    waited = deleting.clock.now() - started
    # The poller's waits (2 s each) moved the ManualClock: it returned at its first poll after the window.
    assert DELAY <= waited < DELAY + 2.0 + 1e-6
    assert recovered.name == name
    assert (await deleting.call(getattr(client, f"get_{kind}"), name)).name == name
    # Deleting it again works at once (its name is live, not being recovered).
    assert (await deleting.delete(kind, client, name)).name == name


async def test_a_certificates_backing_key_and_secret_are_being_recovered_with_it(deleting: Deleting) -> None:
    certificates, secrets, keys = (deleting.client(kind) for kind in ("certificate", "secret", "key"))
    name = deleting.name("c")
    await _deleted(deleting, "certificate", certificates, name)
    await deleting.start_recover("certificate", certificates, name)
    with pytest.raises(ResourceNotFoundError):
        await deleting.call(secrets.get_secret, name)
    with pytest.raises(ResourceNotFoundError):
        await deleting.call(keys.get_key, name)
    with pytest.raises(ResourceNotFoundError):
        await deleting.call(keys.get_deleted_key, name)
    with pytest.raises(HttpResponseError) as taken:
        await deleting.call(keys.create_rsa_key, name)
    message = f"Key {name} is currently being recovered and cannot be re-created; retry later."
    _assert_conflict(taken.value, message, "ObjectIsBeingRecovered")
    with pytest.raises(HttpResponseError) as purge:
        await deleting.call(secrets.purge_deleted_secret, name)
    assert purge.value.status_code == 409

    deleting.fake.advance(seconds=DELAY)
    assert (await deleting.call(secrets.get_secret, name)).name == name
    assert (await deleting.call(keys.get_key, name)).name == name
    assert (await deleting.call(certificates.get_certificate, name)).name == name


async def test_managed_hsm_keys_are_being_recovered_too(deleting: Deleting) -> None:
    keys = deleting.client("key", HSM_URL)
    name = deleting.name("h")
    await _deleted(deleting, "key", keys, name)
    started = deleting.clock.now()
    assert (await deleting.recovered("key", keys, name)).name == name
    assert DELAY <= deleting.clock.now() - started < DELAY + 2.0 + 1e-6


def test_by_default_recoveries_finish_at_once() -> None:
    fake = FakeKeyVault(clock=ManualClock(1_750_000_000))
    with SecretClient(VAULT_URL, fake.credential(), transport=fake.transport()) as client:
        client.set_secret("plain", "v")
        client.begin_delete_secret("plain").wait()
        client.begin_recover_deleted_secret("plain")  # the POST only: nothing polls
        assert client.get_secret("plain").value == "v"
