"""Cost that grows no faster than the work: a list page reads O(page) objects of the vault's sorted index, and the
purge sweep that runs before every request reads no deleted object until one is due.

``benchmarks/bench_fake_scale.py`` measures the times; these tests pin the structure that makes them so, by counting
what the fake reads, so they do not depend on the machine's speed.
"""

from __future__ import annotations

from typing import Any

import pytest
from sortedcontainers import SortedDict

from kvconfig.fake import FakeKeyVault, ManualClock
from kvconfig.fake.core.state import Attributes, ObjectStore, SecretVersion

VAULT = "https://scale.vault.azure.net"
NOW = 1_750_000_000


class CountingIndex(SortedDict):  # type: ignore[type-arg]
    """A SortedDict that counts the objects read out of it by key."""

    reads = 0

    def __getitem__(self, key: Any) -> Any:
        type(self).reads += 1
        return super().__getitem__(key)


def _vault_with(fake: FakeKeyVault, secrets: int, deleted: int = 0) -> ObjectStore[SecretVersion]:
    store = fake.vault(VAULT).secrets
    for index in range(secrets + deleted):
        name = f"s{index:06d}"
        obj = store.get_or_create(name)
        obj.add(f"{index:032x}", SecretVersion(f"{index:032x}", "v", Attributes(created=NOW, updated=NOW)))
        if index >= secrets:
            store.delete(name, now=NOW, retention_days=7, soft=True)
    return store


def _headers(fake: FakeKeyVault) -> dict[str, str]:
    return {"Authorization": f"Bearer {fake.credential().get_token('https://vault.azure.net/.default').token}"}


@pytest.mark.parametrize("collection", ["secrets", "deletedsecrets"])
def test_every_list_page_reads_one_page_of_the_index_however_far_it_is(collection: str) -> None:
    fake = FakeKeyVault(clock=ManualClock(NOW))
    store = _vault_with(fake, secrets=3000, deleted=3000)
    index = store.live if collection == "secrets" else store.deleted
    counting = CountingIndex(index)
    if collection == "secrets":
        store.live = counting
    else:
        store.deleted = counting
    # Time acts on the vault before each request; after the fill, the expiry-event watch reads each object once
    # (see control/events.py): a first request lets it, so the pages below count the listing alone.
    fake.handle("GET", f"{VAULT}/secrets/none?api-version=7.6", _headers(fake))
    url: str | None = f"{VAULT}/{collection}?api-version=7.6"
    pages = 0
    listed = 0
    while url:
        CountingIndex.reads = 0
        page = fake.handle("GET", url, _headers(fake)).json()
        pages += 1
        listed += len(page["value"])
        # 25 items and one more to know there is a next page; never the vault.
        assert CountingIndex.reads <= 26, (pages, CountingIndex.reads)
        url = page["nextLink"]
    assert listed == 3000
    assert pages == 120


def test_pages_are_in_name_order_and_resume_after_the_marker() -> None:
    fake = FakeKeyVault(clock=ManualClock(NOW))
    store = fake.vault(VAULT).secrets
    for name in ["b", "A", "c", "D", "e"]:
        store.get_or_create(name).add("0" * 32, SecretVersion("0" * 32, "v", Attributes(created=NOW, updated=NOW)))
    first = fake.handle("GET", f"{VAULT}/secrets?api-version=7.6&maxresults=2", _headers(fake)).json()
    assert [item["id"].rsplit("/", 1)[1] for item in first["value"]] == ["A", "b"]
    # A secret made between pages, before the marker, is not listed again; one after it is.
    store.get_or_create("aa").add("1" * 32, SecretVersion("1" * 32, "v", Attributes(created=NOW, updated=NOW)))
    store.get_or_create("cc").add("1" * 32, SecretVersion("1" * 32, "v", Attributes(created=NOW, updated=NOW)))
    rest: list[str] = []
    url = first["nextLink"]
    while url:
        page = fake.handle("GET", url, _headers(fake)).json()
        rest += [item["id"].rsplit("/", 1)[1] for item in page["value"]]
        url = page["nextLink"]
    assert rest == ["c", "cc", "D", "e"]


class CountingDeleted(SortedDict):  # type: ignore[type-arg]
    scans = 0

    def items(self) -> Any:
        type(self).scans += 1
        return super().items()

    def values(self) -> Any:
        type(self).scans += 1
        return super().values()


def test_the_purge_sweep_reads_no_deleted_object_until_one_is_due() -> None:
    clock = ManualClock(NOW)
    fake = FakeKeyVault(clock=clock)
    store = _vault_with(fake, secrets=10, deleted=2000)
    store.deleted = CountingDeleted(store.deleted)
    CountingDeleted.scans = 0
    for _ in range(50):
        assert fake.handle("GET", f"{VAULT}/secrets/s000001?api-version=7.6", _headers(fake)).status == 200
    assert CountingDeleted.scans == 0
    clock.advance(days=7)
    assert fake.handle("GET", f"{VAULT}/secrets/s000001?api-version=7.6", _headers(fake)).status == 200
    assert CountingDeleted.scans > 0  # due now: purged once
    assert len(store.deleted) == 0
    CountingDeleted.scans = 0
    fake.handle("GET", f"{VAULT}/secrets/s000001?api-version=7.6", _headers(fake))
    assert CountingDeleted.scans == 0


def test_a_recovered_object_is_not_purged_by_its_old_date() -> None:
    clock = ManualClock(NOW)
    fake = FakeKeyVault(clock=clock)
    store = _vault_with(fake, secrets=0, deleted=2)
    store.recover("s000000")
    clock.advance(days=8)
    fake.tick()
    assert store.get("s000000") is not None
    assert store.get_deleted("s000001") is None
