"""Caching by version, the TTL of versionless references, invalidate(), and refresh() with change listeners,
including a refresh during an outage (last good values kept and reported stale)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from azure.keyvault.secrets import SecretClient

from kvconfig import RefreshEvent, ResolutionError, SecretResolver
from kvconfig.fake import FakeKeyVault, ManualClock

from .conftest import VAULT, VAULT_URL, ref


class Ticker:
    """An injected monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def cached(make_resolver: Callable[..., SecretResolver], ticker: Ticker) -> SecretResolver:
    return make_resolver(ttl=60, monotonic=ticker)


def test_second_resolve_inside_the_ttl_makes_no_request(
    fake: FakeKeyVault, cached: SecretResolver, ticker: Ticker
) -> None:
    fake.set_secret(VAULT, "db", "ttl-value-1")
    cached.resolve({"DB": ref("db")})
    fake.set_secret(VAULT, "db", "ttl-value-2")

    ticker.now += 59
    assert cached.resolve({"DB": ref("db"), "AGAIN": ref("DB")})["AGAIN"] == "ttl-value-1"
    assert fake.operation_counts["GetSecret"] == 1

    ticker.now += 1
    assert cached.resolve({"DB": ref("db")})["DB"] == "ttl-value-2"
    assert fake.operation_counts["GetSecret"] == 2


def test_pinned_versions_are_never_read_again(fake: FakeKeyVault, cached: SecretResolver, ticker: Ticker) -> None:
    version = fake.set_secret(VAULT, "key", "pinned-once")
    settings = {"KEY": ref("key", version=version)}
    cached.resolve(settings)

    ticker.now += 10_000
    cached.refresh()
    cached.invalidate()
    assert cached.resolve(settings)["KEY"] == "pinned-once"
    assert fake.operation_counts["GetSecret"] == 1


def test_pinned_version_read_through_the_latest_pointer_is_cached_too(
    fake: FakeKeyVault, cached: SecretResolver
) -> None:
    version = fake.set_secret(VAULT, "key", "shared-version-value")
    cached.resolve({"LATEST": ref("key")})

    assert cached.resolve({"PINNED": ref("key", version=version)})["PINNED"] == "shared-version-value"
    assert fake.operation_counts["GetSecret"] == 1


def test_invalidate_forces_a_re_read(fake: FakeKeyVault, cached: SecretResolver) -> None:
    fake.set_secret(VAULT, "db", "before-invalidate")
    fake.set_secret(VAULT, "api", "api-value")
    cached.resolve({"DB": ref("db"), "API": ref("api")})
    fake.set_secret(VAULT, "db", "after-invalidate")

    cached.invalidate(VAULT_URL + "/", "DB")
    resolved = cached.resolve({"DB": ref("db"), "API": ref("api")})

    assert resolved["DB"] == "after-invalidate"
    assert fake.operation_counts["GetSecret"] == 3  # db twice, api once

    cached.invalidate()
    cached.resolve({"DB": ref("db"), "API": ref("api")})
    assert fake.operation_counts["GetSecret"] == 5


def test_refresh_re_reads_only_versionless_references_and_reports_what_changed(
    fake: FakeKeyVault, cached: SecretResolver
) -> None:
    version = fake.set_secret(VAULT, "pinned", "pinned-value")
    fake.set_secret(VAULT, "db", "db-value-1")
    fake.set_secret(VAULT, "api", "api-value-1")
    cached.resolve(
        {"PINNED": ref("pinned", version=version), "DB": ref("db"), "DB2": ref("db"), "API": ref("api"), "P": "x"}
    )
    events: list[RefreshEvent] = []
    cached.add_listener(events.append)
    fake.set_secret(VAULT, "db", "db-value-2")

    values = cached.refresh()

    assert fake.operation_counts["GetSecret"] == 3 + 2  # db and api again, never the pinned version
    assert values["DB"] == values["DB2"] == "db-value-2"
    assert values["API"] == "api-value-1"
    assert values["PINNED"] == "pinned-value"
    assert values["P"] == "x"
    assert events == [RefreshEvent(changed=frozenset({"DB", "DB2"}))]
    assert "db-value" not in repr(events[0])
    assert cached.values["DB"] == "db-value-2"


