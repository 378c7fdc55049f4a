"""Budget arithmetic (layer 0, pure, explicit ``now``): periods, worst cases, reserve/settle.

A :class:`Budget` is a spend limit per period (a day or a calendar month, in UTC
or at a fixed UTC offset), for all calls or separately for each value of one
tag (``Budget("50", tag="tenant")``: every tenant gets $50 a day). Money is
kept in integer micro-dollars, so sums are exact and fit a Redis script's
numbers (exact up to 2**53 micro-dollars, about nine billion dollars).

Before a call, its *worst case* is reserved: the estimated input priced at the
highest rate it could be billed at (a 1-hour cache write if the request asks
for one, a 5-minute write if it asks for caching, base input otherwise; the
long-prompt tier when the estimate is over it; US-only inference and fast
mode when asked for) plus ``max_tokens`` of output. A call whose worst case
does not fit ``limit - spent - reserved`` is refused before anything is sent.
When it ends, the reservation is released and the actual cost added to the
spend of the period it was reserved in (a call crossing midnight settles
against the day it started in).

:class:`BudgetBook` is the in-process ledger; ``rawclaude.io.redis_budget``
keeps the same ledger in Redis for a fleet.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any, Literal

import msgspec

from ..wire.errors import BudgetExceededError, ConfigurationError
from .cost import UNITS_PER_MICRO_USD, ScaledRates
from .prices import ModelPrice

__all__ = [
    "Budget",
    "BudgetBook",
    "BudgetLine",
    "BudgetHold",
    "BudgetReservation",
    "Period",
    "crossed_thresholds",
    "exceeded",
    "request_cache_write",
    "micro_usd",
    "period_of",
    "usd",
    "warn_mark",
    "worst_case_micros",
    "worst_case_of",
    "worst_case_rates",
]

Period = Literal["day", "month"]
_MICRO = Decimal(1_000_000)


def micro_usd(amount: Decimal | str | int | float) -> int:
    """USD as whole micro-dollars, rounded up (a limit or a cost)."""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        raise ConfigurationError(f"not an amount of USD: {amount!r}") from None
    if not value.is_finite() or value < 0:
        raise ConfigurationError(f"an amount of USD must be finite and >= 0, got {amount!r}")
    return int((value * _MICRO).to_integral_value(ROUND_CEILING))


def usd(micros: int) -> Decimal:
    return Decimal(micros) / _MICRO


@dataclass(frozen=True, slots=True)
class Budget:
    """A spend limit (USD) per ``period``, for every call or per value of the call tag ``tag``.

    ``utc_offset`` (seconds, or a ``timedelta``) says where the period starts:
    ``-5 * 3600`` resets at midnight UTC-5. ``warn_at`` are fractions of the limit
    at which ``on_warn`` callbacks fire, once per period.
    """

    limit: Decimal | str | int | float
    period: Period = "day"
    tag: str | None = None
    utc_offset: float | dt.timedelta = 0
    warn_at: Sequence[float] = ()
    name: str = "budget"
    limit_micros: int = field(init=False)
    offset_seconds: int = field(init=False)
    _all_scope: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit_micros", micro_usd(self.limit))
        object.__setattr__(self, "_all_scope", f"{self.name}:all")
        if self.period not in ("day", "month"):
            raise ConfigurationError(f"period must be 'day' or 'month', not {self.period!r}")
        offset = self.utc_offset
        seconds = offset.total_seconds() if isinstance(offset, dt.timedelta) else offset
        if not isinstance(seconds, (int, float)) or not abs(seconds) < 86400:
            raise ConfigurationError("utc_offset must be under a day (seconds or a timedelta)")
        object.__setattr__(self, "offset_seconds", int(seconds))
        for fraction in self.warn_at:
            if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
                raise ConfigurationError(f"warn_at fractions must be in (0, 1], got {fraction!r}")
        object.__setattr__(self, "warn_at", tuple(sorted(self.warn_at)))
        if self.tag is not None and (not isinstance(self.tag, str) or not self.tag):
            raise ConfigurationError("tag must be a non-empty tag name")

    def scope(self, tags: Mapping[str, str]) -> str | None:
        """The ledger this budget keeps for a call with ``tags`` (None: it does not apply)."""
        if self.tag is None:
            return self._all_scope
        value = tags.get(self.tag)
        return None if value is None else f"{self.name}:tag:{self.tag}={value}"


_PERIODS: dict[tuple[str, int], tuple[float, float, str]] = {}


def period_of(budget: Budget, now: float) -> tuple[str, float]:
    """The period ``now`` (epoch seconds) falls in: its label and when it resets."""
    label, _, reset = period_bounds(budget, now)
    return label, reset


def period_bounds(budget: Budget, now: float) -> tuple[str, float, float]:
    """The period ``now`` falls in: its label, when it started and when it resets."""
    cache_key = (budget.period, budget.offset_seconds)
    cached = _PERIODS.get(cache_key)
    if cached is not None and cached[0] <= now < cached[1]:
        return cached[2], cached[0], cached[1]
    label, start, reset = _period(budget, now)
    _PERIODS[cache_key] = (start, reset, label)
    return label, start, reset


def _period(budget: Budget, now: float) -> tuple[str, float, float]:
    zone = dt.timezone(dt.timedelta(seconds=budget.offset_seconds))
    local = dt.datetime.fromtimestamp(now, zone)
    if budget.period == "day":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + dt.timedelta(days=1)
        return start.strftime("%Y-%m-%d"), start.timestamp(), end.timestamp()
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    end = start.replace(year=year, month=month)
    return start.strftime("%Y-%m"), start.timestamp(), end.timestamp()


def worst_case_rates(
    price: ModelPrice, *, inference_geo: str | None = None, fast: bool = False
) -> ScaledRates:
    """The rates a call asking for ``inference_geo`` / ``fast`` could be billed at, at most
    (an unknown geo at the model's costliest)."""
    multiplier = Decimal(1)
    if inference_geo and price.geo is not None:
        multiplier *= price.geo.get(inference_geo, max(price.geo.values(), default=multiplier))
    if fast and price.fast is not None:
        multiplier *= price.fast
    return ScaledRates(price, multiplier, batch=False)


def worst_case_micros(
    price: ModelPrice,
    *,
    input_tokens: int,
    max_tokens: int,
    cache_write: Literal["none", "5m", "1h"] = "none",
    inference_geo: str | None = None,
    fast: bool = False,
    rates: ScaledRates | None = None,
) -> int:
    """The most a call could cost, in micro-dollars (rounded up).

    ``rates``: :func:`worst_case_rates` of the same arguments, when the caller keeps them.
    """
    if rates is None:
        rates = worst_case_rates(price, inference_geo=inference_geo, fast=fast)
    return worst_case_of(rates, input_tokens, max_tokens, cache_write)


def worst_case_of(
    rates: ScaledRates, input_tokens: int, max_tokens: int, cache_write: str = "none"
) -> int:
    """:func:`worst_case_micros` from the rates (the budget guard's per-call path)."""
    if cache_write == "none":
        units = rates.units(input_tokens, max_tokens, 0, 0, 0)
    elif cache_write == "5m":
        units = rates.units(0, max_tokens, input_tokens, 0, 0)
    else:
        units = rates.units(0, max_tokens, 0, input_tokens, 0)
    return -(-units // UNITS_PER_MICRO_USD)


def request_cache_write(
    body: Mapping[str, Any] | None, encoded: bytes | None = None
) -> Literal["none", "5m", "1h"]:
    """The costliest cache write a Messages request body asks for (docs: Prompt caching).

    ``encoded``, the body's JSON, lets the common case (no ``cache_control``) skip the walk.
    """
    if encoded is not None and b'"cache_control"' not in encoded:
        return "none"
    found: Literal["none", "5m", "1h"] = "none"
    stack: list[Any] = [body] if body is not None else []
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            control = item.get("cache_control")
            if isinstance(control, Mapping):
                if control.get("ttl") == "1h":
                    return "1h"
                found = "5m"
            stack.extend(v for v in item.values() if isinstance(v, (Mapping, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (Mapping, list)))
    return found


def warn_mark(fraction: float, limit: int) -> int:
    """The spend (micro-dollars) at which ``fraction`` of ``limit`` is reached."""
    return math.ceil(fraction * limit)


def _marks(budget: Budget) -> tuple[tuple[int, float], ...]:
    """(warn mark, fraction) for each warn threshold of ``budget``."""
    return tuple((warn_mark(t, budget.limit_micros), t) for t in budget.warn_at)


def crossed_thresholds(
    before: int, after: int, limit: int, thresholds: Sequence[float]
) -> list[float]:
    """The warn fractions that spend moving from ``before`` to ``after`` crossed."""
    return [t for t in thresholds if before < warn_mark(t, limit) <= after]


class BudgetLine(msgspec.Struct, frozen=True, gc=False):
    """One budget's share of a reservation: which ledger, which period, how much."""

    budget: Budget
    scope: str
    period: str
    reset_at: float
    amount: int


class BudgetReservation(msgspec.Struct, frozen=True, gc=False):
    """What one call holds in a shared (Redis) budget: its lines and its lease id."""

    lines: tuple[BudgetLine, ...]
    lease: str = ""


@dataclass(slots=True, eq=False)  # a ledger is itself, not its figures
class _Ledger:
    spent: int = 0
    reserved: int = 0
    warned: set[float] = field(default_factory=set)


class _Plan(msgspec.Struct, frozen=True, gc=False):
    """The budgets that apply to calls with some tag values, until ``end``: per
    line its ledger, its limit and its warn marks (spend at which a fraction is crossed)."""

    start: float
    end: float
    lines: tuple[BudgetLine, ...]
    checks: tuple[tuple[_Ledger, int, tuple[tuple[int, float], ...]], ...]


class BudgetHold(msgspec.Struct, frozen=True, gc=False):
    """What one call holds in an in-process :class:`BudgetBook`: ``amount`` in each
    ledger of its plan (settled there, even after the period ends)."""

    plan: _Plan
    amount: int

    @property
    def lines(self) -> tuple[BudgetLine, ...]:
        plan, amount = self.plan, self.amount
        return tuple(BudgetLine(line.budget, line.scope, line.period, line.reset_at, amount)
                     for line in plan.lines)  # fmt: skip


class BudgetBook:
    """The in-process ledgers of some budgets. Not thread-safe: one event loop drives it."""

    def __init__(self, budgets: Sequence[Budget]) -> None:
        self.budgets = tuple(budgets)
        self._tagged = tuple(b for b in self.budgets if b.tag is not None)
        self._ledgers: dict[tuple[str, str], _Ledger] = {}
        # Per set of tag values: until when the lines (and their ledgers) hold.
        self._plans: dict[tuple[str | None, ...], _Plan] = {}

    def lines(self, amount: int, tags: Mapping[str, str], now: float) -> list[BudgetLine]:
        out = []
        for budget in self.budgets:
            scope = budget.scope(tags)
            if scope is not None:
                label, reset = period_of(budget, now)
                out.append(BudgetLine(budget, scope, label, reset, amount))
        return out

    def reserve(self, amount: int, tags: Mapping[str, str], now: float) -> BudgetHold:
        """Reserve ``amount`` in every budget that applies, or raise BudgetExceededError."""
        plan = self._plan(tags, now)
        checks = plan.checks
        for i, (ledger, limit, _) in enumerate(checks):
            if ledger.spent + ledger.reserved + amount > limit:
                raise self._exceeded(plan, i, amount)
        for ledger, _, _ in checks:
            ledger.reserved += amount
        return BudgetHold(plan, amount)

    @staticmethod
    def _exceeded(plan: _Plan, i: int, amount: int) -> BudgetExceededError:
        ledger = plan.checks[i][0]
        line = plan.lines[i]
        line = BudgetLine(line.budget, line.scope, line.period, line.reset_at, amount)
        return exceeded(line, ledger.spent, ledger.reserved)

    def _plan(self, tags: Mapping[str, str], now: float) -> _Plan:
        """The lines and ledgers for calls with these tag values, built once per period."""
        key = tuple(tags.get(b.tag or "") for b in self._tagged) if self._tagged and tags else ()
        plan = self._plans.get(key)
        if plan is None or not plan.start <= now < plan.end:
            lines = self.lines(0, tags, now)
            bounds = [period_bounds(line.budget, now) for line in lines]
            checks = tuple(
                (self._ledger(line, now), line.budget.limit_micros, _marks(line.budget))
                for line in lines
            )
            plan = _Plan(
                max((b[1] for b in bounds), default=now),
                min((b[2] for b in bounds), default=now + 1),
                tuple(lines),
                checks,
            )
            if len(self._plans) >= 1024:
                self._plans.clear()  # tag values come from callers: stays bounded
            self._plans[key] = plan
        return plan

    def settle(self, hold: BudgetHold, actual: int) -> list[tuple[BudgetLine, float]]:
        """Release a hold and add ``actual``; the warn thresholds crossed, per line."""
        fired: list[tuple[BudgetLine, float]] = []
        amount = hold.amount
        for i, (ledger, _, marks) in enumerate(hold.plan.checks):
            reserved = ledger.reserved - amount
            ledger.reserved = reserved if reserved > 0 else 0
            before = ledger.spent
            after = ledger.spent = before + actual
            for mark, fraction in marks:
                if before < mark <= after and fraction not in ledger.warned:
                    ledger.warned.add(fraction)
                    fired.append((hold.plan.lines[i], fraction))
        return fired

    def spent(self, budget: Budget, now: float, tags: Mapping[str, str] | None = None) -> int:
        scope = budget.scope(tags or {})
        ledger = self._ledgers.get((scope or "", period_of(budget, now)[0]))
        return 0 if ledger is None else ledger.spent

    def _ledger(self, line: BudgetLine, now: float) -> _Ledger:
        key = (line.scope, line.period)
        ledger = self._ledgers.get(key)
        if ledger is None:
            self._drop_ended(now)
            ledger = self._ledgers[key] = _Ledger()
        return ledger

    def _drop_ended(self, now: float) -> None:
        # Ledgers of ended periods with nothing in flight are history: forget them.
        live = {period_of(b, now)[0] for b in self.budgets}
        for key in [k for k, v in self._ledgers.items() if k[1] not in live and not v.reserved]:
            del self._ledgers[key]


def exceeded(line: BudgetLine, spent: int, reserved: int) -> BudgetExceededError:
    tag = line.scope.partition("=")[2] if line.budget.tag is not None else None
    return BudgetExceededError(
        limit=usd(line.budget.limit_micros),
        spent=usd(spent),
        reserved=usd(reserved),
        requested=usd(line.amount),
        reset_at=dt.datetime.fromtimestamp(line.reset_at, dt.timezone.utc),
        period=line.period,
        tag=tag,
        name=line.budget.name,
    )
