"""Budgets shared through Redis: one spend ledger per period for a whole fleet.

Layer 1, optional extra ``rawclaude[redis]``. Each operation is ONE Lua script
(atomic across every process and host), and the period is computed inside it
from the Redis server's clock (``TIME``), so workers whose clocks disagree
still agree on which day it is and on its spend.

Per budget scope and period there is a hash ``spent`` / ``reserved`` /
``warned`` (the warn thresholds already fired, so a fleet fires each once per
period), plus a sorted set of reservation leases scored by their deadline and
a hash of their amounts. A reservation whose process died without settling
expires after ``lease_seconds`` and gives its amount back, so a crash cannot
eat a budget for the rest of the day. Keys expire a day after their period
ends. All keys of one budget name share a hash tag (one Redis Cluster slot).

A reservation is all-or-nothing over the budgets that apply to a call (the
global one and a per-tag one, say): if one would be exceeded, none is taken.

Redis unreachable: ``on_unavailable="fail_closed"`` (the default: a budget is
a promise about money) raises :class:`~rawclaude.BudgetUnavailableError`;
``"fail_open"`` admits the call unbudgeted and logs one warning per outage.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..policy.budget import Budget, BudgetLine, BudgetReservation, exceeded, warn_mark
from ..wire.errors import BudgetUnavailableError, ConfigurationError
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

__all__ = ["BudgetStatus", "RedisBudgetStore"]

logger = logging.getLogger("rawclaude.budget")

# Shared Lua: the civil calendar (H. Hinnant's days <-> date algorithms) and the
# period of a budget at ``now`` with a UTC offset.
_CALENDAR = """
local function civil(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
                          - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
end
local function period(kind, offset, now)
  local days = math.floor((now + offset) / 86400)
  local y, m, d = civil(days)
  if kind == 'day' then
    return string.format('%04d-%02d-%02d', y, m, d), (days + 1) * 86400 - offset
  end
  local ny, nm = y, m + 1
  if nm == 13 then ny, nm = y + 1, 1 end
  return string.format('%04d-%02d', y, m), days_from_civil(ny, nm, 1) * 86400 - offset
end
local function clock(arg)
  local now = tonumber(arg)
  if now == nil then
    local t = redis.call('TIME')
    now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  end
  return now
end
-- Give back the leases that expired (their process never settled).
local function purge(key, now)
  local dead = redis.call('ZRANGEBYSCORE', key .. ':leases', '-inf', now)
  for _, id in ipairs(dead) do
    local amount = tonumber(redis.call('HGET', key .. ':amounts', id)) or 0
    redis.call('HINCRBY', key, 'reserved', -amount)
    redis.call('HDEL', key .. ':amounts', id)
  end
  if #dead > 0 then redis.call('ZREMRANGEBYSCORE', key .. ':leases', '-inf', now) end
end
"""

# ARGV: lease id, lease seconds, now ("" = TIME), n, then n x (base, limit,
# kind, offset, amount). Reply: {ok, n x {label, reset, spent, reserved}} with
# ok = 0 and the refusing line's index when one would be exceeded.
_RESERVE = (
    _CALENDAR
    + """
local id, lease = ARGV[1], tonumber(ARGV[2])
local now = clock(ARGV[3])
local n = tonumber(ARGV[4])
local lines, refused = {}, 0
for i = 1, n do
  local j = 4 + (i - 1) * 5
  local base, limit = ARGV[j + 1], tonumber(ARGV[j + 2])
  local label, reset = period(ARGV[j + 3], tonumber(ARGV[j + 4]), now)
  local key = base .. ':' .. label
  purge(key, now)
  local h = redis.call('HMGET', key, 'spent', 'reserved')
  local spent, reserved = tonumber(h[1]) or 0, tonumber(h[2]) or 0
  if refused == 0 and spent + reserved + tonumber(ARGV[j + 5]) > limit then refused = i end
  lines[i] = {key, label, reset, spent, reserved, tonumber(ARGV[j + 5])}
end
local reply = {refused == 0 and 1 or 0, refused}
for i = 1, n do
  local l = lines[i]
  if refused == 0 and l[6] > 0 then
    redis.call('HINCRBY', l[1], 'reserved', l[6])
    redis.call('ZADD', l[1] .. ':leases', now + lease, id)
    redis.call('HSET', l[1] .. ':amounts', id, l[6])
    l[5] = l[5] + l[6]
    local expire = math.ceil(math.max(l[3], now + lease) + 86400)
    for _, k in ipairs({l[1], l[1] .. ':leases', l[1] .. ':amounts'}) do
      redis.call('EXPIREAT', k, expire)
    end
  end
  table.insert(reply, {l[2], string.format('%.17g', l[3]), l[4], l[5]})
end
return reply
"""
)

# ARGV: lease id, now, n, then n x (key, actual, limit, thresholds "t1,t2" as
# micro-dollar amounts). Reply: n x {spent, fired amounts...}.
_SETTLE = (
    _CALENDAR
    + """
local id = ARGV[1]
local now = clock(ARGV[2])
local n = tonumber(ARGV[3])
local reply = {}
for i = 1, n do
  local j = 3 + (i - 1) * 4
  local key, actual = ARGV[j + 1], tonumber(ARGV[j + 2])
  if redis.call('ZREM', key .. ':leases', id) == 1 then
    local amount = tonumber(redis.call('HGET', key .. ':amounts', id)) or 0
    redis.call('HINCRBY', key, 'reserved', -amount)
    redis.call('HDEL', key .. ':amounts', id)
  end
  local spent = redis.call('HINCRBY', key, 'spent', actual)
  local warned = redis.call('HGET', key, 'warned') or ''
  local fired = {spent}
  for t in string.gmatch(ARGV[j + 4], '[^,]+') do
    if spent >= tonumber(t) and not string.find(',' .. warned .. ',', ',' .. t .. ',', 1, true) then
      warned = warned .. ',' .. t
      table.insert(fired, tonumber(t))
    end
  end
  if #fired > 1 then redis.call('HSET', key, 'warned', warned) end
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, 2 * 86400) end
  table.insert(reply, fired)