def test_resolve_value_is_not_tracked_by_values_refresh_or_listeners(
    fake: FakeKeyVault, cached: SecretResolver
) -> None:
    fake.set_secret(VAULT, "db", "db-value-1")
    fake.set_secret(VAULT, "api", "one-off-value-1")
    cached.resolve({"DB": ref("db")})
    events: list[RefreshEvent] = []
    cached.add_listener(events.append)

    assert cached.resolve_value(ref("api")) == "one-off-value-1"
    assert cached.resolve_value(ref("api"), setting="API") == "one-off-value-1"
    fake.set_secret(VAULT, "db", "db-value-2")
    fake.set_secret(VAULT, "api", "one-off-value-2")
    values = cached.refresh()

    assert dict(values) == dict(cached.values) == {"DB": "db-value-2"}
    assert events == [RefreshEvent(changed=frozenset({"DB"}))]
    assert fake.operation_counts["GetSecret"] == 3  # db, api once (then cached), db again: api is not refreshed


def test_resolve_value_names_its_setting_in_failures_and_raises_even_when_omitting(
    make_resolver: Callable[..., SecretResolver],
) -> None:
    with pytest.raises(ResolutionError, match="DB_PASSWORD -> ") as raised:
        make_resolver(on_failure="omit").resolve_value(ref("missing"), setting="DB_PASSWORD")
    assert raised.value.failures[0].status == "SecretNotFound"

    assert make_resolver(on_failure="keep").resolve_value(ref("missing")) == ref("missing")


def test_refresh_without_changes_calls_no_listener(fake: FakeKeyVault, cached: SecretResolver) -> None:
    fake.set_secret(VAULT, "db", "steady-value")
    cached.resolve({"DB": ref("db")})
    events: list[RefreshEvent] = []
    remove = cached.add_listener(events.append)

    cached.refresh()
    remove()
    fake.set_secret(VAULT, "db", "changed-value")
    cached.refresh()

    assert events == []


def test_refresh_during_an_outage_keeps_last_good_values_and_reports_them_stale(
    fake: FakeKeyVault, cached: SecretResolver
) -> None:
    fake.set_secret(VAULT, "db", "last-good-db")
    fake.set_secret(VAULT, "api", "last-good-api")
    cached.resolve({"DB": ref("db"), "API": ref("api")})
    events: list[RefreshEvent] = []
    cached.add_listener(events.append)
    outage = fake.inject_fault(error="drop", times=None)

    values = cached.refresh()

    assert values["DB"] == "last-good-db"
    assert values["API"] == "last-good-api"
    assert events == [RefreshEvent(changed=frozenset(), stale=frozenset({"DB", "API"}))]

    outage.remove()
    fake.set_secret(VAULT, "db", "recovered-db")
    assert cached.refresh()["DB"] == "recovered-db"
    assert events[-1] == RefreshEvent(changed=frozenset({"DB"}))


def test_refresh_when_the_vault_is_gone_keeps_last_good_values(clock: ManualClock, ticker: Ticker) -> None:
    fake = FakeKeyVault(clock=clock, strict=True)
    fake.set_secret(VAULT, "db", "kept-db-value")
    events: list[RefreshEvent] = []
    with SecretResolver(fake.async_credential(), transport=fake.async_transport, monotonic=ticker) as resolver:
        resolver.resolve({"DB": ref("db")})
        resolver.add_listener(events.append)
        fake.delete_vault(VAULT)

        assert resolver.refresh()["DB"] == "kept-db-value"
    assert events[0].stale == {"DB"}


def test_refresh_of_a_deleted_secret_keeps_the_value_and_reports_the_failure(
    fake: FakeKeyVault, cached: SecretResolver
) -> None:
    fake.set_secret(VAULT, "db", "deleted-later")
    cached.resolve({"DB": ref("db")})
    with SecretClient(VAULT_URL, fake.credential(), transport=fake.transport()) as client:
        client.begin_delete_secret("db").result()
    events: list[RefreshEvent] = []
    cached.add_listener(events.append)

    assert cached.refresh()["DB"] == "deleted-later"
    assert events[0].stale == {"DB"}
    assert [(f.setting, f.status) for f in events[0].failures] == [("DB", "SecretNotFound")]


async def test_refresh_async_awaits_async_listeners(fake: FakeKeyVault, cached: SecretResolver) -> None:
    fake.set_secret(VAULT, "db", "async-1")
    await cached.resolve_async({"DB": ref("db")})
    heard: list[frozenset[str]] = []

    async def listener(event: RefreshEvent) -> None:
        heard.append(event.changed)
        assert (await cached.resolve_async({"DB": ref("db")}))["DB"] == "async-2"

    cached.add_listener(listener)
    fake.set_secret(VAULT, "db", "async-2")

    assert (await cached.refresh_async())["DB"] == "async-2"
    assert heard == [frozenset({"DB"})]


