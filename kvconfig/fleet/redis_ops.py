"""Redis helpers of the shared tier: redis-py (imported on first use), replies as bytes, and compare-and-set and
compare-and-delete on one key in a transaction watching it (``WATCH``/``MULTI``).

The tier compares and sets where two replicas may race: storing a data key record only where none, or only the
refused one, was read; releasing a lease only while it still holds this replica's token.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "NAMESPACE_RULE",
    "RedisDown",
    "as_bytes",
    "delete_if_holding",
    "is_client",
    "is_namespace",
    "is_redis_url",
    "redis_module",
    "set_if_unchanged",
]

#: What a namespace may be. ``:`` separates the parts of the tier's keys, so a namespace holding one could overlap
#: another's keys (``app`` and ``app:v``: dropping one's entries would drop the other's).
NAMESPACE_RULE = "1 to 64 letters, digits, '-', '_' or '.'"
_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_MAX_URL = 4096


def is_namespace(value: object) -> bool:
    """Whether ``value`` may prefix the tier's keys (:data:`NAMESPACE_RULE`)."""
    return isinstance(value, str) and _NAMESPACE.fullmatch(value) is not None


def is_redis_url(value: str) -> bool:
    """Whether ``value`` is a ``redis://``, ``rediss://`` or ``unix://`` URL of a bounded length (never shown: it may
    hold a password). Its port must read as one: a password with an unescaped ``#``, ``/`` or ``?`` ends the host
    early, and redis-py would then name the password's head as a bad port."""
    if len(value) > _MAX_URL:
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number from 0 to 65535
    except ValueError:
        return False
    return parts.scheme in ("redis", "rediss", "unix")


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
