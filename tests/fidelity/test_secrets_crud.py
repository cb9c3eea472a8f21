"""Set, get, update and list secrets through the official SecretClient, sync and async, at every api-version."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from .conftest import DEFAULT_API_VERSION
from .support import VaultUnderTest

VERSION = re.compile(r"^[0-9a-f]{32}$")


def _api_version(kv: VaultUnderTest) -> str:
    return kv.backend.api_version or DEFAULT_API_VERSION


async def _pages(kv: VaultUnderTest, pager: Any) -> list[tuple[list[Any], str | None]]:
    """Every page of a pager as (items, the nextLink that follows it)."""
    pages = []
    iterator = pager.by_page()
    if kv.is_async:
        async for page in iterator:
            pages.append(([item async for item in page], iterator.continuation_token))
    else:
        for page in iterator:
            pages.append((list(page), iterator.continuation_token))
    return pages


async def test_set_secret_creates_a_new_version_each_time(kv_versions: VaultUnderTest) -> None:
    kv = kv_versions
    name = kv.name()
    first = await kv.set(name, "one")
    second = await kv.set(name, "two")
    assert first.value == "one"
    assert second.value == "two"
    assert VERSION.match(first.properties.version or "")
    assert VERSION.match(second.properties.version or "")
    assert first.properties.version != second.properties.version
    assert second.id == f"{kv.vault_url}/secrets/{name}/{second.properties.version}"
    assert second.properties.vault_url == kv.vault_url
    latest = await kv.call(kv.client.get_secret, name)
    assert (latest.value, latest.properties.version) == ("two", second.properties.version)


async def test_set_secret_round_trips_tags_content_type_and_attributes(kv_versions: VaultUnderTest) -> None:
    kv = kv_versions
    name = kv.name()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    not_before, expires_on = now - timedelta(days=1), now + timedelta(days=30)
    created = await kv.set(
        name,
        "v",
        tags={"env": "test", "owner": "kvconfig"},
        content_type="text/plain",
        enabled=True,
        not_before=not_before,
        expires_on=expires_on,
    )
    fetched = await kv.call(kv.client.get_secret, name, created.properties.version)
    for secret in (created, fetched):
        props = secret.properties
        assert props.tags == {"env": "test", "owner": "kvconfig"}
        assert props.content_type == "text/plain"
        assert props.enabled is True
        assert props.not_before == not_before
        assert props.expires_on == expires_on
        assert props.created_on is not None
        assert props.updated_on is not None
        assert props.created_on == props.updated_on
        assert props.recovery_level == "Recoverable+Purgeable" or kv.live


async def test_get_secret_by_version_returns_that_version(kv_versions: VaultUnderTest) -> None:
    kv = kv_versions
    name = kv.name()
    old = await kv.set(name, "old")
    await kv.set(name, "new")
    fetched = await kv.call(kv.client.get_secret, name, old.properties.version)
    assert fetched.value == "old"
    assert fetched.properties.version == old.properties.version


async def test_get_secret_missing_name_raises_not_found(kv_versions: VaultUnderTest) -> None:
    kv = kv_versions
    name = kv.name()
    with pytest.raises(ResourceNotFoundError) as caught:
        await kv.call(kv.client.get_secret, name)
    assert caught.value.status_code == 404
    assert caught.value.error is not None
    assert caught.value.error.code == "SecretNotFound"
    assert f"A secret with (name/id) {name} was not found in this key vault" in caught.value.error.message


async def test_get_secret_missing_version_raises_not_found(kv: VaultUnderTest) -> None:
    name = kv.name()
    await kv.set(name, "v")
    with pytest.raises(ResourceNotFoundError) as caught:
        await kv.call(kv.client.get_secret, name, "0" * 32)
    assert caught.value.error is not None
    assert caught.value.error.code == "SecretNotFound"


async def test_recoverable_days_absent_before_api_version_7_1(kv_versions: VaultUnderTest) -> None:
    kv = kv_versions
    fake = kv.need_fake()
    assert fake is not None
    secret = await kv.set(kv.name(), "v")
    if _api_version(kv) in ("7.0", "2016-10-01"):
        assert secret.properties.recoverable_days is None
    else:
        assert secret.properties.recoverable_days == 90
    assert secret.properties.recovery_level == "Recoverable+Purgeable"


async def test_update_secret_properties_changes_metadata_but_not_value(kv_versions: VaultUnderTest) -> None:
    kv = kv_versions
    name = kv.name()
    created = await kv.set(name, "keep-me", content_type="text/plain", tags={"a": "1"})
    expires_on = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=7)
    updated = await kv.call(
        kv.client.update_secret_properties,
        name,
        content_type="application/json",
        tags={"b": "2"},
        expires_on=expires_on,
    )
    assert updated.version == created.properties.version
    assert updated.content_type == "application/json"
    assert updated.tags == {"b": "2"}
    assert updated.expires_on == expires_on
    assert updated.enabled is True
    fetched = await kv.call(kv.client.get_secret, name)
    assert fetched.value == "keep-me"
    assert fetched.properties.content_type == "application/json"


async def test_update_secret_properties_of_an_older_version_leaves_latest_alone(kv: VaultUnderTest) -> None:
    name = kv.name()
    old = await kv.set(name, "old")
    new = await kv.set(name, "new")
    await kv.call(kv.client.update_secret_properties, name, old.properties.version, tags={"old": "yes"})
    latest = await kv.call(kv.client.get_secret, name)
    assert latest.properties.version == new.properties.version
    assert latest.properties.tags is None
    older = await kv.call(kv.client.get_secret, name, old.properties.version)
    assert older.properties.tags == {"old": "yes"}


async def test_update_secret_properties_of_missing_secret_raises_not_found(kv: VaultUnderTest) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        await kv.call(kv.client.update_secret_properties, kv.name(), enabled=False)
    assert caught.value.error is not None
    assert caught.value.error.code == "SecretNotFound"


async def test_list_properties_of_secrets_pages_versionless_items_without_values(kv_versions: VaultUnderTest) -> None:
    kv = kv_versions
    names = sorted(kv.name("list") for _ in range(5))
    for name in names:
        await kv.set(name, f"value-of-{name}", tags={"n": name})
    pages = await _pages(kv, kv.client.list_properties_of_secrets(max_page_size=2))
    items = [item for page, _ in pages for item in page]
    mine = {item.name: item for item in items if item.name in names}
    assert sorted(mine) == names
    assert all(len(page) <= 2 for page, _ in pages)
    assert len(pages) >= 3
    for item in mine.values():
        assert item.version is None
        assert item.id == f"{kv.vault_url}/secrets/{item.name}"
        assert item.tags == {"n": item.name}
        assert not hasattr(item, "value")
    links = [link for _, link in pages if link]
    assert links
    # The service's nextLink is absolute and names the port; the SDK follows it as given.
    assert all(link.startswith(f"{kv.vault_url}:443/secrets?") for link in links)
    assert pages[-1][1] is None


async def test_list_properties_of_secrets_omits_deleted_secrets(kv: VaultUnderTest) -> None:
    kept, gone = kv.name("kept"), kv.name("gone")
    await kv.set(kept, "v")
    await kv.set(gone, "v")
    await kv.delete(gone)
    listed = {item.name for item in await kv.collect(kv.client.list_properties_of_secrets())}
    assert kept in listed
    assert gone not in listed


async def test_list_properties_of_secret_versions_lists_every_version_with_versioned_ids(
    kv_versions: VaultUnderTest,
) -> None:
    kv = kv_versions
    name = kv.name()
    created = [await kv.set(name, f"v{i}") for i in range(5)]
    pages = await _pages(kv, kv.client.list_properties_of_secret_versions(name, max_page_size=2))
    items = [item for page, _ in pages for item in page]
    assert sorted(item.version for item in items) == sorted(s.properties.version for s in created)
    assert all(len(page) <= 2 for page, _ in pages)
    for item in items:
        assert item.id == f"{kv.vault_url}/secrets/{name}/{item.version}"
        assert item.enabled is True


async def test_list_properties_of_secret_versions_of_unknown_name_is_empty(kv: VaultUnderTest) -> None:
    assert await kv.collect(kv.client.list_properties_of_secret_versions(kv.name())) == []


async def test_secret_names_are_case_insensitive_and_keep_their_case(kv: VaultUnderTest) -> None:
    name = kv.name("MixedCase")
    await kv.set(name, "v")
    fetched = await kv.call(kv.client.get_secret, name.lower())
    assert fetched.value == "v"
    assert fetched.name == name
