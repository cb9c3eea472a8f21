"""The shared cache tier on Redis: sealed secret versions, versionless pointers with a TTL, and fetch leases.

What Redis holds (``<ns>`` is the namespace, ``kvconfig`` by default; hosts and names are not secret):

- ``<ns>:datakey``: the data key record: its id, the Key Vault key id (versioned) and algorithm that wrapped it, and
  the wrapped key. Never the key itself.
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
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from kvconfig.fleet.sealing import DataKey, SealedFormatError, WrapSeam, blob_key_id, new_data_key, open_data_key
from kvconfig.references import KeyVaultReference
from kvconfig.resolve import CachedSecret

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisSharedCache"]

logger = logging.getLogger("kvconfig")

T = TypeVar("T")
Fetch = Callable[[], Awaitable[CachedSecret]]
Sleep = Callable[[float], Awaitable[object]]

_MAX_BLOB = 256 * 1024  # Key Vault secrets are at most 25k characters; anything far larger is not ours


class _RedisDown(Exception):
    """A Redis command failed or timed out; the cause is chained."""


class RedisSharedCache:
    """A cache tier shared by every replica, on Redis, holding only sealed values.

    :param redis: a ``redis.asyncio.Redis`` client, a factory of one (called on the resolver's loop, where the
        client must live), or a ``redis://`` URL.
    :param key_wrapper: wraps and unwraps the data key through Key Vault: ``kvconfig.crypto.AsyncAzureKeyWrapper``
        (or any kvconfig.crypto key wrapper). Each replica unwraps once.
    :keyword namespace: prefix of every key and of the invalidation channel.
    :keyword ttl: seconds a versionless pointer stays in Redis (the fleet's refresh interval).
    :keyword value_ttl: seconds a sealed version stays in Redis.
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
        if not wait >= 0 or not op_timeout > 0 or not retry_interval >= 0:
            raise ValueError("wait and retry_interval must not be negative; op_timeout must be positive.")
        if not namespace or any(c in namespace for c in " \r\n"):
            raise ValueError("namespace must be a non-empty string without spaces.")
        self._redis_arg = redis
        self._client: Redis | None = None
        self._owns_client = not _is_client(redis)
        self.key_wrapper = key_wrapper
        self.namespace = namespace
        self.ttl, self.value_ttl, self.lease, self.wait, self.poll = ttl, value_ttl, lease, wait, poll
        self.op_timeout, self.retry_interval = op_timeout, retry_interval
        self._clock, self._sleep, self._rng = clock, sleep, rng
        self._data_key: DataKey | None = None
        self._data_key_lock: asyncio.Lock | None = None
        self._down_until = float("-inf")
        self.state = "unused"
        self.last_error: str | None = None
        self.hits = self.vault_reads = self.fallbacks = self.rejected = self.unwraps = 0

    # -- plumbing ------------------------------------------------------------------------------------------------

    @property
    def client(self) -> Redis:
        if self._client is None:
            arg = self._redis_arg
            if isinstance(arg, str):
                self._client = _redis().asyncio.Redis.from_url(
                    arg, socket_timeout=self.op_timeout, socket_connect_timeout=self.op_timeout
                )
            elif _is_client(arg):
                self._client = arg  # type: ignore[assignment]
            else:
                self._client = arg()  # type: ignore[operator]
        assert self._client is not None
        return self._client

    async def _call(self, op: Callable[[], Awaitable[T]]) -> T:
        try:
            result = await asyncio.wait_for(op(), self.op_timeout)
        except (_redis().exceptions.RedisError, OSError, asyncio.TimeoutError) as exc:
            raise _RedisDown(type(exc).__name__) from exc
        return result

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
            "unwraps": self.unwraps,
        }

    def key(self, kind: str, ref_or_vault: KeyVaultReference | str, name: str = "", version: str = "") -> str:
        if isinstance(ref_or_vault, KeyVaultReference):
            vault, name, version = ref_or_vault.vault_url, ref_or_vault.name, version or (ref_or_vault.version or "")
        else:
            vault = ref_or_vault
        host = (urlsplit(vault).hostname or vault).lower()
        parts = [self.namespace, kind, host, name.lower()]
        if kind in ("v", "lease", "failed"):
            parts.append(version or "-")
        return ":".join(parts)

    @property
    def channel(self) -> str:
        return f"{self.namespace}:invalidate"

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._owns_client:
            await client.aclose()

    # -- the data key --------------------------------------------------------------------------------------------

    async def data_key(self) -> DataKey:
        """This replica's data key: made and stored by the first replica, unwrapped once by each of the others."""
        if self._data_key is not None:
            return self._data_key
        if self._data_key_lock is None:
            self._data_key_lock = asyncio.Lock()
        async with self._data_key_lock:
            if self._data_key is None:
                self._data_key = await self._load_or_make_data_key()
            return self._data_key

    async def _load_or_make_data_key(self, *, replacing: bytes | None = None) -> DataKey:
        name = f"{self.namespace}:datakey"
        record = _bytes(await self._call(lambda: self.client.get(name)))
        if record is not None and (replacing is None or _record_id(record) != replacing.hex()):
            self.unwraps += 1
            return await open_data_key(record, self.key_wrapper)
        made, fresh = await new_data_key(self.key_wrapper)
        if replacing is not None:
            await self._call(lambda: self.client.set(name, fresh))
            return made
        if await self._call(lambda: self.client.set(name, fresh, nx=True)):
            return made
        # Another replica stored its key first: use that one, so every replica seals under the same key.
        record = _bytes(await self._call(lambda: self.client.get(name)))
        if record is None:
            raise _RedisDown("the data key record vanished")
        self.unwraps += 1
        return await open_data_key(record, self.key_wrapper)

    async def _refresh_data_key(self, blob_id: bytes) -> DataKey | None:
        """A blob under another data key: the record was replaced (rotation); take the current one, once."""
        current = self._data_key
        if current is None or blob_id == current.key_id:
            return None
        name = f"{self.namespace}:datakey"
        record = _bytes(await self._call(lambda: self.client.get(name)))
        if record is None or _record_id(record) in (None, current.key_id.hex()):
            return None
        self.unwraps += 1
        self._data_key = await open_data_key(record, self.key_wrapper)
        return self._data_key

    # -- reading and writing sealed entries ----------------------------------------------------------------------

    def _open(self, data_key: DataKey, purpose: str, parts: tuple[str, ...], blob: Any) -> bytes | None:
        if not isinstance(blob, bytes) or len(blob) > _MAX_BLOB:
            self.rejected += 1
            return None
        try:
            return data_key.open(self.namespace, purpose, parts, blob)
        except SealedFormatError:
            self.rejected += 1
            logger.warning("kvconfig shared cache: an entry failed authentication and was ignored (%s)", purpose)
            return None

    async def _load(self, data_key: DataKey, ref: KeyVaultReference) -> CachedSecret | None:
        host = (urlsplit(ref.vault_url).hostname or "").lower()
        name = ref.name.lower()
        version = ref.version
        if version is None:
            pointer = await self._call(lambda: self.client.get(self.key("latest", ref)))
            if pointer is None:
                return None
            newer = await self._refresh_data_key(blob_key_id(pointer)) if isinstance(pointer, bytes) else None
            opened = self._open(newer or data_key, "latest", (host, name), pointer)
            if opened is None:
                return None
            version = opened.decode()
            data_key = newer or data_key
        blob = await self._call(lambda: self.client.get(self.key("v", ref, version=version)))
        if blob is None:
            return None
        plain = self._open(data_key, "value", (host, name, version), blob)
        if plain is None:
            return None
        return _secret_from(plain, ref, version)

    async def _store(self, data_key: DataKey, ref: KeyVaultReference, secret: CachedSecret) -> None:
        host = (urlsplit(ref.vault_url).hostname or "").lower()
        name = ref.name.lower()
        sealed = data_key.seal(self.namespace, "value", (host, name, secret.version), _secret_bytes(secret))
        pipe = self.client.pipeline(transaction=False)
        pipe.set(self.key("v", ref, version=secret.version), sealed, px=int(self.value_ttl * 1000))
        if ref.version is None:
            pointer = data_key.seal(self.namespace, "latest", (host, name), secret.version.encode())
            pipe.set(self.key("latest", ref), pointer, px=int(self.ttl * 1000))
        await self._call(pipe.execute)

    async def forget_latest(self, vault_url: str, name: str) -> None:
        """Drop the shared pointer of a versionless secret (a new version exists): the next reader fetches it."""
        try:
            await self._call(lambda: self.client.delete(self.key("latest", vault_url, name)))
        except _RedisDown as exc:
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
        except _RedisDown as exc:
            self._mark_down(exc)
            if fetched:
                return fetched[0]  # read from the vault; only storing it failed
            self.fallbacks += 1
            return await fetch()
        except (SealedFormatError, OSError) as exc:
            self._mark_down(exc)  # the data key could not be read or unwrapped: Redis is of no use to us
            self.fallbacks += 1
            return await fetch()
        self._mark_up()
        return result

    async def _get_or_fetch(
        self, ref: KeyVaultReference, fetch: Fetch, may_fetch: Callable[[], bool], fetched: list[CachedSecret]
    ) -> CachedSecret:
        try:
            data_key = await self.data_key()
        except (_RedisDown, SealedFormatError):
            raise
        except Exception as exc:  # the vault refused the unwrap (or wrap): no key, no shared tier
            raise SealedFormatError(f"the data key could not be wrapped or unwrapped ({type(exc).__name__})") from exc
        until = self._clock() + self.wait
        lease_key, failed_key = self.key("lease", ref), self.key("failed", ref)
        while True:
            found = await self._load(data_key, ref)
            if found is not None:
                self.hits += 1
                return found
            if may_fetch():
                token = os.urandom(16).hex()
                taken = await self._call(partial(self.client.set, lease_key, token, nx=True, px=int(self.lease * 1000)))
                if taken:
                    return await self._fetch_under_lease(data_key, ref, fetch, token, fetched)
            if await self._call(lambda: self.client.exists(failed_key)) or self._clock() >= until:
                self.fallbacks += 1
                secret = await fetch()
                fetched.append(secret)
                return secret
            await self._sleep(self.poll * (0.5 + self._rng()))

    async def _fetch_under_lease(
        self, data_key: DataKey, ref: KeyVaultReference, fetch: Fetch, token: str, fetched: list[CachedSecret]
    ) -> CachedSecret:
        lease_key = self.key("lease", ref)
        try:
            found = await self._load(data_key, ref)  # stored while we were taking the lease
            if found is not None:
                self.hits += 1
                return found
            self.vault_reads += 1
            try:
                secret = await fetch()
            except Exception:
                await self._call(lambda: self.client.set(self.key("failed", ref), b"1", px=int(self.lease * 1000)))
                raise
            fetched.append(secret)
            await self._store(data_key, ref, secret)
            return secret
        finally:
            await self._release(lease_key, token)

    async def _release(self, lease_key: str, token: str) -> None:
        """Delete the lease only if it is still ours (it may have expired and gone to another replica)."""
        WatchError = _redis().exceptions.WatchError

        async def release() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                await pipe.watch(lease_key)
                current = _bytes(await pipe.get(lease_key))
                if current is not None and current.decode() == token:
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.delete(lease_key)
                    await pipe.execute()
                else:
                    await pipe.unwatch()  # type: ignore[no-untyped-call]

        try:
            await self._call(release)
        except WatchError:
            pass  # changed under us: it is no longer ours to delete
        except _RedisDown:
            pass  # it expires by itself