end
return reply
"""
)


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """One budget ledger as Redis holds it now (micro-dollars)."""

    period: str
    reset_at: float
    spent: int
    reserved: int


class RedisBudgetStore:
    """Budget ledgers in Redis, shared by every process using the same ``name``.

    ``await reserve(lines)`` reserves every line or raises
    :class:`~rawclaude.BudgetExceededError` (nothing taken); ``await settle(...)``
    releases a reservation and adds the actual cost, returning the warn
    thresholds that this settlement crossed first in the fleet. Lines come from
    :meth:`rawclaude.policy.budget.BudgetBook.lines` (``now`` is ignored there:
    the script recomputes the period on the server's clock).
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        name: str = "budget",
        on_unavailable: OnUnavailable = "fail_closed",
        key_prefix: str = "rawclaude:",
        lease_seconds: float = 900.0,
    ) -> None:
        if not isinstance(lease_seconds, (int, float)) or not lease_seconds > 0:
            raise ConfigurationError("lease_seconds must be a positive number of seconds")
        fail_open = check_mode(on_unavailable)
        self._client, self._owns_client = client_from(redis)
        self._base = f"{key_prefix}budget:{{{name}}}"
        self._lease = float(lease_seconds)
        self._reserve = self._client.register_script(_RESERVE)
        self._settle = self._client.register_script(_SETTLE)
        self._errors = unavailable_errors()
        self._health = Health(
            describe(self._client),
            what="budget",
            logger=logger,
            error=BudgetUnavailableError,
            fail_open=fail_open,
            consequence="admitting calls without the shared budget until it is back",
        )

    def key(self, scope: str, period: str) -> str:
        return f"{self._base}:{scope}:{period}"

    async def reserve(
        self, lines: Sequence[BudgetLine], *, now: float | None = None
    ) -> BudgetReservation | None:
        """Reserve every line (one round trip). None: Redis is down and failing open."""
        if not lines:
            return BudgetReservation(())
        lease = uuid.uuid4().hex
        args: list[Any] = [lease, repr(self._lease), _now(now), len(lines)]
        for line in lines:
            budget = line.budget
            base = f"{self._base}:{line.scope}"
            args += [base, budget.limit_micros, budget.period, budget.offset_seconds, line.amount]
        raw = await self._run(self._reserve, args)
        if raw is None:
            return None
        ok, refused, rows = int(raw[0]), int(raw[1]), raw[2:]
        placed = [_placed(line, row) for line, row in zip(lines, rows, strict=True)]
        if not ok:
            line, row = placed[refused - 1], rows[refused - 1]
            raise exceeded(line, int(row[2]), int(row[3]))
        return BudgetReservation(tuple(placed), lease)

    async def settle(
        self, reservation: BudgetReservation, actual: int, *, now: float | None = None
    ) -> list[tuple[BudgetLine, float]]:
        """Release ``reservation`` and add ``actual`` micro-dollars to each of its ledgers."""
        if not reservation.lines:
            return []
        args: list[Any] = [reservation.lease, _now(now), len(reservation.lines)]
        for line in reservation.lines:
            limit = line.budget.limit_micros
            marks = ",".join(str(warn_mark(t, limit)) for t in line.budget.warn_at)
            args += [self.key(line.scope, line.period), max(0, int(actual)), limit, marks]
        raw = await self._run(self._settle, args)
        if raw is None:
            return []
        fired = []
        for line, row in zip(reservation.lines, raw, strict=True):
            by_mark = {warn_mark(t, line.budget.limit_micros): t for t in line.budget.warn_at}
            fired += [(line, by_mark[int(m)]) for m in row[1:] if int(m) in by_mark]
        return fired

    async def status(
        self, budget: Budget, tags: Mapping[str, str] | None = None, *, now: float | None = None
    ) -> BudgetStatus | None:
        """Spend and reservations of the current period (a zero reservation, no lease)."""
        scope = budget.scope(tags or {})
        if scope is None:
            return None
        args: list[Any] = ["peek", repr(self._lease), _now(now), 1]
        args += [f"{self._base}:{scope}", budget.limit_micros, budget.period,
                 budget.offset_seconds, 0]  # fmt: skip
        raw = await self._run(self._reserve, args)
        if raw is None:
            return None
        label, reset, spent, reserved = raw[2]
        return BudgetStatus(_text(label), float(reset), int(spent), int(reserved))

    async def _run(self, script: Any, args: list[Any]) -> Any:
        try:
            raw = await script(keys=[self._base], args=args)
        except self._errors as exc:
            self._health.unavailable(exc)  # raises unless failing open
            return None
        self._health.reachable()
        return raw

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        mode = "fail_open" if self._health.fail_open else "fail_closed"
        return (
            f"RedisBudgetStore(key={self._base!r}, redis={self._health.where!r}, "
            f"on_unavailable={mode!r})"
        )


def _placed(line: BudgetLine, row: Sequence[Any]) -> BudgetLine:
    """The line with the period the server placed it in."""
    return BudgetLine(line.budget, line.scope, _text(row[0]), float(row[1]), line.amount)


def _now(now: float | None) -> str:
    return "" if now is None else repr(float(now))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
