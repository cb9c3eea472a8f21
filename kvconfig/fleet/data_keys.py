"""The shared tier's Redis client and its data key: made by one replica, adopted (verified, unwrapped) by the others,
checked against the record read with every blob, re-wrapped or replaced (``rotation.py``).

:class:`DataKeys` is the base of :class:`~kvconfig.fleet.redis_cache.RedisSharedCache`, whose constructor sets the
attributes declared here; the entries, leases and the read path are that module's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from kvconfig.fleet import rotation
from kvconfig.fleet.redis_ops import RedisDown, as_bytes, delete_if_holding, is_client, redis_module, set_if_unchanged
from kvconfig.fleet.rotation import DataKeyChange, DataKeyError, glob_escape
from kvconfig.fleet.sealing import (
    DataKey,
    RecordRefusedError,
    SealedFormatError,
    WrapSeam,
    new_data_key,
    open_data_key,
    record_id,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DataKeys"]

logger = logging.getLogger("kvconfig")

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[object]]


class DataKeys:
    """The Redis client and the data key of a shared tier (the attributes are set by ``RedisSharedCache``)."""

    key_wrapper: WrapSeam
    namespace: str
    lease: float
    wait: float
    poll: float
    op_timeout: float
    rejected: int
    unwraps: int
    _redis_arg: Redis | Callable[[], Redis] | str
    _client: Redis | None
    _data_key: DataKey | None
    _data_key_lock: asyncio.Lock | None
    _seen_record: tuple[bytes | None, str | None]
    _refused: bytes | None
    _clock: Callable[[], float]
    _sleep: Sleep
    _rng: Callable[[], float]

    # -- the Redis client ----------------------------------------------------------------------------------------

    @property
    def client(self) -> Redis:
        if self._client is None:
            arg = self._redis_arg
            if isinstance(arg, str):
                self._client = redis_module().asyncio.Redis.from_url(
                    arg, socket_timeout=self.op_timeout, socket_connect_timeout=self.op_timeout
                )
            elif is_client(arg):
                self._client = arg  # type: ignore[assignment]
            else:
                self._client = arg()  # type: ignore[operator]
        assert self._client is not None
        return self._client

    async def _call(self, op: Callable[[], Awaitable[T]]) -> T:
        try:
            result = await asyncio.wait_for(op(), self.op_timeout)
        except (redis_module().exceptions.RedisError, OSError, asyncio.TimeoutError) as exc:
            raise RedisDown(type(exc).__name__) from exc
        return result

    # -- the data key --------------------------------------------------------------------------------------------

    @property
    def record_key(self) -> str:
        """The Redis key of the data key record."""
        return f"{self.namespace}:datakey"

    async def data_key(self) -> DataKey:
        """This replica's data key: made and stored by the first replica, unwrapped once by each of the others."""
        if self._data_key is not None:
            return self._data_key
        async with self._key_lock():
            if self._data_key is None:
                self._data_key = await self._load_or_make_data_key()
            return self._data_key

    def _key_lock(self) -> asyncio.Lock:
        if self._data_key_lock is None:
            self._data_key_lock = asyncio.Lock()
        return self._data_key_lock

    async def _load_or_make_data_key(self) -> DataKey:
        """The record's key; or a new one, stored only where no record (or the refused one) still is."""
        for _attempt in range(3):
            record = as_bytes(await self._call(lambda: self.client.get(self.record_key)))
            if record is not None:
                try:
                    return await self._adopt(record)
                except RecordRefusedError:
                    pass  # not signed by its key: replaced below (a forged record denies nothing but its entries)
            made = await self._make_data_key(record)
            if made is not None:
                return made
        raise RedisDown("the data key record keeps changing")

    async def _make_data_key(self, record: bytes | None) -> DataKey | None:
        """A new data key, stored only if ``record`` (none, or the refused one) is still there; ``None`` when another
        replica changed it first. One replica makes it, under a lease (a signature is a vault call); the others
        wait for its record, at most ``wait`` seconds."""
        lease_key, token, until = f"{self.record_key}:lease", os.urandom(16).hex(), self._clock() + self.wait
        changed = partial(self._record_changed, record)
        while not await self._call(partial(self.client.set, lease_key, token, nx=True, px=int(self.lease * 1000))):
            if await changed():
                return None
            if self._clock() >= until:
                break
            await self._sleep(self.poll * (0.5 + self._rng()))
        try:
            if await changed():  # made by the lease's previous holder
                return None
            try:
                made, fresh = await new_data_key(self.key_wrapper, record_key=self.record_key)
            except Exception as exc:  # the vault refused the wrap or the signature: no key, no shared tier
                raise SealedFormatError(f"the data key could not be wrapped ({type(exc).__name__})") from exc
            stored = await self._call(partial(set_if_unchanged, self.client, self.record_key, record, fresh))
            return made if stored else None
        finally:
            await self._release(lease_key, token)

    async def _record_changed(self, record: bytes | None) -> bool:
        return as_bytes(await self._call(lambda: self.client.get(self.record_key))) != record

    async def _adopt(self, record: bytes) -> DataKey:
        if record == self._refused:
            raise RecordRefusedError("The data key record was refused already.")
        self.unwraps += 1
        try:
            return await open_data_key(record, self.key_wrapper, record_key=self.record_key)
        except RecordRefusedError as exc:
            self.rejected += 1
            self._refused = record
            logger.warning("kvconfig shared cache: the data key record in Redis was refused: %s", exc)
            raise
        except (RedisDown, SealedFormatError):
            raise
        except Exception as exc:  # the vault refused the unwrap: no key, no shared tier
            raise SealedFormatError(f"the data key could not be unwrapped ({type(exc).__name__})") from exc

    async def _key_for(self, blob_id: bytes, record: Any) -> DataKey | None:
        """The data key a blob names, if ``record`` (read with the blob) names it too: ours; or the record's when the
        record was rotated to that key since we unwrapped ours (adopted once). ``None`` for a blob under a key the
        record no longer names (stale), even when it is the one this replica still holds: a retired key is never
        trusted again, so entries planted under it are not served."""
        current = self._data_key
        record = as_bytes(record)
        if current is None or record is None or self._record_id(record) != blob_id.hex():
            return None
        if blob_id == current.key_id:
            return current
        async with self._key_lock():
            if self._data_key is None or self._data_key.key_id != blob_id:
                try:
                    self._data_key = await self._adopt(record)
                except RecordRefusedError:
                    return None  # a miss: the value is read from the vault, and storing it replaces the record
            return self._data_key

    def _record_id(self, record: bytes) -> str | None:
        """The id a record names (the last one is remembered: read on every lookup, it rarely changes)."""
        if record != self._seen_record[0]:
            self._seen_record = (record, record_id(record))
        return self._seen_record[1]

    async def _get_with_record(self, key: str) -> tuple[Any, Any]:
        """The data key record and the entry at ``key``, in one command (the record decides which key may open it)."""
        record, blob = await self._call(lambda: self.client.mget(self.record_key, key))
        return record, blob

    # -- changing the data key (rotation.py) ---------------------------------------------------------------------

    async def rewrap(self, wrapper: WrapSeam | None = None) -> DataKeyChange:
        """Wrap the same data key again with ``wrapper`` (default ``key_wrapper``: with a versionless key id, the key's
        current version). Run it after the key-encryption key gets a new version; no entry is invalidated and no
        replica notices. ``key_wrapper`` must be able to unwrap under the version the record names (a versioned
        client of it, or ``client_factory=``)."""
        wrapping = wrapper or self.key_wrapper
        return await self._changing(rotation.rewrap_data_key(self.client, self.record_key, self.key_wrapper, wrapping))

    async def rotate_data_key(self, *, drop_entries: bool = True) -> DataKeyChange:
        """Replace the data key with a new one wrapped by ``key_wrapper``. Entries sealed under the old key are never
        opened again: deleted now (``drop_entries``) or left to expire. Each secret is then read from the vault once
        for the whole fleet (under the lease) and sealed under the new key; replicas adopt it as they meet it."""
        namespace = glob_escape(self.namespace)
        drop = (f"{namespace}:v:*", f"{namespace}:latest:*", f"{namespace}:missing:*") if drop_entries else ()
        change = await self._changing(
            rotation.replace_data_key(self.client, self.record_key, self.key_wrapper, drop=drop)
        )
        self._data_key = None  # this replica reads the new record on its next use, like the others
        return change

    async def _changing(self, change: Awaitable[DataKeyChange]) -> DataKeyChange:
        try:
            return await change
        except (redis_module().exceptions.RedisError, OSError, asyncio.TimeoutError) as exc:
            raise DataKeyError(
                f"Redis failed while the data key record was being changed ({type(exc).__name__}); run it again."
            ) from exc

    async def _release(self, lease_key: str, token: str) -> None:
        """Delete the lease only if it is still ours (it may have expired and gone to another replica)."""
        with contextlib.suppress(RedisDown):  # when Redis fails, it expires by itself
            await self._call(partial(delete_if_holding, self.client, lease_key, token.encode()))
