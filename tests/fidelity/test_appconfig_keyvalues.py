"""The official AzureAppConfigurationClient (sync and aio, HMAC and Entra) against the fake store: key-values,
filters, paging, conditional requests, locks, revisions, labels, sync tokens."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from azure.appconfiguration import (
    ConfigurationSetting,
    ResourceReadOnlyError,
    SecretReferenceConfigurationSetting,
)
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

from .appconfig_support import STORE, StoreUnderTest


def _setting(key: str, value: str, **kwargs: Any) -> ConfigurationSetting:
    return ConfigurationSetting(key=key, value=value, **kwargs)


async def test_set_then_get_returns_what_was_stored_with_etag_and_last_modified(store: StoreUnderTest) -> None:
    stored = await store.call(
        store.client.set_configuration_setting,
        _setting("app:color", "blue", label="prod", content_type="text/plain", tags={"team": "a"}),
    )
    got = await store.call(store.client.get_configuration_setting, "app:color", label="prod")
    assert (got.key, got.label, got.value, got.content_type, got.tags) == (
        "app:color",
        "prod",
        "blue",
        "text/plain",
        {"team": "a"},
    )
    assert got.etag
    assert got.etag == stored.etag
    assert abs((datetime.now(timezone.utc) - got.last_modified).total_seconds()) < 60
    assert got.read_only is False


async def test_get_missing_key_raises_not_found(store: StoreUnderTest) -> None:
    with pytest.raises(ResourceNotFoundError):
        await store.call(store.client.get_configuration_setting, "absent")


async def test_null_label_and_named_label_are_different_settings(store: StoreUnderTest) -> None:
    store.fake.set(STORE, "k", "null-label")
    store.fake.set(STORE, "k", "dev-label", label="dev")
    assert (await store.call(store.client.get_configuration_setting, "k")).value == "null-label"
    assert (await store.call(store.client.get_configuration_setting, "k", label="dev")).value == "dev-label"
    only_null = await store.collect(store.client.list_configuration_settings(key_filter="k", label_filter="\0"))
    assert [(s.key, s.label) for s in only_null] == [("k", None)]
    every_label = await store.collect(store.client.list_configuration_settings(key_filter="k"))
    assert [s.label for s in every_label] == [None, "dev"]


async def test_key_filters_prefix_comma_list_and_escapes(store: StoreUnderTest) -> None:
    for key in ("app:a", "app:b", "other", "star*key", "comma,key"):
        store.fake.set(STORE, key, "v")

    async def keys(**filters: str) -> list[str]:
        return [s.key for s in await store.collect(store.client.list_configuration_settings(**filters))]

    assert await keys(key_filter="app:*") == ["app:a", "app:b"]
    assert await keys(key_filter="app:a,other") == ["app:a", "other"]
    assert await keys(key_filter="star\\*key") == ["star*key"]
    assert await keys(key_filter="comma\\,key") == ["comma,key"]
    assert len(await keys()) == 5


async def test_label_filters_wildcard_and_null_label_in_a_list(store: StoreUnderTest) -> None:
    store.fake.set(STORE, "k", "1")
    store.fake.set(STORE, "k", "2", label="prod-eu")
    store.fake.set(STORE, "k", "3", label="prod-us")
    store.fake.set(STORE, "k", "4", label="dev")
    found = await store.collect(store.client.list_configuration_settings(label_filter="prod*"))
    assert [s.label for s in found] == ["prod-eu", "prod-us"]
    found = await store.collect(store.client.list_configuration_settings(label_filter="\0,dev"))
    assert [s.label for s in found] == [None, "dev"]


async def test_wildcard_inside_a_filter_is_refused_with_problem_details(store: StoreUnderTest) -> None:
    with pytest.raises(HttpResponseError) as raised:
        await store.collect(store.client.list_configuration_settings(key_filter="a*b"))
    assert raised.value.status_code == 400
    problem = json.loads(raised.value.response.text())
    assert problem["type"] == "https://azconfig.io/errors/invalid-argument"
    assert problem["status"] == 400
    assert problem["name"] == "key"
    assert raised.value.response.headers["Content-Type"].startswith("application/problem+json")


async def test_select_returns_only_the_chosen_fields(store: StoreUnderTest) -> None:
    store.fake.set(STORE, "k", "v", label="l", content_type="text/plain")
    found = await store.collect(store.client.list_configuration_settings(fields=["key", "value"]))
    assert [(s.key, s.value, s.label, s.content_type, s.etag) for s in found] == [("k", "v", None, None, None)]


async def test_listing_pages_by_100_through_the_link_header(store: StoreUnderTest) -> None:
    for index in range(250):
        store.fake.set(STORE, f"key-{index:03d}", str(index))
    pages = await store.pages(store.client.list_configuration_settings())
    assert [len(items) for _, items in pages] == [100, 100, 50]
    assert [s.key for _, items in pages for s in items] == [f"key-{i:03d}" for i in range(250)]
    assert all(etag for etag, _ in pages)
    assert store.fake.operation_counts["GetKeyValues"] == 3


async def test_writes_between_pages_show_in_the_next_pages_of_the_same_listing(store: StoreUnderTest) -> None:
    for index in range(250):
        store.fake.set(STORE, f"key-{index:03d}", str(index))
    by_page = store.client.list_configuration_settings().by_page()
    pages: list[list[tuple[str, str]]] = []
    if hasattr(by_page, "__aiter__"):
        async for page in by_page:
            pages.append([(s.key, s.value) async for s in page])
            if len(pages) == 1:  # the store changes while the caller holds the continuation token
                store.fake.set(STORE, "key-150", "changed")
                store.fake.set(STORE, "key-150x", "added")
                await store.call(store.client.delete_configuration_setting, "key-200")
    else:
        for page in by_page:
            pages.append([(s.key, s.value) for s in page])
            if len(pages) == 1:
                store.fake.set(STORE, "key-150", "changed")
                store.fake.set(STORE, "key-150x", "added")
                store.client.delete_configuration_setting("key-200")
    assert [len(page) for page in pages] == [100, 100, 50]  # one key added, one deleted
    later = dict(pages[1] + pages[2])
    assert later["key-150"] == "changed"
    assert later["key-150x"] == "added"
    assert "key-200" not in later
    assert pages[1][0] == ("key-100", "100")
    assert pages[2][-1] == ("key-249", "249")


async def test_pages_continue_after_the_right_label_of_a_key(store: StoreUnderTest) -> None:
    # 3 labels per key: page boundaries fall between labels of one key (the null label sorts first).
    expected = []
    for index in range(120):
        for label in (None, "dev", "prod"):
            store.fake.set(STORE, f"key-{index:03d}", f"{index}-{label}", label=label)
            expected.append((f"key-{index:03d}", label))
    pages = await store.pages(store.client.list_configuration_settings(label_filter="*"))
    assert [len(items) for _, items in pages] == [100, 100, 100, 60]
    assert [(s.key, s.label) for _, items in pages for s in items] == expected


async def test_unchanged_pages_answer_304_and_a_changed_page_is_returned(store: StoreUnderTest) -> None:
    for index in range(150):
        store.fake.set(STORE, f"key-{index:03d}", str(index))
    first = await store.pages(store.client.list_configuration_settings())
    etags = [etag for etag, _ in first]
    unchanged = await store.pages(store.client.list_configuration_settings(), match_conditions=etags)
    assert unchanged == []  # every page answered 304 Not Modified; the SDK skips them
    store.fake.set(STORE, "key-120", "changed")
    changed = await store.pages(store.client.list_configuration_settings(), match_conditions=etags)
    assert [[s.key for s in items][:1] for _, items in changed] == [["key-100"]]


async def test_get_if_modified_returns_none_while_unchanged(store: StoreUnderTest) -> None:
    stored = await store.call(store.client.set_configuration_setting, _setting("sentinel", "1"))
    unchanged = await store.call(
        store.client.get_configuration_setting,
        "sentinel",
        etag=stored.etag,
        match_condition=MatchConditions.IfModified,
    )
    assert unchanged is None
    store.fake.set(STORE, "sentinel", "2")
    changed = await store.call(
        store.client.get_configuration_setting,
        "sentinel",
        etag=stored.etag,
        match_condition=MatchConditions.IfModified,
    )
    assert changed.value == "2"


async def test_conditional_writes_honour_etags(store: StoreUnderTest) -> None:
    stored = await store.call(store.client.add_configuration_setting, _setting("k", "1"))
    with pytest.raises(ResourceExistsError):
        await store.call(store.client.add_configuration_setting, _setting("k", "again"))
    updated = await store.call(
        store.client.set_configuration_setting, _setting("k", "2", etag=stored.etag), MatchConditions.IfNotModified
    )
    with pytest.raises(ResourceModifiedError):
        await store.call(
            store.client.set_configuration_setting, _setting("k", "3", etag=stored.etag), MatchConditions.IfNotModified
        )
    with pytest.raises(ResourceModifiedError):
        await store.call(
            store.client.delete_configuration_setting,
            "k",
            etag=stored.etag,
            match_condition=MatchConditions.IfNotModified,
        )
    deleted = await store.call(
        store.client.delete_configuration_setting, "k", etag=updated.etag, match_condition=MatchConditions.IfNotModified
    )
    assert deleted.value == "2"
    assert await store.call(store.client.delete_configuration_setting, "k") is None  # 204: nothing left


async def test_read_only_lock_refuses_writes_until_unlocked(store: StoreUnderTest) -> None:
    stored = await store.call(store.client.set_configuration_setting, _setting("locked", "1"))
    locked = await store.call(store.client.set_read_only, stored, True)
    assert locked.read_only is True
    with pytest.raises(ResourceReadOnlyError) as raised:
        await store.call(store.client.set_configuration_setting, _setting("locked", "2"))
    problem = json.loads(raised.value.response.text())
    # The service's problem details, its spelling included (azure-sdk-assets, python test_set_read_only).
    assert problem["type"] == "https://azconfig.io/errors/key-locked"
    assert problem["title"] == "Modifing key 'locked' is not allowed"
    assert problem["detail"] == "The key is read-only. To allow modification unlock it first."
    with pytest.raises(ResourceReadOnlyError):
        await store.call(store.client.delete_configuration_setting, "locked")
    unlocked = await store.call(store.client.set_read_only, locked, False)
    assert unlocked.read_only is False
    assert (await store.call(store.client.set_configuration_setting, _setting("locked", "2"))).value == "2"


async def test_revisions_list_changes_newest_first_and_accept_datetime_reads_the_past(store: StoreUnderTest) -> None:
    from kvconfig.fake import ManualClock

    clock = ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    store.fake.clock = clock
    store.fake.set(STORE, "k", "1")
    clock.advance(hours=1)
    store.fake.set(STORE, "k", "2")
    clock.advance(hours=1)
    store.fake.set(STORE, "k", "3")
    revisions = await store.collect(store.client.list_revisions(key_filter="k"))
    assert [r.value for r in revisions] == ["3", "2", "1"]
    past = datetime(2026, 1, 1, 1, 30, tzinfo=timezone.utc)
    older = await store.collect(store.client.list_revisions(key_filter="k", accept_datetime=past))
    assert [r.value for r in older] == ["2", "1"]
    as_of = await store.call(store.client.get_configuration_setting, "k", accept_datetime=past)
    assert as_of.value == "2"
    listed = await store.collect(store.client.list_configuration_settings(accept_datetime=past))
    assert [s.value for s in listed] == ["2"]


async def test_labels_list_each_label_once_with_the_null_label(store: StoreUnderTest) -> None:
    store.fake.set(STORE, "a", "1")
    store.fake.set(STORE, "a", "1", label="prod")
    store.fake.set(STORE, "b", "1", label="prod")
    store.fake.set(STORE, "b", "1", label="dev")
    labels = await store.collect(store.client.list_labels())
    assert [label.name for label in labels] == [None, "dev", "prod"]
    labels = await store.collect(store.client.list_labels(name="pr*"))
    assert [label.name for label in labels] == ["prod"]


async def test_key_vault_reference_round_trips_as_a_secret_reference(store: StoreUnderTest) -> None:
    uri = "https://myvault.vault.azure.net/secrets/db-password"
    await store.call(
        store.client.set_configuration_setting, SecretReferenceConfigurationSetting("db", uri, label="prod")
    )
    got = await store.call(store.client.get_configuration_setting, "db", label="prod")
    assert isinstance(got, SecretReferenceConfigurationSetting)
    assert got.secret_id == uri
    assert got.content_type == "application/vnd.microsoft.appconfig.keyvaultref+json;charset=utf-8"


async def test_every_response_carries_a_sync_token_whose_sequence_grows(store: StoreUnderTest) -> None:
    seen: list[str] = []

    def hook(response: Any) -> None:
        seen.append(response.http_response.headers["Sync-Token"])

    await store.call(store.client.set_configuration_setting, _setting("a", "1"), raw_response_hook=hook)
    await store.call(store.client.set_configuration_setting, _setting("a", "2"), raw_response_hook=hook)
    numbers = [int(token.rsplit(";sn=", 1)[1]) for token in seen]
    assert numbers[1] == numbers[0] + 1
    assert seen[0].split("=", 1)[0] == seen[1].split("=", 1)[0]


async def test_head_check_pages_carry_the_same_etags_as_get(store: StoreUnderTest) -> None:
    for index in range(120):
        store.fake.set(STORE, f"key-{index:03d}", "v")
    listed = await store.pages(store.client.list_configuration_settings())
    checked = await store.pages(store.client.check_configuration_settings())
    assert [etag for etag, _ in checked] == [etag for etag, _ in listed]
    assert store.fake.operation_counts["CheckKeyValues"] == 2


async def test_too_large_key_value_is_refused_with_413(store: StoreUnderTest) -> None:
    with pytest.raises(HttpResponseError) as raised:
        await store.call(store.client.set_configuration_setting, _setting("big", "x" * (11 * 1024)))
    assert raised.value.status_code == 413
