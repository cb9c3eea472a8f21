"""``REVISION``, the change counter the Event Grid expiry scan trusts to skip its work: every change to objects,
versions and attributes moves it; reads leave it alone (or every request would scan again)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kvconfig.fake import FakeKeyVault, FakeRequest, ManualClock
from kvconfig.fake.core.state import REVISION, Attributes, ObjectStore, SecretVersion

START = 1_800_000_000
URL = "https://revision-vault.vault.azure.net"


def _store_with(name: str) -> ObjectStore[SecretVersion]:
    store: ObjectStore[SecretVersion] = ObjectStore()
    store.get_or_create(name).add("1" * 32, SecretVersion("1" * 32, "v", Attributes(created=START, updated=START)))
    return store


def _deleted(name: str) -> ObjectStore[SecretVersion]:
    store = _store_with(name)
    store.delete(name, now=START, retention_days=7, soft=True)
    return store


# Each arranges its state, then returns the change to make.
def _set_exp_in_place() -> Callable[[], object]:
    attrs = Attributes(created=START, updated=START)
    return lambda: setattr(attrs, "exp", START)


def _add_version() -> Callable[[], object]:
    store = _store_with("s")
    return lambda: store.get_or_create("s").add("2" * 32, SecretVersion("2" * 32, "w", Attributes(0, 0)))


def _move_latest() -> Callable[[], object]:
    obj = _store_with("s").get_or_create("s")
    return lambda: setattr(obj, "latest", "0" * 32)


def _make_object() -> Callable[[], object]:
    store = _store_with("s")
    return lambda: store.get_or_create("new")


def _soft_delete() -> Callable[[], object]:
    store = _store_with("s")
    return lambda: store.delete("s", now=START, retention_days=7, soft=True)


def _recover() -> Callable[[], object]:
    store = _deleted("s")
    return lambda: store.recover("s")


def _purge() -> Callable[[], object]:
    store = _deleted("s")
    return lambda: store.purge("s")


def _purge_at_retention_end() -> Callable[[], object]:
    store = _deleted("s")
    return lambda: store.sweep(START + 8 * 86400)


CHANGES = [
    _set_exp_in_place,
    _add_version,
    _move_latest,
    _make_object,
    _soft_delete,
    _recover,
    _purge,
    _purge_at_retention_end,
]


@pytest.mark.parametrize("arrange", CHANGES, ids=[arrange.__name__.strip("_") for arrange in CHANGES])
def test_every_change_to_objects_moves_the_revision(arrange: Callable[[], Callable[[], object]]) -> None:
    act = arrange()
    before = REVISION.value
    act()
    assert REVISION.value != before


def test_reads_and_an_idle_sweep_leave_the_revision_alone() -> None:
    fake = FakeKeyVault(clock=ManualClock(START))
    fake.set_secret(URL, "s", "v", expires_on=START + 90 * 86400)
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    headers = {"Authorization": f"Bearer {token}"}
    fake.handle("GET", f"{URL}/secrets/s?api-version=7.5", headers)  # the first request also scans for expiry
    before = REVISION.value
    for path in ("/secrets/s", "/secrets/s/", "/secrets", "/secrets/s/versions", "/deletedsecrets"):
        outcome = fake.dispatch(FakeRequest("GET", f"{URL}{path}?api-version=7.5", headers, b""))
        assert outcome.response is not None
        assert outcome.response.status == 200
    fake.vault(URL).sweep(START + 86400)
    assert REVISION.value == before
