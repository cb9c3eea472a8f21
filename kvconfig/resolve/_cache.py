"""The resolver's cache, by version.

A pinned version (``.../secrets/db/<version>``) never changes, so it is cached for the process lifetime in an LRU
bounded by ``max_versions``. A versionless reference points at "the latest version": the cache remembers which
version that was and when it was read, and treats it as fresh for ``ttl`` seconds. After that the pointer is stale
but kept: it is the last good value to fall back on when the vault cannot be reached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cachetools import LRUCache

__all__ = ["CachedSecret", "SecretCache"]

VersionKey = tuple[str, str, str]  # (vault_url, lower-cased name, version)
LatestKey = tuple[str, str]  # (vault_url, lower-cased name)


@dataclass(frozen=True)
class CachedSecret:
    """One secret version as read from the vault. ``value`` never shows in the repr."""

    vault_url: str
    name: str
    version: str
    value: str = field(repr=False)
    enabled: bool = True
    not_before: datetime | None = None
    expires_on: datetime | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class _Pointer:
    version: str
    read_at: float


class SecretCache:
    """Thread-safe cache of secret versions and latest-version pointers."""

    def __init__(
        self, *, ttl: float = 300.0, max_versions: int = 4096, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl < 0:
            raise ValueError("ttl must not be negative.")
        self.ttl = ttl
        self._clock = clock
        self._versions: LRUCache[VersionKey, CachedSecret] = LRUCache(maxsize=max_versions)
        self._latest: dict[LatestKey, _Pointer] = {}
        self._lock = threading.Lock()

    def put(self, secret: CachedSecret, *, latest: bool) -> None:
        """Remember a version; ``latest=True`` when it was read through a versionless reference."""
        key = (secret.vault_url, secret.name.lower(), secret.version)
        with self._lock:
            self._versions[key] = secret
            if latest:
                self._latest[(secret.vault_url, secret.name.lower())] = _Pointer(secret.version, self._clock())

    def get_version(self, vault_url: str, name: str, version: str) -> CachedSecret | None:
        with self._lock:
            return self._versions.get((vault_url, name.lower(), version))

    def get_latest(self, vault_url: str, name: str, *, allow_stale: bool = False) -> CachedSecret | None:
        """The latest version read for a versionless reference, if still fresh (or at all, with ``allow_stale``)."""
        with self._lock:
            pointer = self._latest.get((vault_url, name.lower()))
            if pointer is None:
                return None
            if not allow_stale and self._clock() - pointer.read_at >= self.ttl:
                return None
            found = self._versions.get((vault_url, name.lower(), pointer.version))
        return found

    def invalidate(self, vault_url: str | None = None, name: str | None = None) -> None:
        """Forget latest-version pointers (all, one vault's, or one secret's) so the next resolve reads again.

        Pinned versions are kept: they cannot change. The stale values stay available as fallbacks.
        """
        with self._lock:
            for key in list(self._latest):
                if (vault_url is None or key[0] == vault_url) and (name is None or key[1] == name.lower()):
                    pointer = self._latest[key]
                    self._latest[key] = _Pointer(pointer.version, float("-inf"))

    def clear(self) -> None:
        with self._lock:
            self._versions.clear()
            self._latest.clear()

    def __len__(self) -> int:
        return len(self._versions)

    def __repr__(self) -> str:
        return f"SecretCache(versions={len(self._versions)}, latest={len(self._latest)}, ttl={self.ttl})"
