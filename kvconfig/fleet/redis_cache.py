"""The shared cache tier on Redis: sealed secret versions, versionless pointers with a TTL, and fetch leases.

What Redis holds (``<ns>`` is the namespace, ``kvconfig`` by default; hosts and names are not secret):

- ``<ns>:datakey``: the data key record (``sealing.py``): its id, the versioned Key Vault key id and algorithm that
  wrapped it, the wrapped key (never the key itself) and that key's signature. A record not signed by its wrapping key
  is never adopted: it counts as ``rejected`` and is replaced by a signed one (compare and set). Changed by
  :meth:`RedisSharedCache.rewrap` and :meth:`RedisSharedCache.rotate_data_key` (``rotation.py``). A blob starts with
  its data key's id: a reader opens it only under the key the record (read with it) names, adopting that key if new;
  a writer stores only while the record names its key (watching it): no replica seals or opens under a retired key.
- ``<ns>:v:<vault host>:<name>:<version>``: one secret version, sealed (AES-256-GCM under the data key, bound to
  vault, name and version): value, enabled, not-before, expiry, content type. Expires after ``value_ttl``.
- ``<ns>:latest:<vault host>:<name>``: the latest version of a versionless reference, sealed too, expiring after
  ``ttl``: when it is gone, the next reader fetches from the vault.
- ``<ns>:lease:<vault host>:<name>:<version or ->``: a random token, ``SET NX PX lease``: the replica holding it
  reads the vault, the others wait and read Redis. A holder that dies frees it by expiry.
- ``<ns>:failed:...``: a short marker that the holder's read failed, so waiters read the vault themselves and report
  their own error instead of waiting.

Redis down or slow (every command is bounded by ``op_timeout``): reads go to the vault directly, the tier reports
itself unavailable in :meth:`RedisSharedCache.health`, and it tries Redis again after ``retry_interval``. A blob that
fails authentication (tampered, another data key, truncated) is never served: it counts as a miss.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kvconfig.fleet.data_keys import DataKeys
from kvconfig.fleet.redis_ops import (
    NAMESPACE_RULE,
    RedisDown,
    as_bytes,
    is_client,
    is_namespace,
    is_redis_url,
    redis_module,
)
from kvconfig.fleet.sealing import (
    DataKey,
    SealedFormatError,
    WrapSeam,
    blob_key_id,
    record_id,
    secret_bytes,
    secret_from,
)
from kvconfig.references import KeyVaultReference
from kvconfig.resolve import CachedSecret

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisSharedCache"]

logger = logging.getLogger("kvconfig")

Fetch = Callable[[], Awaitable[CachedSecret]]
Sleep = Callable[[float], Awaitable[object]]

_MAX_BLOB = 256 * 1024  # Key Vault secrets are at most 25k characters; anything far larger is not ours


class RedisSharedCache(DataKeys):
    """A cache tier shared by every replica, on Redis, holding only sealed values.

    :param redis: a ``redis.asyncio.Redis`` client, a factory of one (called on the resolver's loop, where the
        client must live), or a ``redis://`` URL.
    :param key_wrapper: wraps and unwraps the data key through Key Vault: ``kvconfig.crypto.AsyncAzureKeyWrapper``
        (or any kvconfig.crypto key wrapper). Each replica unwraps once.
    :keyword namespace: prefix of every key and of the invalidation channel: 1 to 64 letters, digits, ``-``, ``_`` or
        ``.`` (no ``:``, which separates the parts of a key: ``app`` and ``app:v`` would overlap).
    :keyword ttl: seconds a versionless pointer stays in Redis (the fleet's refresh interval).
    :keyword value_ttl: seconds a sealed version stays in Redis.
    :keyword missing_ttl: seconds a sealed "no such secret" answer stays in Redis, so a name the vault does not hold
        (a settings field with a default, probed by every replica) costs the fleet one read per period, not one per
        replica; ``0`` turns it off. A new version announced on the invalidation channel drops it at once.
    :keyword lease: seconds a fetch lease lasts (``SET NX PX``): at least a vault read with its retries.
    :keyword wait: seconds a replica waits for another replica's fetch before reading the vault itself.
    :keyword poll: seconds between looks at Redis while waiting (with jitter).
    :keyword op_timeout: bound on every Redis command.
    :keyword retry_interval: after a Redis failure, seconds during which reads go straight to the vault.
    """

    def __init__(
        self,
        redis: Redis | Callable[[], Redis] | str,
        key_wrapper: WrapSeam,
        *,
        namespace: str = "kvconfig",
        ttl: float = 300.0,
        value_ttl: float = 86400.0,
        missing_ttl: float = 30.0,
        lease: float = 10.0,
        wait: float = 30.0,
        poll: float = 0.05,
        op_timeout: float = 1.0,
        retry_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        for name, number in (("ttl", ttl), ("value_ttl", value_ttl), ("lease", lease), ("poll", poll)):
            if not number > 0:
                raise ValueError(f"{name} must be a positive number of seconds.")
        if not wait >= 0 or not op_timeout > 0 or not retry_interval >= 0 or not missing_ttl >= 0:
            raise ValueError("wait, retry_interval and missing_ttl must not be negative; op_timeout must be positive.")
        if not is_namespace(namespace):
            raise ValueError(f"namespace must be {NAMESPACE_RULE}: ':' would let it overlap another namespace's keys.")
        if isinstance(redis, str) and not is_redis_url(redis):  # now, not at a read whose error could show it
            raise ValueError(
                "the Redis URL must be a redis://, rediss:// or unix:// URL (not shown: it may hold a password)."
            )
        self._redis_arg = redis
        self._client: Redis | None = None
        self._owns_client = not is_client(redis)
        self.key_wrapper = key_wrapper
        self.namespace = namespace
        self.ttl, self.value_ttl, self.lease, self.wait, self.poll = ttl, value_ttl, lease, wait, poll
        self.missing_ttl = missing_ttl
        self.op_timeout, self.retry_interval = op_timeout, retry_interval
        self._clock, self._sleep, self._rng = clock, sleep, rng
        self._data_key: DataKey | None = None
        self._data_key_lock: asyncio.Lock | None = None
        self._seen_record: tuple[bytes | None, str | None] = (None, None)
        self._refused: bytes | None = None  # the last record refused, not verified again
        self._down_until = float("-inf")
        self.state = "unused"
        self.last_error: str | None = None
        self.hits = self.vault_reads = self.fallbacks = self.rejected = self.stale = self.unwraps = 0
        self.missing_hits = 0

    # -- plumbing ------------------------------------------------------------------------------------------------

    def _mark_down(self, exc: BaseException) -> None:
        reason = str(exc) or type(exc).__name__
        if self.state != "unavailable":
            logger.warning("kvconfig shared cache (Redis) unavailable, reading the vault directly: %s", reason)
        self.state, self.last_error = "unavailable", reason
        self._down_until = self._clock() + self.retry_interval

    def _mark_up(self) -> None:
        if self.state == "unavailable":
            logger.info("kvconfig shared cache (Redis) available again")
        self.state = "ok"

    def health(self) -> dict[str, Any]:
        """State (``unused``, ``ok`` or ``unavailable``), the last error (no values) and counters."""
        return {
            "state": self.state,
            "last_error": self.last_error,
            "hits": self.hits,
            "vault_reads": self.vault_reads,
            "fallbacks": self.fallbacks,
            "rejected": self.rejected,
            "stale": self.stale,
            "unwraps": self.unwraps,
            "missing_hits": self.missing_hits,
        }

    def key(self, kind: str, ref_or_vault: KeyVaultReference | str, name: str = "", version: str = "") -> str:
        if isinstance(ref_or_vault, KeyVaultReference):
            vault, name, version = ref_or_vault.vault_url, ref_or_vault.name, version or (ref_or_vault.version or "")
        else:
            vault = ref_or_vault
        host = (urlsplit(vault).hostname or vault).lower()
        parts = [self.namespace, kind, host, name.lower()]
        if kind in ("v", "lease", "failed", "missing"):
            parts.append(version or "-")
        return ":".join(parts)

    @property
    def channel(self) -> str:
        return f"{self.namespace}:invalidate"

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._owns_client:
            await client.aclose()

    # -- reading and writing sealed entries ----------------------------------------------------------------------

    async def _open(self, purpose: str, parts: tuple[str, ...], blob: Any, record: Any) -> bytes | None:
        if not isinstance(blob, bytes) or len(blob) > _MAX_BLOB:
            self.rejected += 1
            return None
        data_key = await self._key_for(blob_key_id(blob), record)
        if data_key is None:
            self.stale += 1  # sealed under a retired data key: a miss, re-read and sealed again
            return None
        try:
            return data_key.open(self.namespace, purpose, parts, blob)
        except SealedFormatError:
            self.rejected += 1
            logger.warning("kvconfig shared cache: an entry failed authentication and was ignored (%s)", purpose)
            return None

    async def _load(self, ref: KeyVaultReference) -> CachedSecret | None:
        host = (urlsplit(ref.vault_url).hostname or "").lower()
        name = ref.name.lower()
        version = ref.version
        if version is None:
            record, pointer = await self._get_with_record(self.key("latest", ref))
            opened = None if pointer is None else await self._open("latest", (host, name), pointer, record)
            if opened is None:
                return None
            version = opened.decode()
        record, blob = await self._get_with_record(self.key("v", ref, version=version))
        plain = None if blob is None else await self._open("value", (host, name, version), blob, record)
        return None if plain is None else secret_from(plain, ref, version)

    def _missing_parts(self, ref: KeyVaultReference) -> tuple[str, ...]:
        return ((urlsplit(ref.vault_url).hostname or "").lower(), ref.name.lower(), ref.version or "-")

    async def _known_missing(self, ref: KeyVaultReference) -> bool:
        """Whether a replica found no such secret within ``missing_ttl`` (a sealed marker: one planted by someone
        without the data key fails authentication and is ignored, so it cannot hide a secret behind a default)."""
        if not self.missing_ttl:
            return False
        record, blob = await self._get_with_record(self.key("missing", ref))
        return blob is not None and await self._open("missing", self._missing_parts(ref), blob, record) == b"404"

    async def _store_missing(self, ref: KeyVaultReference) -> None:
        def entries(data_key: DataKey) -> list[tuple[str, bytes, int]]:
            sealed = data_key.seal(self.namespace, "missing", self._missing_parts(ref), b"404")
            return [(self.key("missing", ref), sealed, int(self.missing_ttl * 1000))]

        await self._store_sealed(entries)

    async def _store(self, ref: KeyVaultReference, secret: CachedSecret) -> None:
        host = (urlsplit(ref.vault_url).hostname or "").lower()
        name = ref.name.lower()

        def entries(data_key: DataKey) -> list[tuple[str, bytes, int]]:
            sealed = data_key.seal(self.namespace, "value", (host, name, secret.version), secret_bytes(secret))
            made = [(self.key("v", ref, version=secret.version), sealed, int(self.value_ttl * 1000))]
            if ref.version is None:
                pointer = data_key.seal(self.namespace, "latest", (host, name), secret.version.encode())
                made.append((self.key("latest", ref), pointer, int(self.ttl * 1000)))
            return made

        await self._store_sealed(entries)

    async def _store_sealed(self, entries: Callable[[DataKey], list[tuple[str, bytes, int]]]) -> None:
        """Seal under the data key the record names and write, in one transaction watching the record: a replica
        that missed a rotation adopts the new key first, so it never writes entries the others cannot open."""
        for _attempt in range(3):
            data_key = await self.data_key()
            if await self._call(partial(self._store_under, data_key, entries)):
                return
            async with self._key_lock():  # the record was rotated (or deleted): take the current one, then retry
                if self._data_key is data_key:
                    self._data_key = await self._load_or_make_data_key()

    async def _store_under(self, data_key: DataKey, entries: Callable[[DataKey], list[tuple[str, bytes, int]]]) -> bool:
        sealed = entries(data_key)
        async with self.client.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(self.record_key)
                if record_id(as_bytes(await pipe.get(self.record_key))) != data_key.key_id.hex():
                    await pipe.unwatch()  # type: ignore[no-untyped-call]
                    return False
                pipe.multi()  # type: ignore[no-untyped-call]
                for key, blob, ttl_ms in sealed:
                    pipe.set(key, blob, px=ttl_ms)
                await pipe.execute()
            except redis_module().exceptions.WatchError:
                return False
        return True

    async def forget_latest(self, vault_url: str, name: str) -> None:
        """Drop the shared pointer of a versionless secret (a new version exists): the next reader fetches it."""
        try:
            await self._call(
                lambda: self.client.delete(self.key("latest", vault_url, name), self.key("missing", vault_url, name))
            )
        except RedisDown as exc:
            self._mark_down(exc)

    # -- the read path -------------------------------------------------------------------------------------------

    async def get_or_fetch(
        self, ref: KeyVaultReference, fetch: Fetch, *, may_fetch: Callable[[], bool] = lambda: True
    ) -> CachedSecret:
        """The secret from Redis; or fetched from the vault by whichever replica holds the lease, others waiting.

        ``may_fetch()`` says whether this replica could read the vault now (its budget has a token): a replica that
        could not does not take the lease, so the fetches spread over replicas that can.
        """
        if self._clock() < self._down_until:
            self.fallbacks += 1
            return await fetch()
        fetched: list[CachedSecret] = []
        try:
            result = await self._get_or_fetch(ref, fetch, may_fetch, fetched)
        except RedisDown as exc:
            self._mark_down(exc)
            if fetched:
                return fetched[0]  # read from the vault; only storing it failed
            self.fallbacks += 1
            return await fetch()
        except (SealedFormatError, OSError) as exc:
            self._mark_down(exc)  # the data key could not be read or unwrapped: Redis is of no use to us
            if fetched:
                return fetched[0]
            self.fallbacks += 1
            return await fetch()
        self._mark_up()
        return result

    async def _get_or_fetch(
        self, ref: KeyVaultReference, fetch: Fetch, may_fetch: Callable[[], bool], fetched: list[CachedSecret]
    ) -> CachedSecret:
        await self.data_key()
        until = self._clock() + self.wait
        lease_key, failed_key = self.key("lease", ref), self.key("failed", ref)
        while True:
            found = await self._load(ref)
            if found is not None:
                self.hits += 1
                return found
            if await self._known_missing(ref):
                self.missing_hits += 1
                raise _not_found(ref)
            if may_fetch():
                token = os.urandom(16).hex()
                taken = await self._call(partial(self.client.set, lease_key, token, nx=True, px=int(self.lease * 1000)))
                if taken:
                    return await self._fetch_under_lease(ref, fetch, token, fetched)
            if await self._call(lambda: self.client.exists(failed_key)) or self._clock() >= until:
                self.fallbacks += 1
                secret = await fetch()
                fetched.append(secret)
                return secret
            await self._sleep(self.poll * (0.5 + self._rng()))

    async def _fetch_under_lease(
        self, ref: KeyVaultReference, fetch: Fetch, token: str, fetched: list[CachedSecret]
    ) -> CachedSecret:
        lease_key = self.key("lease", ref)
        try:
            found = await self._load(ref)  # stored while we were taking the lease
            if found is not None:
                self.hits += 1
                return found
            self.vault_reads += 1
            try:
                secret = await fetch()
            except Exception as exc:
                if self.missing_ttl and _is_not_found(exc):
                    await self._store_missing(ref)
                else:
                    await self._call(lambda: self.client.set(self.key("failed", ref), b"1", px=int(self.lease * 1000)))
                raise
            fetched.append(secret)
            await self._store(ref, secret)
            return secret
        finally:
            await self._release(lease_key, token)


def _is_not_found(exc: BaseException) -> bool:
    from azure.core.exceptions import ResourceNotFoundError

    return isinstance(exc, ResourceNotFoundError)


def _not_found(ref: KeyVaultReference) -> Exception:
    """The vault's 404 as another replica met it (the resolver reports it as it reports its own)."""
    from azure.core.exceptions import ResourceNotFoundError

    return ResourceNotFoundError(
        f"{ref.name} was not found in {ref.vault_url} by a replica's read shared through Redis (cached as missing)"
    )
