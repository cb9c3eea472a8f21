"""Invalidation across replicas: a new secret version announced on a Redis channel, heard by every replica once.

Event Grid delivers ``Microsoft.KeyVault.SecretNewVersionCreated`` to one endpoint (one replica, behind a load
balancer). That replica calls ``SecretResolver.invalidate(vault, name)``; with a fleet that has a shared tier, the
resolver drops the shared pointer in Redis and publishes ``{"vault", "name", "from"}`` on ``<ns>:invalidate``. Every
other replica's subscriber drops its own pointer and refreshes that secret once; the first to read it fetches it
from the vault under the lease and the rest read it from Redis. Messages are small JSON objects; anything else (too
large, not JSON, fields missing) is ignored. A replica ignores its own messages (it already refreshed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from cachetools import TTLCache

from kvconfig.fleet.redis_cache import RedisSharedCache

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["InvalidationChannel", "parse_invalidation"]

logger = logging.getLogger("kvconfig")

OnInvalidate = Callable[[str, str], Awaitable[object]]

_MAX_MESSAGE = 2048
_RECONNECT = 1.0


def parse_invalidation(data: Any) -> tuple[str, str, str, str] | None:
    """``(vault_url, name, sender, message id)`` of a channel message, or ``None`` when it is not one of ours."""
    if isinstance(data, str):
        data = data.encode()
    if not isinstance(data, bytes) or len(data) > _MAX_MESSAGE:
        return None
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    fields: list[str] = []
    for key in ("vault", "name", "from", "id"):
        item = parsed.get(key)
        if not isinstance(item, str) or not 0 < len(item) <= 512:
            return None
        fields.append(item)
    vault, name, sender, message_id = fields
    if not vault.startswith("https://"):
        return None
    return vault, name, sender, message_id


class InvalidationChannel:
    """Publishes invalidations and listens for the other replicas' ones on the shared tier's Redis."""

    def __init__(self, shared: RedisSharedCache, *, pubsub_client: Callable[[], Redis] | None = None) -> None:
        self.shared = shared
        self.replica = os.urandom(8).hex()
        self._pubsub_client = pubsub_client
        self._task: asyncio.Task[None] | None = None
        self._seen: TTLCache[str, bool] = TTLCache(maxsize=4096, ttl=600)
        self.received = 0
        self.listening = asyncio.Event()

    async def publish(self, vault_url: str, name: str) -> None:
        """Drop the shared pointer and tell the other replicas (best effort: Redis down only logs)."""
        await self.shared.forget_latest(vault_url, name)
        message = json.dumps({"vault": vault_url, "name": name, "from": self.replica, "id": os.urandom(8).hex()})
        try:
            await self.shared._call(lambda: self.shared.client.publish(self.shared.channel, message))
        except Exception as exc:
            self.shared._mark_down(exc)

    def start(self, on_invalidate: OnInvalidate) -> None:
        """Listen on the current event loop until :meth:`aclose` (reconnecting after Redis errors)."""
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._listen(on_invalidate))

    async def _listen(self, on_invalidate: OnInvalidate) -> None:
        while True:
            try:
                client = self._pubsub_client() if self._pubsub_client is not None else self.shared.client
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.shared.channel)
                    self.listening.set()
                    async for message in pubsub.listen():
                        await self._handle(message, on_invalidate)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.listening.clear()
                logger.warning("kvconfig invalidation channel lost (%s); listening again shortly", type(exc).__name__)
                await asyncio.sleep(_RECONNECT)

    async def _handle(self, message: Any, on_invalidate: OnInvalidate) -> None:
        if not isinstance(message, dict) or message.get("type") != "message":
            return
        parsed = parse_invalidation(message.get("data"))
        if parsed is None:
            return
        vault, name, sender, message_id = parsed
        if sender == self.replica or message_id in self._seen:
            return
        self._seen[message_id] = True
        self.received += 1
        try:
            await on_invalidate(vault, name)
        except Exception:
            logger.exception("kvconfig: refreshing after an invalidation failed")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
