"""An exact-match response cache for deterministic calls, as pipeline middleware.

``Client(middleware=[ResponseCache(ttl=600)])`` caches ``messages.create`` results
in memory (an LRU bounded in entries and bytes); ``backend=RedisCacheBackend(url)``
shares them with a fleet. The key and what may be cached are
:mod:`rawclaude.policy.cachekey`'s (API version, betas, base URL, canonical
body; no streams, no sampling under the legacy version, no server tools).
Concurrent identical calls in one process are collapsed into one upstream call
(single flight); errors are never cached (and a leader's error sends each
follower upstream on its own). A hit is a fresh ``Message`` decoded from the
stored bytes with ``cache_hit(message)`` true and no request id; it never
reaches the pipeline, so the usage meter and the budget count nothing for it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec

from ..client.call import Call
from ..policy.cachekey import cache_key, cacheable_request, cacheable_response
from ..wire.errors import ConfigurationError
from ..wire.models import Message, decode_message

__all__ = ["CacheBackend", "MemoryCache", "ResponseCache", "cache_hit"]

Proceed = Callable[[Call], Awaitable[Any]]


class CacheBackend(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...


class MemoryCache:
    """An in-process LRU of response bytes with a TTL per entry."""

    def __init__(self, max_entries: int = 1024, max_bytes: int = 64 * 1024 * 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        if max_entries < 1 or max_bytes < 1:
            raise ConfigurationError("max_entries and max_bytes must be >= 1")
        self.max_entries, self.max_bytes, self.clock = max_entries, max_bytes, clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self.size = 0

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self.clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry[1]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if len(value) > self.max_bytes:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (self.clock() + ttl, value)
        self.size += len(value)
        while len(self._entries) > self.max_entries or self.size > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self.size -= len(value)

    def __len__(self) -> int:
        return len(self._entries)


def cache_hit(message: Any) -> bool:
    """Whether a message came from the response cache."""
    return bool(getattr(message, "_cache_hit", False))


class ResponseCache:
    """See the module docs. ``stats`` counts hits, misses, collapsed and skipped calls."""

    def __init__(self, backend: CacheBackend | None = None, *, ttl: float = 300.0,
                 allow_streams: bool = False) -> None:  # fmt: skip
        if not isinstance(ttl, (int, float)) or not ttl > 0:
            raise ConfigurationError("ttl must be a positive number of seconds")
        self.backend: CacheBackend = backend if backend is not None else MemoryCache()
        self.ttl = float(ttl)
        self.allow_streams = allow_streams
        self.stats = {"hits": 0, "misses": 0, "collapsed": 0, "skipped": 0}
        self._inflight: dict[str, asyncio.Future[bytes | None]] = {}

    async def __call__(self, call: Call, proceed: Proceed) -> Any:
        params = call.params
        version = call.pipeline.api_version
        if (
            call.kind != "messages.create"
            or params is None
            or cacheable_request(version, params, allow_streams=self.allow_streams)
        ):
            self.stats["skipped"] += 1
            return await proceed(call)
        betas = call.headers.get("anthropic-beta", "")
        key = cache_key(version, params, betas=[b for b in betas.split(",") if b],
                        namespace=call.pipeline.base_url)  # fmt: skip
        stored = await self.backend.get(key)
        if stored is not None:
            self.stats["hits"] += 1
            return _hit(stored)
        leader = self._inflight.get(key)
        if leader is not None:
            data = await asyncio.shield(leader)
            if data is not None:
                self.stats["collapsed"] += 1
                return _hit(data)
            return await proceed(call)  # the leader failed: errors are not shared
        return await self._lead(key, call, proceed)

    async def _lead(self, key: str, call: Call, proceed: Proceed) -> Any:
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        self.stats["misses"] += 1
        data: bytes | None = None
        try:
            result = await proceed(call)
            if isinstance(result, Message) and cacheable_response(result.stop_reason):
                data = msgspec.json.encode(result)
                await self.backend.set(key, data, self.ttl)
            return result
        finally:
            del self._inflight[key]
            future.set_result(data)


def _hit(data: bytes) -> Message:
    message = decode_message(data)
    message._cache_hit = True  # type: ignore[attr-defined]
    return message
