"""Compare-and-set and compare-and-delete on one Redis key, in a transaction watching it (``WATCH``/``MULTI``).

The shared tier uses them where two replicas may race: storing a data key record only where none, or only the refused
one, was read; releasing a fetch lease only while it still holds this replica's token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["delete_if_holding", "set_if_unchanged"]


async def set_if_unchanged(redis: Redis, key: str, expected: bytes | None, new: bytes) -> bool:
    """Set ``key`` to ``new`` only if it still holds ``expected`` (``None``: absent); whether it was set."""
    return await _change_if(redis, key, expected, new)


async def delete_if_holding(redis: Redis, key: str, expected: bytes) -> bool:
    """Delete ``key`` only if it still holds ``expected``; whether it was deleted."""
    return await _change_if(redis, key, expected, None)


def _watch_error() -> type[Exception]:
    try:
        from redis.exceptions import WatchError
    except ImportError as exc:
        raise ImportError("The shared cache needs redis-py; install it with: pip install 'kvconfig[redis]'") from exc
    return WatchError


async def _change_if(redis: Redis, key: str, expected: bytes | None, new: bytes | None) -> bool:
    WatchError = _watch_error()
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
