"""Redis helpers of the shared tier: redis-py (imported on first use), replies as bytes, and compare-and-set and
compare-and-delete on one key in a transaction watching it (``WATCH``/``MULTI``).

The tier compares and sets where two replicas may race: storing a data key record only where none, or only the
refused one, was read; releasing a lease only while it still holds this replica's token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisDown", "as_bytes", "delete_if_holding", "is_client", "redis_module", "set_if_unchanged"]


class RedisDown(Exception):
    """A Redis command failed or timed out; the cause is chained."""


def redis_module() -> Any:
    """redis-py (imported when the shared tier is first used, so that ``kvconfig.fleet`` imports without it)."""
    try:
        import redis.asyncio
        import redis.exceptions
    except ImportError as exc:
        raise ImportError("RedisSharedCache needs redis-py; install it with: pip install 'kvconfig[redis]'") from exc
    return redis


def as_bytes(value: Any) -> bytes | None:
    if isinstance(value, str):
        return value.encode()
    return value if isinstance(value, bytes) else None


def is_client(value: Any) -> bool:
    return hasattr(value, "pipeline") and hasattr(value, "get")


async def set_if_unchanged(redis: Redis, key: str, expected: bytes | None, new: bytes) -> bool:
    """Set ``key`` to ``new`` only if it still holds ``expected`` (``None``: absent); whether it was set."""
    return await _change_if(redis, key, expected, new)


async def delete_if_holding(redis: Redis, key: str, expected: bytes) -> bool:
    """Delete ``key`` only if it still holds ``expected``; whether it was deleted."""
    return await _change_if(redis, key, expected, None)


async def _change_if(redis: Redis, key: str, expected: bytes | None, new: bytes | None) -> bool:
    WatchError = redis_module().exceptions.WatchError
    async with redis.pipeline(transaction=True) as pipe:
        try:
            await pipe.watch(key)
            if await pipe.get(key) != expected:
                await pipe.unwatch()  # type: ignore[no-untyped-call]
                return False
            pipe.multi()  # type: ignore[no-untyped-call]
            if new is None:
                pipe.delete(key)
            else:
                pipe.set(key, new)
            await pipe.execute()
        except WatchError:
            return False
    return True
