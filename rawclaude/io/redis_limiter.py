"""Token buckets shared through Redis, so a fleet of processes keeps one set of limits.

Layer 1, optional extra ``rawclaude[redis]``: ``redis`` is imported only when a
bucket or factory is built, never by ``import rawclaude``.

Design (the redis.io token-bucket pattern, written from scratch here):

* One hash per bucket holds ``tokens``, ``ts`` (last refill) and ``paused``
  (no grants before). Every operation is ONE Lua script run (``EVALSHA``, with
  redis-py's ``register_script`` falling back to loading the script on
  ``NOSCRIPT``), so read-refill-decide-write is atomic.
* Time is the Redis server's (``TIME`` inside the script; allowed since Redis
  5 replicates scripts by effects), never the workers', so workers whose
  clocks disagree still agree on the bucket. If the server clock steps back,
  the bucket simply does not refill until it catches up.
* Each write sets a TTL of twice the full-refill time plus any pause, so idle
  buckets vanish; a vanished bucket comes back full, which is what it would
  have refilled to anyway.
* A refused grant returns how long until the tokens will be there; the waiter
  sleeps that long (plus a little jitter so processes do not wake in step)
  instead of polling.

Fairness: strict FIFO across processes would need a shared queue. Instead
each process keeps its waiters in FIFO order behind a lock, and only the head
waiter of each process asks Redis. Between processes, grants go to whichever
head asks first once the tokens are there, so a process asking for large
amounts can be delayed by others asking for small ones; the sum granted never
exceeds ``rate * t + capacity``.

Redis unreachable: ``on_unavailable="fail_closed"`` (the default) raises
:class:`RateLimiterUnavailableError` (the redis error chained as its cause) so
nothing is sent unlimited; ``"fail_open"`` grants, and logs one warning per
outage. Reprs, logs and errors name only host, port and db, never the URL,
which may hold a password.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Any, NamedTuple

from ..policy.bucket import check_amount, non_negative, positive
from ..wire.errors import RateLimiterUnavailableError
from .limiter import RateLimiter
from .redis_common import (
    Health,
    OnUnavailable,
    check_mode,
    client_from,
    describe,
    unavailable_errors,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisBucketFactory", "RedisTokenBucket", "redis_rate_limiter"]

logger = logging.getLogger("rawclaude.limiter")

# KEYS[1]: the bucket hash. ARGV: op, amount, rate (tokens/s), capacity.
# Reply: {granted 0/1, tokens, wait}; the floats travel as strings because a Lua
# number in a reply is truncated to an integer.
_SCRIPT = """
local op = ARGV[1]
local amount = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local capacity = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local h = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'paused')
local tokens, ts, paused = tonumber(h[1]), tonumber(h[2]), tonumber(h[3]) or 0
if tokens == nil or ts == nil then
  tokens, ts = capacity, now
end
if now > ts then
  tokens, ts = tokens + (now - ts) * rate, now
end
tokens = math.min(tokens, capacity)
local granted, wait = 1, 0
if op == 'acquire' then
  local deficit = amount - tokens
  if now >= paused and deficit <= 1e-9 * math.max(1, amount) then
    tokens = tokens - amount
  else
    granted, wait = 0, math.max(paused - now, deficit / rate)
  end
elseif op == 'refund' then
  tokens = math.min(capacity, tokens + amount)
elseif op == 'clamp' then
  tokens = math.min(tokens, amount)
elseif op == 'pause' then
  paused = math.max(paused, now + amount)
elseif op ~= 'peek' then
  return redis.error_reply('rawclaude bucket: unknown op ' .. tostring(op))
end
if op ~= 'acquire' then
  wait = math.max(0, paused - now)
end
if op ~= 'peek' then
  local f = '%.17g'
  redis.call('HSET', KEYS[1], 'tokens', string.format(f, tokens),
             'ts', string.format(f, ts), 'paused', string.format(f, paused))
  local ttl = 2 * capacity / rate + math.max(0, paused - now) + 1
  redis.call('PEXPIRE', KEYS[1], math.ceil(ttl * 1000))
