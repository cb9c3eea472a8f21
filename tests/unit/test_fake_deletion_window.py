"""The deletion and recovery windows in the fake's state: an object store keeps a soft delete (or a recovery) in
progress apart until its finish time on the progress clock, the vault property that sets it is bounded, seeds carry
it, and a data folder keeps the window (and the skipped SDK waits the progress clock counts) across a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvconfig.fake import FakeKeyVault, ManualClock, SeedError, VaultProperties
from kvconfig.fake.certificates.issuance import certificate_tick
from kvconfig.fake.core.state import REVISION, Attributes, ObjectStore, SecretVersion, Versioned
from kvconfig.fake.persist import open_data_dir
from kvconfig.fake.persist.snapshot import dumps, loads

START = 1_800_000_000
URL = "https://windowvault.vault.azure.net"


def _store_with(name: str) -> ObjectStore[SecretVersion]:
    store: ObjectStore[SecretVersion] = ObjectStore()
    store.get_or_create(name).add("1" * 32, SecretVersion("1" * 32, "v", Attributes(created=START, updated=START)))
    return store


def test_a_delete_with_a_finish_time_is_being_deleted_until_the_progress_clock_reaches_it() -> None:
    store = _store_with("s")
    store.delete("S", now=START, retention_days=7, soft=True, finishes_at=START + 5.0)
    assert store.get("s") is None
    assert store.get_deleted("s") is None
    being = store.being_deleted("s")
    assert being is not None
    assert being.deleted_date == START  # dated when the DELETE was answered
    store.sweep(START + 100, progress=START + 4.9)  # the fake's clock does not finish it: the progress clock does
    assert store.being_deleted("s") is not None
    before = REVISION.value
    store.sweep(START + 100, progress=START + 5.0)
    assert REVISION.value != before
    assert store.being_deleted("s") is None
    assert store.get_deleted("s") is being
    # Retention counts from the deleted date, as without a window.
    store.sweep(START + 7 * 86400 - 1)
    assert store.get_deleted("s") is being
    store.sweep(START + 7 * 86400)
    assert store.get_deleted("s") is None


def test_without_a_finish_time_or_without_soft_delete_there_is_no_window() -> None:
    store = _store_with("s")
    store.delete("s", now=START, retention_days=7, soft=True)
    assert store.get_deleted("s") is not None
    gone = _store_with("g")
    gone.delete("g", now=START, retention_days=7, soft=False, finishes_at=START + 5.0)
    assert gone.being_deleted("g") is None
    assert gone.get_deleted("g") is None


def test_finish_deletions_finishes_every_window_at_once() -> None:
    store = _store_with("a")
    store.get_or_create("b").add("2" * 32, SecretVersion("2" * 32, "v", Attributes(created=START, updated=START)))
    store.delete("a", now=START, retention_days=7, soft=True, finishes_at=START + 5.0)
    store.delete("b", now=START, retention_days=7, soft=True, finishes_at=START + 50.0)
    assert [obj.name for obj in store.finish_deletions()] == ["a", "b"]
    assert store.deleting == {}
    assert sorted(store.deleted) == ["a", "b"]


def test_a_store_from_a_snapshot_written_before_deletion_windows_loads_with_none_open() -> None:
    store = _store_with("s")
    del store.__dict__["deleting"], store.__dict__["recovering"], store.__dict__["_next_finish"]  # older layouts
    restored = loads(dumps(store))
    assert isinstance(restored, ObjectStore)
    assert restored.deleting == {}
    assert restored.recovering == {}
    restored.delete("s", now=START, retention_days=7, soft=True, finishes_at=START + 1.0)
    restored.sweep(START, progress=START + 1.0)
    assert restored.get_deleted("s") is not None


def test_a_recovery_with_a_finish_time_is_being_recovered_until_the_progress_clock_reaches_it() -> None:
    store = _store_with("s")
    store.delete("s", now=START, retention_days=7, soft=True)
    store.recover("S", finishes_at=START + 5.0)
    being = store.being_recovered("s")
    assert being is not None
    assert (store.get("s"), store.get_deleted("s"), store.being_deleted("s")) == (None, None, None)
    assert being.deleted_date is None
    assert being.scheduled_purge_date is None
    store.sweep(START + 100, progress=START + 4.9)
    assert store.get("s") is None
    before = REVISION.value
    store.sweep(START + 100, progress=START + 5.0)
    assert REVISION.value != before
    assert store.being_recovered("s") is None
    assert store.get("s") is being


def test_deletion_and_recovery_windows_of_one_store_end_each_at_their_own_time() -> None:
    store = _store_with("a")
    store.get_or_create("b").add("2" * 32, SecretVersion("2" * 32, "v", Attributes(created=START, updated=START)))
    store.delete("a", now=START, retention_days=7, soft=True)
    store.recover("a", finishes_at=START + 10.0)
    store.delete("b", now=START, retention_days=7, soft=True, finishes_at=START + 3.0)
    store.sweep(START, progress=START + 3.0)
    assert store.get_deleted("b") is not None
    assert store.being_recovered("a") is not None
    store.sweep(START, progress=START + 10.0)
    assert store.get("a") is not None
    assert store.recovering == {}
    assert [obj.name for obj in store.finish_recoveries()] == []


def test_a_name_written_during_its_recovery_keeps_what_was_written() -> None:
    # Only a Managed HSM (full or selective key) restore writes a live name without the checks that refuse it.
    store = _store_with("k")
    store.delete("k", now=START, retention_days=7, soft=True)
    assert store.recover("k", finishes_at=START + 5.0) is not None
    restored: Versioned[SecretVersion] = Versioned("k")
    store.live["k"] = restored
    store.sweep(START, progress=START + 5.0)
    assert store.get("k") is restored
    assert store.recovering == {}


def test_a_data_folder_keeps_an_open_recovery_window(tmp_path: Path) -> None:
    fake = FakeKeyVault(clock=ManualClock(START), deletion_delay=5)
    state = open_data_dir(fake, tmp_path / "data")
    headers = _headers(fake)
    fake.handle("PUT", f"{URL}/secrets/r?api-version=7.5", headers, b'{"value": "v"}')
    fake.handle("DELETE", f"{URL}/secrets/r?api-version=7.5", headers)
    for _ in range(5):  # SDK waits of 0 s the fake skipped (a second each) end the deletion window, saved with it
        fake.pass_time(0)
    assert fake.handle("POST", f"{URL}/deletedsecrets/r/recover?api-version=7.5", headers).status == 200
    state.close()

    restarted = FakeKeyVault()
    again = open_data_dir(restarted, tmp_path / "data")
    try:
        headers = _headers(restarted)
        assert restarted.handle("GET", f"{URL}/secrets/r?api-version=7.5", headers).status == 404
        refused = restarted.handle("PUT", f"{URL}/secrets/r?api-version=7.5", headers, b'{"value": "w"}')
        assert refused.status == 409
        assert json.loads(refused.body)["error"]["innererror"] == {"code": "ObjectIsBeingRecovered"}
        restarted.advance(seconds=5)
        assert restarted.handle("GET", f"{URL}/secrets/r?api-version=7.5", headers).status == 200
    finally:
        again.close()


@pytest.mark.parametrize("delay", [-1, 300.5, float("nan"), float("inf"), True, "2"])
def test_a_deletion_delay_outside_zero_to_three_hundred_seconds_is_refused(delay: object) -> None:
    with pytest.raises(ValueError, match="deletion_delay"):
        VaultProperties("v", "v.vault.azure.net", deletion_delay=delay)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="deletion_delay"):
        FakeKeyVault(deletion_delay=delay)  # type: ignore[arg-type]


def test_the_fakes_deletion_delay_is_the_default_of_the_vaults_it_makes() -> None:
    fake = FakeKeyVault(deletion_delay=3)
    assert fake.vault("firstuse").properties.deletion_delay == 3.0
    assert fake.create_vault("explicit", deletion_delay=0.5).properties.deletion_delay == 0.5
    assert FakeKeyVault().vault("plain").properties.deletion_delay == 0.0


def test_seeds_set_and_dump_a_vaults_deletion_delay() -> None:
    fake = FakeKeyVault()
    fake.seed({"vaults": {"seeded": {"properties": {"deletion_delay": 2.5, "throttling": True}}}})
    assert fake.vault("seeded").properties.deletion_delay == 2.5
    dumped = fake.dump()["vaults"]["seeded.vault.azure.net"]["properties"]
    assert dumped["deletion_delay"] == 2.5
    again = FakeKeyVault()
    again.seed(json.loads(json.dumps(fake.dump())))
    assert again.vault("seeded").properties.deletion_delay == 2.5
    with pytest.raises(SeedError, match="deletion_delay"):
        FakeKeyVault().seed({"vaults": {"bad": {"properties": {"deletion_delay": True}}}})
    with pytest.raises(SeedError, match="deletion_delay"):
        FakeKeyVault().seed({"vaults": {"bad": {"properties": {"deletion_delay": 900}}}})


def _headers(fake: FakeKeyVault) -> dict[str, str]:
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def test_a_data_folder_keeps_an_open_window_and_the_skipped_waits_it_is_measured_on(tmp_path: Path) -> None:
    fake = FakeKeyVault(clock=ManualClock(START), deletion_delay=5)
    state = open_data_dir(fake, tmp_path / "data")
    headers = _headers(fake)
    fake.handle("PUT", f"{URL}/secrets/s?api-version=7.5", headers, b'{"value": "v"}')
    fake.pass_time(0)  # an SDK wait of 0 s the fake skipped: counts a second on the progress clock
    assert fake.handle("DELETE", f"{URL}/secrets/s?api-version=7.5", headers).status == 200
    state.close()

    restarted = FakeKeyVault()
    again = open_data_dir(restarted, tmp_path / "data")
    try:
        assert restarted.skipped_waits == 1.0
        assert isinstance(restarted.clock, ManualClock)
        headers = _headers(restarted)
        purge = restarted.handle("DELETE", f"{URL}/deletedsecrets/s?api-version=7.5", headers)
        assert purge.status == 409
        restarted.advance(seconds=5)
        assert restarted.handle("GET", f"{URL}/deletedsecrets/s?api-version=7.5", headers).status == 200
    finally:
        again.close()


def test_a_certificate_being_recovered_across_a_restart_comes_back_with_its_backing_objects(tmp_path: Path) -> None:
    fake = FakeKeyVault(clock=ManualClock(START), deletion_delay=5)
    state = open_data_dir(fake, tmp_path / "data")
    fake.seed({"vaults": {"windowvault": {"certificates": {"tls": {"subject": "CN=tls"}}}}})
    headers = _headers(fake)
    assert fake.handle("DELETE", f"{URL}/certificates/tls?api-version=7.5", headers).status == 200
    for _ in range(5):
        fake.pass_time(0)
    assert fake.handle("POST", f"{URL}/deletedcertificates/tls/recover?api-version=7.5", headers).status == 200
    state.close()

    restarted = FakeKeyVault()
    again = open_data_dir(restarted, tmp_path / "data")
    try:
        assert certificate_tick in restarted.tick_hooks  # renewal resumes once the certificate is live again
        headers = _headers(restarted)
        for path in ("certificates", "secrets", "keys"):
            assert restarted.handle("GET", f"{URL}/{path}/tls/?api-version=7.5", headers).status == 404
        restarted.advance(seconds=5)
        for path in ("certificates", "secrets", "keys"):
            assert restarted.handle("GET", f"{URL}/{path}/tls/?api-version=7.5", headers).status == 200
    finally:
        again.close()
