"""Conversation stores keyed by conversation id, with optimistic concurrency.

A store keeps each conversation's JSON and a version number (0: absent).
``save(id, data, expected_version=v)`` writes only if the stored version is
still ``v`` and returns ``v + 1``; otherwise it raises
ConversationConflictError and writes nothing, so two writers that loaded the
same version can never both win: the loser reloads and retries (see
``Conversation.save``) or reports the conflict.

``RedisConversationStore`` does the check and the write in one Lua script
(atomic on the Redis server); ``redis`` is imported only when one is made
(``pip install "rawclaude[redis]"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..wire.errors import ConfigurationError, ConversationConflictError, ConversationStoreError

if TYPE_CHECKING:
    import redis.asyncio as aioredis

__all__ = ["ConversationStore", "MemoryConversationStore", "RedisConversationStore"]


class ConversationStore(Protocol):
    """What ``Conversation`` needs from a store."""

    async def load(self, conversation_id: str) -> tuple[bytes, int] | None:
        """``(data, version)``, or None when there is no such conversation."""
        ...

    async def save(self, conversation_id: str, data: bytes, *, expected_version: int) -> int:
        """Write if the stored version is ``expected_version``; the new version."""
        ...

    async def delete(self, conversation_id: str) -> None: ...


class MemoryConversationStore:
    """In this process only (tests, one worker). Check and write happen without an
    ``await`` in between, so tasks of one event loop cannot interleave them."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[bytes, int]] = {}

    async def load(self, conversation_id: str) -> tuple[bytes, int] | None:
        return self._items.get(conversation_id)

    async def save(self, conversation_id: str, data: bytes, *, expected_version: int) -> int:
        current = self._items.get(conversation_id, (b"", 0))[1]
        if current != expected_version:
            raise ConversationConflictError(
                conversation_id, expected_version=expected_version, actual_version=current or None
            )
        self._items[conversation_id] = (bytes(data), current + 1)
        return current + 1

    async def delete(self, conversation_id: str) -> None:
        self._items.pop(conversation_id, None)


# KEYS[1] the conversation's hash; ARGV: expected version, data, ttl in ms (0: none).
# Returns {1, new_version} or {0, current_version}.
_SAVE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then
  return {0, current}
end
redis.call('HSET', KEYS[1], 'v', current + 1, 'data', ARGV[2])
if tonumber(ARGV[3]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {1, current + 1}
"""


class RedisConversationStore:
    """Conversations in Redis (a hash per id: ``v`` and ``data``), shared by a fleet.

    ``url`` or an existing ``redis.asyncio.Redis`` client (``client=``; not closed
    by ``aclose``). ``ttl`` seconds: each save renews the key's expiry.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: aioredis.Redis | None = None,
        prefix: str = "rawclaude:conversation:",
        ttl: float | None = None,
    ) -> None:
        if (url is None) == (client is None):
            raise ConfigurationError("RedisConversationStore needs url= or client= (one of them)")
        if ttl is not None and not ttl > 0:
            raise ConfigurationError(f"ttl must be None or > 0 seconds, got {ttl!r}")
        if client is None:
            import redis.asyncio as aioredis  # the optional extra, only when used

            client = aioredis.Redis.from_url(str(url))
            self._owned = True
        else:
            self._owned = False
        self._redis = client
        self._prefix = prefix
        self._ttl_ms = 0 if ttl is None else max(1, int(ttl * 1000))
        self._script = client.register_script(_SAVE)

    def __repr__(self) -> str:
        return f"<RedisConversationStore prefix={self._prefix!r}>"  # never the URL (password)

    def _key(self, conversation_id: str) -> str:
        return self._prefix + conversation_id

    async def load(self, conversation_id: str) -> tuple[bytes, int] | None:
        try:
            version, data = await self._redis.hmget(self._key(conversation_id), ["v", "data"])
        except Exception as exc:
            raise _unavailable(exc) from exc
        if version is None or data is None:
            return None
        raw = data.encode() if isinstance(data, str) else bytes(data)
        return raw, int(version)

    async def save(self, conversation_id: str, data: bytes, *, expected_version: int) -> int:
        args: list[Any] = [expected_version, data, self._ttl_ms]
        try:
            ok, version = await self._script(keys=[self._key(conversation_id)], args=args)
        except Exception as exc:
            raise _unavailable(exc) from exc
        if not ok:
            raise ConversationConflictError(
                conversation_id,
                expected_version=expected_version,
                actual_version=int(version) or None,
            )
        return int(version)

    async def delete(self, conversation_id: str) -> None:
        try:
            await self._redis.delete(self._key(conversation_id))
        except Exception as exc:
            raise _unavailable(exc) from exc

    async def aclose(self) -> None:
        if self._owned:
            await self._redis.aclose()


def _unavailable(exc: Exception) -> ConversationStoreError:
    # The message names the exception type only: redis errors can carry the URL.
    return ConversationStoreError(f"the Redis conversation store failed ({type(exc).__name__})")
