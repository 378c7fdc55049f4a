"""A response cache in Redis, shared by a fleet (layer 1, optional extra ``rawclaude[redis]``).

Entries are the response bytes under ``{key_prefix}cache:{sha256}``, written
with ``SET ... PX ttl`` (one atomic command: no Lua needed) and read with
``GET``. A cache is an optimisation, so an unreachable Redis is always a miss
(and a skipped write), logged once per outage: never an error for the call.
Single flight across processes is not attempted; within one process the cache
middleware collapses identical concurrent calls.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..wire.errors import ConfigurationError
from .redis_common import Health, client_from, describe, unavailable_errors

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisCacheBackend"]

logger = logging.getLogger("rawclaude.cache")


class RedisCacheBackend:
    """``await get(key) -> bytes | None`` and ``await set(key, value, ttl)`` in Redis."""

    def __init__(
        self,
        redis: str | Redis,
        *,
        key_prefix: str = "rawclaude:",
        max_entry_size: int = 4 * 1024 * 1024,
    ) -> None:
        if not isinstance(max_entry_size, int) or max_entry_size <= 0:
            raise ConfigurationError("max_entry_size must be a positive int (bytes)")
        self._client, self._owns_client = client_from(redis)
        self._prefix = f"{key_prefix}cache:"
        self.max_entry_size = max_entry_size
        self._errors = unavailable_errors()
        self._health = Health(
            describe(self._client),
            what="response cache",
            logger=logger,
            fail_open=True,
            consequence="every lookup is a miss until it is back",
        )

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._client.get(self._prefix + key)
        except self._errors as exc:
            self._health.unavailable(exc)
            return None
        self._health.reachable()
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if len(value) > self.max_entry_size:
            return
        try:
            await self._client.set(self._prefix + key, value, px=max(1, int(ttl * 1000)))
        except self._errors as exc:
            self._health.unavailable(exc)
            return
        self._health.reachable()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        return f"RedisCacheBackend(redis={self._health.where!r})"
