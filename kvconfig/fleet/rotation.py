"""Changing the shared tier's data key record: re-wrapping the same data key, or replacing it with a new one.

* **Re-wrap** (after the key-encryption key got a new version in Key Vault): one unwrap under the version the record
  names, one wrap under the new one; the record keeps its data key id, so every sealed entry stays readable and no
  replica notices. Replicas starting later unwrap with the new version; the old one can then be disabled.
* **Replace** (the data key itself is retired): a new data key with a new id is stored; entries sealed under the old
  one are never opened again (each names its data key id in its first bytes) and are deleted here unless asked not
  to. Replicas holding the old key in memory adopt the new one when they meet an entry sealed under it, or before
  they store one (:meth:`RedisSharedCache._store_sealed` watches the record), so no replica seals under a retired
  key; and a reader opens a blob only under the key the record names, so none opens an entry under one.

Both verify what they read and write signed records (``sealing.py``): a record its key did not sign is refused,
never re-wrapped (replace it). Both change the record only if it is still the one read (compare and set, in one Lua
script): two rotations at once cannot silently undo each other. Nothing here holds or prints a key: results carry
ids only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kvconfig.errors import KvConfigError
from kvconfig.fleet.sealing import UnwrapSeam, WrapSeam, new_data_key, record_summary, rewrap_record

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DataKeyChange", "DataKeyError", "glob_escape", "replace_data_key", "rewrap_data_key"]

# Set KEYS[1] to ARGV[2] only if it still holds ARGV[1] ("" standing for "no record").
_COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
_SCAN_BATCH = 500


class DataKeyError(KvConfigError):
    """The data key record could not be re-wrapped or replaced: none exists yet, it changed meanwhile, or Redis
    failed. Nothing was changed unless the message says so."""


@dataclass(frozen=True)
class DataKeyChange:
    """What a re-wrap or a replacement did: record ids and Key Vault key ids, never a key."""

    data_key_id: str
    wrapped_by: str
    algorithm: str
    previous_data_key_id: str | None
    previous_wrapped_by: str | None
    entries_dropped: int = 0

    @property
    def new_data_key(self) -> bool:
        return self.data_key_id != self.previous_data_key_id


async def rewrap_data_key(redis: Redis, record_key: str, unwrapper: UnwrapSeam, wrapper: WrapSeam) -> DataKeyChange:
    """Wrap the data key stored at ``record_key`` again with ``wrapper`` (same data key, same id)."""
    record = await redis.get(record_key)
    if not isinstance(record, bytes):
        raise DataKeyError(
            f"There is no data key record at {record_key} to re-wrap: no replica has used the shared tier yet "
            "(the first one makes it, wrapped by the key's current version)."
        )
    rewrapped = await rewrap_record(record, unwrapper, wrapper, record_key=record_key)
    await _compare_and_set(redis, record_key, record, rewrapped)
    before, after = record_summary(record), record_summary(rewrapped)
    return DataKeyChange(after["id"], after["kid"], after["alg"], before["id"], before["kid"])


async def replace_data_key(
    redis: Redis, record_key: str, wrapper: WrapSeam, *, drop: tuple[str, ...] = ()
) -> DataKeyChange:
    """Store a new data key wrapped by ``wrapper`` at ``record_key``; then delete the keys matching the ``drop``
    patterns (the sealed entries of the namespace: none of them opens under the new key)."""
    record = await redis.get(record_key)
    before = record_summary(record) if isinstance(record, bytes) else None
    _made, fresh = await new_data_key(wrapper, record_key=record_key)
    await _compare_and_set(redis, record_key, record if isinstance(record, bytes) else None, fresh)
    dropped = 0
    for pattern in drop:
        dropped += await _delete_matching(redis, pattern)
    after = record_summary(fresh)
    return DataKeyChange(
        after["id"],
        after["kid"],
        after["alg"],
        before["id"] if before else None,
        before["kid"] if before else None,
        dropped,
    )


def glob_escape(text: str) -> str:
    """``text`` matched literally in a Redis ``SCAN MATCH`` pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


async def _compare_and_set(redis: Redis, key: str, expected: bytes | None, new: bytes) -> None:
    changed = await redis.eval(_COMPARE_AND_SET, 1, key, expected or b"", new)
    if changed != 1:
        raise DataKeyError(
            f"The data key record at {key} changed while it was being replaced; nothing was written. "
            "Run the rotation again."
        )


async def _delete_matching(redis: Redis, pattern: str) -> int:
    deleted = 0
    batch: list[bytes] = []
    async for key in redis.scan_iter(match=pattern, count=_SCAN_BATCH):
        batch.append(key)
        if len(batch) >= _SCAN_BATCH:
            deleted += await redis.unlink(*batch)
            batch = []
    if batch:
        deleted += await redis.unlink(*batch)
    return deleted
