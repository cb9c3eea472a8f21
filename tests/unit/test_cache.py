"""SecretCache: pinned versions in an LRU, versionless pointers with a TTL on an injected monotonic clock, and
invalidate() keeping the stale value as a fallback."""

from __future__ import annotations

import pytest

from kvconfig import CachedSecret, SecretCache

URL = "https://contoso.vault.azure.net"


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _secret(name: str, version: str, value: str = "v") -> CachedSecret:
    return CachedSecret(URL, name, version, value)


def test_pinned_versions_are_evicted_least_recently_used_first() -> None:
    cache = SecretCache(max_versions=2)
    cache.put(_secret("a", "1"), latest=False)
    cache.put(_secret("b", "1"), latest=False)
    assert cache.get_version(URL, "a", "1") is not None  # a is now the most recently used
    cache.put(_secret("c", "1"), latest=False)

    assert len(cache) == 2
    assert cache.get_version(URL, "b", "1") is None
    assert cache.get_version(URL, "a", "1") is not None
    assert cache.get_version(URL, "c", "1") is not None


def test_names_are_case_insensitive_as_in_key_vault() -> None:
    cache = SecretCache()
    cache.put(_secret("Db", "1", "x"), latest=True)

    assert cache.get_version(URL, "DB", "1") is not None
    assert cache.get_latest(URL, "db") is not None


def test_versionless_pointer_is_fresh_for_the_ttl_only() -> None:
    ticker = Ticker()
    cache = SecretCache(ttl=30, clock=ticker)
    cache.put(_secret("db", "1"), latest=True)

    ticker.now = 29.9
    assert cache.get_latest(URL, "db") is not None
    ticker.now = 30.0
    assert cache.get_latest(URL, "db") is None
    found = cache.get_latest(URL, "db", allow_stale=True)
    assert found is not None
    assert found.version == "1"


def test_a_pinned_read_does_not_set_the_latest_pointer() -> None:
    cache = SecretCache()
    cache.put(_secret("db", "1"), latest=False)

    assert cache.get_latest(URL, "db") is None


def test_a_newer_latest_read_moves_the_pointer_and_keeps_the_old_version() -> None:
    cache = SecretCache()
    cache.put(_secret("db", "1", "old"), latest=True)
    cache.put(_secret("db", "2", "new"), latest=True)

    latest = cache.get_latest(URL, "db")
    assert latest is not None
    assert latest.value == "new"
    old = cache.get_version(URL, "db", "1")
    assert old is not None
    assert old.value == "old"


def test_invalidate_makes_pointers_stale_but_keeps_them_as_fallback() -> None:
    cache = SecretCache(ttl=300)
    cache.put(_secret("db", "1"), latest=True)
    cache.put(_secret("api", "1"), latest=True)
    cache.put(CachedSecret("https://other.vault.azure.net", "db", "1", "o"), latest=True)

    cache.invalidate(URL, "DB")
    assert cache.get_latest(URL, "db") is None
    assert cache.get_latest(URL, "db", allow_stale=True) is not None
    assert cache.get_latest(URL, "api") is not None

    cache.invalidate(URL)
    assert cache.get_latest(URL, "api") is None
    assert cache.get_latest("https://other.vault.azure.net", "db") is not None

    cache.invalidate()
    assert cache.get_latest("https://other.vault.azure.net", "db") is None
    assert cache.get_version(URL, "db", "1") is not None  # pinned versions are never invalidated


def test_clear_forgets_everything() -> None:
    cache = SecretCache()
    cache.put(_secret("db", "1"), latest=True)
    cache.clear()

    assert len(cache) == 0
    assert cache.get_latest(URL, "db", allow_stale=True) is None


def test_negative_ttl_is_rejected() -> None:
    with pytest.raises(ValueError, match="ttl"):
        SecretCache(ttl=-1)


def test_reprs_never_show_values() -> None:
    cache = SecretCache()
    secret = _secret("db", "1", "UNIT-SECRET-VALUE")
    cache.put(secret, latest=True)

    assert "UNIT-SECRET-VALUE" not in repr(secret)
    assert "UNIT-SECRET-VALUE" not in repr(cache)