def test_a_failing_listener_is_logged_and_does_not_stop_the_others(
    fake: FakeKeyVault, cached: SecretResolver, caplog: pytest.LogCaptureFixture
) -> None:
    fake.set_secret(VAULT, "db", "l-1")
    cached.resolve({"DB": ref("db")})
    heard: list[RefreshEvent] = []

    def broken(_event: RefreshEvent) -> None:
        raise RuntimeError("listener bug")

    cached.add_listener(broken)
    cached.add_listener(heard.append)
    fake.set_secret(VAULT, "db", "l-2")

    with caplog.at_level(logging.ERROR, logger="kvconfig"):
        cached.refresh()

    assert len(heard) == 1
    assert "change listener failed" in caplog.text


def test_resolve_after_the_ttl_during_an_outage_keeps_the_last_good_value_with_a_warning(
    fake: FakeKeyVault, cached: SecretResolver, ticker: Ticker, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: only refresh() kept the last good value; a plain resolve() after the TTL raised ResolutionError.
    fake.set_secret(VAULT, "db", "last-good-db")
    settings = {"DB": ref("db"), "PLAIN": "kept as is"}
    assert cached.resolve(settings)["DB"] == "last-good-db"
    outage = fake.inject_fault(error="drop", times=None)
    ticker.now += 61

    with caplog.at_level(logging.WARNING, logger="kvconfig"):
        assert cached.resolve(settings) == {"DB": "last-good-db", "PLAIN": "kept as is"}
        report = cached.resolve_report(settings)

    assert outage.hits >= 2  # the vault was asked again each time (past the TTL), and could not answer
    assert report.ok
    assert report.values["DB"] == "last-good-db"
    kept = [record.getMessage() for record in caplog.records if "last good value" in record.getMessage()]
    assert kept
    assert all("OtherReasons" in message and message.endswith("value for DB") for message in kept)
    assert "last-good-db" not in caplog.text
    # check() reports what the vault says now; it keeps nothing.
    assert [status.status for status in cached.check(settings)] == ["OtherReasons"]

    outage.remove()
    fake.set_secret(VAULT, "db", "recovered-db")
    assert cached.resolve(settings)["DB"] == "recovered-db"


def test_resolve_after_the_ttl_of_a_deleted_secret_fails_and_keeps_nothing(
    fake: FakeKeyVault, cached: SecretResolver, ticker: Ticker
) -> None:
    # Only an unreachable vault keeps the last good value; a secret the vault says is gone (or disabled) fails.
    fake.set_secret(VAULT, "db", "deleted-later")
    cached.resolve({"DB": ref("db")})
    with SecretClient(VAULT_URL, fake.credential(), transport=fake.transport()) as client:
        client.begin_delete_secret("db").result()
    ticker.now += 61

    with pytest.raises(ResolutionError) as caught:
        cached.resolve({"DB": ref("db")})
    assert caught.value.failures[0].status == "SecretNotFound"


def test_resolve_inside_the_ttl_never_asks_the_vault_during_an_outage(
    fake: FakeKeyVault, cached: SecretResolver, ticker: Ticker
) -> None:
    fake.set_secret(VAULT, "db", "fresh-db")
    cached.resolve({"DB": ref("db")})
    outage = fake.inject_fault(error="drop", times=None)
    ticker.now += 30

    assert cached.resolve({"DB": ref("db")})["DB"] == "fresh-db"
    assert outage.hits == 0


def test_a_pinned_version_evicted_from_the_cache_is_not_replaced_by_the_latest_during_an_outage(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver], ticker: Ticker
) -> None:
    old = fake.set_secret(VAULT, "db", "pinned-old")
    fake.set_secret(VAULT, "db", "latest-new")
    resolver = make_resolver(ttl=60, monotonic=ticker, max_cached_versions=1)
    resolver.resolve({"LATEST": ref("db")})  # the only cached version is the latest
    fake.inject_fault(error="drop", times=None)

    with pytest.raises(ResolutionError) as caught:
        resolver.resolve({"PINNED": ref("db", version=old)})
    assert caught.value.failures[0].status == "OtherReasons"
