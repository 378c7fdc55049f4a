"""Circuit breakers shared through Redis, so a fleet stops hammering a failing API together.

Layer 1, optional extra ``rawclaude[redis]``. The state machine is the one of
:mod:`rawclaude.policy.breaker` (same states, transitions and counting), run
in ONE Lua script per operation so read-decide-write is atomic across
processes, on the Redis server's clock (``TIME``). Per circuit key (base URL
and model, see :func:`~rawclaude.policy.breaker.breaker_key`) there is a hash
(state, consecutive failures, opened-at, the rolling window's buckets) and a
sorted set of probes in flight (scored by start time, so a probe whose process
died stops counting after ``probe_timeout``). Both keys share a hash tag so a
Redis Cluster keeps them in one slot, and both expire when a circuit has been
idle long enough that an empty state means the same thing.

Redis unreachable: ``on_unavailable="fail_open"`` (the default here: a breaker
protects the API, and failing closed would turn a Redis outage into an API
outage) admits the call and logs one warning per outage; ``"fail_closed"``
raises :class:`~rawclaude.CircuitBreakerUnavailableError`.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from ..policy.breaker import Admission, BreakerConfig, State, Verdict
from ..wire.errors import CircuitBreakerUnavailableError, ConfigurationError
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

__all__ = ["RedisCircuitBreaker"]

logger = logging.getLogger("rawclaude.breaker")

# KEYS: the state hash, the probes zset. ARGV: op (admit|record|peek), verdict,
# probe token, then the config (threshold, rate, window, min_calls, cooldown,
# max probes, probe timeout, buckets), then ``now`` ("" = the server's TIME).
# Reply: {allowed, probe, state, retry_in as a string (Lua would truncate a float)}.
_SCRIPT = """
local op, verdict, token = ARGV[1], ARGV[2], ARGV[3]
local threshold, rate, window = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local min_calls, cooldown = tonumber(ARGV[7]), tonumber(ARGV[8])
local max_probes, probe_timeout, nb = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local now = tonumber(ARGV[12])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local h = redis.call('HMGET', KEYS[1], 'state', 'consecutive', 'opened_at')
local state = h[1] or 'closed'
local consecutive = tonumber(h[2]) or 0
local opened_at = tonumber(h[3]) or 0
local width = window / nb

local function clear()
  consecutive = 0
  for i = 0, nb - 1 do redis.call('HDEL', KEYS[1], 'b' .. i) end
  redis.call('DEL', KEYS[2])
end
local function bucket(i)
  local raw = redis.call('HGET', KEYS[1], 'b' .. i)
  if not raw then return nil, 0, 0 end
  local a, b, c = string.match(raw, '^(-?%d+):(%d+):(%d+)$')
  return tonumber(a), tonumber(b), tonumber(c)
end
local function count(failed)
  if failed then consecutive = consecutive + 1 else consecutive = 0 end
  local idx = math.floor(now / width)
  local slot = idx % nb
  local bi, bc, bf = bucket(slot)
  if bi ~= idx then bc, bf = 0, 0 end
  bc = bc + 1
  if failed then bf = bf + 1 end
  redis.call('HSET', KEYS[1], 'b' .. slot, string.format('%d:%d:%d', idx, bc, bf))
  local calls, fails = 0, 0
  for i = 0, nb - 1 do
    local ti, tc, tf = bucket(i)
    if ti ~= nil and ti > idx - nb then calls, fails = calls + tc, fails + tf end
  end
  if consecutive >= threshold or (calls >= min_calls and fails >= rate * calls) then
    state, opened_at = 'open', now
    clear()
  end
end

if state == 'open' and now - opened_at >= cooldown then state = 'half_open' end
local allowed, probe, retry_in = 0, 0, 0
if op == 'admit' then
  if state == 'closed' then
    allowed = 1
  elseif state == 'open' then
    retry_in = opened_at + cooldown - now
  else
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.17g', now - probe_timeout))
    if redis.call('ZCARD', KEYS[2]) >= max_probes then
      local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
      retry_in = tonumber(oldest[2]) + probe_timeout - now
    else
      redis.call('ZADD', KEYS[2], string.format('%.17g', now), token)
      allowed, probe = 1, 1
    end
  end