end
return {granted, string.format('%.17g', tokens), string.format('%.17g', wait)}
"""

# Sleep past the hinted wait by up to this much (seconds, plus 1% of the wait),
# so the head waiters of many processes do not all ask in the same millisecond.
_JITTER = 0.002


class _Reply(NamedTuple):
    granted: bool
    tokens: float
    wait: float


def _health(client: Redis, fail_open: bool) -> Health:
    """Outage state shared by the buckets of one client: one warning per outage."""
    return Health(
        describe(client), logger=logger, error=RateLimiterUnavailableError, fail_open=fail_open
    )


class RedisTokenBucket:
    """A token bucket kept in Redis, shared by every process using the same key.

    The API of :class:`~rawclaude.TokenBucket`, async where Redis is involved:
    ``await acquire(amount)``, ``await try_acquire(amount)``,
    ``await refund(amount)``, ``await clamp(remaining)``, ``await pause_for(seconds)``,
    and ``await tokens()`` to read the level. All processes sharing a key must
    use the same ``rate`` and ``capacity``.

    ``redis`` is a URL (``redis://[:password@]host:port/db``; the bucket then
    owns the client: ``await aclose()``) or a ``redis.asyncio.Redis`` client
    (yours to close). The key is ``key_prefix + key``.
    """

    def __init__(
        self,
        redis: str | Redis,
        key: str,
        rate: float,
        capacity: float,
        *,
        on_unavailable: OnUnavailable = "fail_closed",
        key_prefix: str = "rawclaude:",
    ) -> None:
        self._rate = positive("rate", rate)
        self._capacity = positive("capacity", capacity)
        self._fail_open = check_mode(on_unavailable)
        self._client, self._owns_client = client_from(redis)
        self._key = key_prefix + key
        self._script = self._client.register_script(_SCRIPT)
        self._errors = unavailable_errors()
        self._health = _health(self._client, self._fail_open)
        self._lock = asyncio.Lock()  # per-process FIFO in front of the shared bucket
        self._tasks: set[asyncio.Future[Any]] = set()

    @property
    def key(self) -> str:
        return self._key

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def capacity(self) -> float:
        return self._capacity

    async def acquire(self, amount: float = 1.0) -> None:
        """Wait until ``amount`` tokens can be taken from the shared bucket, and take them."""
        amount = self._check_amount(amount)
        if amount == 0:
            return
        async with self._lock:
            while True:
                reply = await self._acquire_once(amount)
                if reply is None or reply.granted:
                    return
                jitter = random.uniform(0.0, _JITTER + 0.01 * reply.wait)
                await asyncio.sleep(reply.wait + jitter)

    async def try_acquire(self, amount: float = 1.0) -> bool:
        """Take ``amount`` tokens if they are there now and no waiter of this process is queued."""
        amount = self._check_amount(amount)
        if self._lock.locked():
            return False
        reply = await self._acquire_once(amount)
        return reply is None or reply.granted

    async def refund(self, amount: float) -> None:
        """Give back unused tokens (capped at capacity)."""
        await self._call("refund", non_negative("amount", amount))

    async def clamp(self, remaining: float) -> None:
        """Keep at most ``remaining`` tokens (the server's view)."""
        await self._call("clamp", non_negative("remaining", remaining))

    async def pause_for(self, seconds: float) -> None:
        """No grants for ``seconds`` from now (Redis server time), for every process."""
        await self._call("pause", non_negative("seconds", seconds))

    async def tokens(self) -> float | None:
        """Tokens available now; None when Redis is unreachable in fail-open mode."""
        reply = await self._call("peek", 0.0)
        return None if reply is None else reply.tokens

    async def paused_for(self) -> float | None:
        """Seconds left of a pause; None when Redis is unreachable in fail-open mode."""
        reply = await self._call("peek", 0.0)
        return None if reply is None else reply.wait

    async def aclose(self) -> None:
        """Finish pending refunds; close the Redis client if this bucket made it (from a URL)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._owns_client:
            await self._client.aclose()

    def _check_amount(self, amount: float) -> float:
        return check_amount(amount, self._capacity)

    async def _acquire_once(self, amount: float) -> _Reply | None:
        # Shielded: if the caller is cancelled while the script runs, the
        # script still finishes, and tokens it granted are given back.
        call = asyncio.ensure_future(self._call("acquire", amount))
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            call.add_done_callback(lambda done: self._undo_grant(done, amount))
            raise

    def _undo_grant(self, done: asyncio.Future[_Reply | None], amount: float) -> None:
        if done.cancelled() or done.exception() is not None:
            return
        reply = done.result()
        if reply is not None and reply.granted:
            task = asyncio.ensure_future(self._call("refund", amount))
            self._tasks.add(task)
            task.add_done_callback(self._undo_done)

    def _undo_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("rate limiter: refund lost: %s", task.exception())

    async def _call(self, op: str, amount: float) -> _Reply | None:
        args = (op, amount, self._rate, self._capacity)
        try:
            raw = await self._script(keys=[self._key], args=args)
        except self._errors as exc:
            self._health.unavailable(exc)  # raises unless failing open
            return None
        self._health.reachable()
        return _Reply(bool(int(raw[0])), float(raw[1]), float(raw[2]))

    def __repr__(self) -> str:
        # Safe on a half-built object (an __init__ that raised): a repr must not raise.
        mode = "fail_open" if getattr(self, "_fail_open", False) else "fail_closed"
        health = getattr(self, "_health", None)
        return (
            f"RedisTokenBucket(key={getattr(self, '_key', None)!r}, "
            f"rate={getattr(self, '_rate', float('nan')):g}/s, "
            f"capacity={getattr(self, '_capacity', float('nan')):g}, "
            f"redis={getattr(health, 'where', None)!r}, on_unavailable={mode!r})"
        )


class RedisBucketFactory:
    """A :data:`~rawclaude._limiter.BucketFactory` for :class:`RateLimiter`: shared buckets
    ``{key_prefix}{key}:requests``, ``:input_tokens`` and ``:output_tokens`` on one client."""

    def __init__(
        self,
        redis: str | Redis,
        *,
        key: str,
        on_unavailable: OnUnavailable = "fail_closed",
        key_prefix: str = "rawclaude:",
    ) -> None:
        self._mode: OnUnavailable = on_unavailable
        fail_open = check_mode(on_unavailable)
        self._client, self._owns_client = client_from(redis)
        self._key = key
        self._prefix = key_prefix
        self._health = _health(self._client, fail_open)

    def __call__(self, name: str, rate: float, capacity: float) -> RedisTokenBucket:
        bucket = RedisTokenBucket(
            self._client,
            f"{self._key}:{name}",
            rate,
            capacity,
            on_unavailable=self._mode,
            key_prefix=self._prefix,
        )
        bucket._health = self._health  # one outage warning for the whole limiter
        return bucket

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        # Safe on a half-built object (an __init__ that raised): a repr must not raise.
        health = getattr(self, "_health", None)
        return (
            f"RedisBucketFactory(key={getattr(self, '_key', None)!r}, "
            f"redis={getattr(health, 'where', None)!r})"
        )


def redis_rate_limiter(
    redis: str | Redis,
    *,
    key: str,
    requests_per_minute: float | None = None,
    input_tokens_per_minute: float | None = None,
    output_tokens_per_minute: float | None = None,
    max_concurrency: int | None = None,
    burst_seconds: float = 60.0,
    on_unavailable: OnUnavailable = "fail_closed",
    key_prefix: str = "rawclaude:",
) -> RateLimiter:
    """A :class:`RateLimiter` whose buckets live in Redis under ``key``, shared by a fleet.

    ``max_concurrency`` stays per process. ``await limiter.aclose()`` closes a
    client built from a URL.
    """
    factory = RedisBucketFactory(
        redis, key=key, on_unavailable=on_unavailable, key_prefix=key_prefix
    )
    return RateLimiter(
        requests_per_minute,
        input_tokens_per_minute,
        output_tokens_per_minute,
        max_concurrency,
        burst_seconds=burst_seconds,
        bucket_factory=factory,
    )