def _redis() -> Any:
    """redis-py (imported when the shared tier is first used, so that ``kvconfig.fleet`` imports without it)."""
    try:
        import redis.asyncio
        import redis.exceptions
    except ImportError as exc:
        raise ImportError("RedisSharedCache needs redis-py; install it with: pip install 'kvconfig[redis]'") from exc
    return redis


def _bytes(value: Any) -> bytes | None:
    if isinstance(value, str):
        return value.encode()
    return value if isinstance(value, bytes) else None


def _is_client(value: Any) -> bool:
    return hasattr(value, "pipeline") and hasattr(value, "get")


def _record_id(record: bytes) -> str | None:
    try:
        parsed = json.loads(record)
    except ValueError:
        return None
    identifier = parsed.get("id") if isinstance(parsed, dict) else None
    return identifier if isinstance(identifier, str) else None


def _stamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(float(value), tz=timezone.utc) if isinstance(value, int | float) else None


def _secret_bytes(secret: CachedSecret) -> bytes:
    return json.dumps(
        {
            "value": secret.value,
            "enabled": secret.enabled,
            "nbf": _stamp(secret.not_before),
            "exp": _stamp(secret.expires_on),
            "ct": secret.content_type,
        }
    ).encode()


def _secret_from(plain: bytes, ref: KeyVaultReference, version: str) -> CachedSecret | None:
    try:
        data = json.loads(plain)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("value"), str):
        return None
    content_type = data.get("ct")
    return CachedSecret(
        vault_url=ref.vault_url,
        name=ref.name,
        version=version,
        value=data["value"],
        enabled=data.get("enabled") is not False,
        not_before=_when(data.get("nbf")),
        expires_on=_when(data.get("exp")),
        content_type=content_type if isinstance(content_type, str) else None,
    )