elseif op == 'record' then
  local is_probe = token ~= ''
  if is_probe then redis.call('ZREM', KEYS[2], token) end
  if verdict ~= 'ignore' then
    if state == 'half_open' and is_probe then
      if verdict == 'success' then
        state = 'closed'
      else
        state, opened_at = 'open', now
      end
      clear()
    elseif state == 'closed' then
      count(verdict == 'failure')
    end
  end
elseif op ~= 'peek' then
  return redis.error_reply('rawclaude breaker: unknown op ' .. tostring(op))
end
if op ~= 'peek' then
  redis.call('HSET', KEYS[1], 'state', state, 'consecutive', consecutive,
             'opened_at', string.format('%.17g', opened_at))
  local ttl = math.ceil(2 * math.max(window, cooldown, probe_timeout) + 1) * 1000
  redis.call('PEXPIRE', KEYS[1], ttl)
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return {allowed, probe, state, string.format('%.17g', retry_in)}
"""


class RedisCircuitBreaker:
    """Circuit breakers by key, their state in Redis and shared by every process.

    ``await admit(key)`` before a call returns an :class:`Admission` (``token``
    set for a probe); ``await record(key, verdict, token=admission.token)``
    after it. All processes sharing a key must use the same ``config``.
    ``redis`` is a URL (the breaker owns the client: ``await aclose()``) or a
    ``redis.asyncio.Redis`` client (yours to close).
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        config: BreakerConfig | None = None,
        on_unavailable: OnUnavailable = "fail_open",
        key_prefix: str = "rawclaude:",
    ) -> None:
        if config is not None and not isinstance(config, BreakerConfig):
            raise ConfigurationError("config must be a BreakerConfig")
        self.config = config or BreakerConfig()
        fail_open = check_mode(on_unavailable)
        self._client, self._owns_client = client_from(redis)
        self._prefix = key_prefix
        self._script = self._client.register_script(_SCRIPT)
        self._errors = unavailable_errors()
        self._health = Health(
            describe(self._client),
            what="circuit breaker",
            logger=logger,
            error=CircuitBreakerUnavailableError,
            fail_open=fail_open,
            consequence="admitting calls without the shared circuit state until it is back",
        )
        c = self.config
        self._config_args = (
            c.failure_threshold, repr(float(c.failure_rate)), repr(float(c.window)),
            c.min_calls, repr(float(c.cooldown)), c.half_open_probes,
            repr(float(c.probe_timeout)), c.buckets,
        )  # fmt: skip

    def keys(self, key: str) -> list[str]:
        # One hash tag for both keys: a Redis Cluster puts them in one slot.
        base = f"{self._prefix}breaker:{{{key}}}"
        return [base, base + ":probes"]

    async def admit(self, key: str, *, now: float | None = None) -> Admission:
        """May a call on circuit ``key`` go now? (``now``: replay/tests; default server time)."""
        token = uuid.uuid4().hex
        reply = await self._run(key, "admit", "", token, now)
        if reply is None:
            return Admission(True, State.CLOSED)
        allowed, probe, state, retry_in = reply
        return Admission(
            allowed, state, probe=probe, retry_in=retry_in, token=token if probe else ""
        )

    async def record(
        self, key: str, verdict: Verdict, *, token: str = "", now: float | None = None
    ) -> State | None:
        """Report a finished call (``token`` of its admission if it was a probe)."""
        reply = await self._run(key, "record", Verdict(verdict).value, token, now)
        return None if reply is None else reply[2]

    async def state(self, key: str, *, now: float | None = None) -> State | None:
        """The circuit's state (None when Redis is unreachable in fail-open mode)."""
        reply = await self._run(key, "peek", "", "", now)
        return None if reply is None else reply[2]

    async def _run(
        self, key: str, op: str, verdict: str, token: str, now: float | None
    ) -> tuple[bool, bool, State, float] | None:
        args = (op, verdict, token, *self._config_args, "" if now is None else repr(float(now)))
        try:
            raw = await self._script(keys=self.keys(key), args=args)
        except self._errors as exc:
            self._health.unavailable(exc)  # raises unless failing open
            return None
        self._health.reachable()
        state = raw[2].decode() if isinstance(raw[2], bytes) else str(raw[2])
        return bool(int(raw[0])), bool(int(raw[1])), State(state), float(raw[3])

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        mode = "fail_open" if self._health.fail_open else "fail_closed"
        return f"RedisCircuitBreaker(redis={self._health.where!r}, on_unavailable={mode!r})"
