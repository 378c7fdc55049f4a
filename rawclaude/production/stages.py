"""Admission stages: the budget guard and the circuit breaker.

Both follow the pipeline's stage protocol: ``await admit(call)`` before an
attempt is sent (raising refuses it: nothing is sent, nothing retried) returns
a ticket, released exactly once with the attempt's outcome. Each works in
process, or shared by a fleet through Redis (pass ``redis=``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from ..client.admission import WAIT, Wait
from ..client.call import Call, Outcome
from ..io.redis_breaker import RedisCircuitBreaker
from ..io.redis_budget import RedisBudgetStore
from ..policy.breaker import Admission, BreakerConfig, BreakerMachine, breaker_key, classify
from ..policy.budget import (
    Budget,
    BudgetBook,
    BudgetHold,
    BudgetLine,
    BudgetReservation,
    request_cache_write,
    usd,
    worst_case_of,
    worst_case_rates,
)
from ..policy.cost import UNITS_PER_MICRO_USD, ScaledRates, cost_units
from ..policy.prices import PriceTable
from ..wire.errors import CircuitOpenError, ConfigurationError, UnknownModelPriceError
from ._tasks import Background

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["BudgetGuard", "BudgetWarning", "CircuitBreakerStage"]

log = logging.getLogger("rawclaude")

_NO_PARAMS: Mapping[str, Any] = {}
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class BudgetWarning:
    """A warn threshold crossed (once per period, per budget scope)."""

    budget: Budget
    scope: str
    period: str
    fraction: float
    limit: Decimal


class _BudgetTicket(msgspec.Struct, eq=False):
    guard: BudgetGuard
    #: A BudgetHold in process, a BudgetReservation in Redis.
    reservation: BudgetHold | BudgetReservation
    model: str
    reserved: int

    def release(self, outcome: Outcome) -> None:
        self.guard._settle(self, outcome)


class BudgetGuard:
    """Spend limits as an admission stage.

    Before each attempt the worst case of the call (estimated input at its
    costliest rate plus ``max_tokens``; see :mod:`rawclaude.policy.budget`) is
    reserved in every budget that applies; a call that does not fit raises
    :class:`~rawclaude.BudgetExceededError` before anything is sent. On release
    the actual cost settles it. ``on_warn(BudgetWarning)`` is called once per
    period and threshold. A model with no price is refused
    (``UnknownModelPriceError``) unless ``unpriced="allow"``.
    """

    def __init__(
        self,
        budgets: Budget | Sequence[Budget],
        *,
        redis: str | Redis | RedisBudgetStore | None = None,
        prices: PriceTable | None = None,
        on_warn: Callable[[BudgetWarning], Any] | None = None,
        unpriced: str = "raise",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.budgets = (budgets,) if isinstance(budgets, Budget) else tuple(budgets)
        if not self.budgets or not all(isinstance(b, Budget) for b in self.budgets):
            raise ConfigurationError("budgets must be a Budget or a list of them")
        if unpriced not in ("raise", "allow"):
            raise ConfigurationError("unpriced must be 'raise' or 'allow'")
        self.book = BudgetBook(self.budgets)
        self.store: RedisBudgetStore | None = None
        if isinstance(redis, RedisBudgetStore):
            self.store = redis
        elif redis is not None:
            self.store = RedisBudgetStore(redis)
        self.prices = prices or PriceTable.default()
        self.on_warn = on_warn
        self.allow_unpriced = unpriced == "allow"
        self.clock = clock
        self._background = Background("budget settlement")
        self._rates: dict[tuple[str, str | None, bool], ScaledRates | None] = {}

    def admit_now(self, call: Call) -> _BudgetTicket | Wait | None:
        """The in-process decision, taken without awaiting (Redis: :data:`WAIT`)."""
        if self.store is not None:
            return WAIT
        amount = self.worst_case(call)
        if amount is None:
            return None
        reservation = self.book.reserve(amount, call.tags, self.clock())
        return _BudgetTicket(self, reservation, call.model or "", amount)

    async def admit(self, call: Call) -> _BudgetTicket | None:
        if self.store is None:
            return self.admit_now(call)  # type: ignore[return-value]
        amount = self.worst_case(call)
        if amount is None:
            return None
        self._background.bind()
        reservation = await self.store.reserve(self.book.lines(amount, call.tags, self.clock()))
        if reservation is None:
            return None  # Redis down and failing open
        return _BudgetTicket(self, reservation, call.model or "", amount)

    def worst_case(self, call: Call) -> int | None:
        """The call's worst-case cost in micro-dollars; None when there is nothing to
        bound (not a Messages call, or an unpriced model that is allowed). Raises
        UnknownModelPriceError for an unpriced model that is not."""
        model = call.model
        if model is None:
            return None
        params: Mapping[str, Any] = call.params or _NO_PARAMS
        geo = params.get("inference_geo")
        key = (model, geo if type(geo) is str else None, params.get("speed") == "fast")
        rates = self._rates.get(key, _MISSING)
        if rates is _MISSING:
            rates = self._rates_for(key)
        if rates is None:
            if self.allow_unpriced:
                return None
            raise UnknownModelPriceError(str(model), "the budget cannot bound its cost")
        body = call.body
        cache = request_cache_write(params, body if type(body) is bytes else None)
        return worst_case_of(rates, call.input_tokens, call.max_tokens, cache)

    def _rates_for(self, key: tuple[str, str | None, bool]) -> ScaledRates | None:
        model, geo, fast = key
        price = self.prices.lookup(model)
        rates = None if price is None else worst_case_rates(price, inference_geo=geo, fast=fast)
        if len(self._rates) >= 1024:
            self._rates.clear()  # model ids come from callers: stays bounded
        self._rates[key] = rates
        return rates

    def actual(self, ticket: _BudgetTicket, outcome: Outcome) -> int:
        """What the attempt cost: its usage priced; nothing if nothing was generated;
        the whole reservation when it is unknown (an abandoned stream without usage)."""
        tokens = outcome.tokens
        if tokens is not None:
            units = cost_units(tokens, ticket.model, prices=self.prices)
            return ticket.reserved if units is None else -(-units // UNITS_PER_MICRO_USD)
        if outcome.nothing_generated or outcome.status is None:
            return 0
        return ticket.reserved

    def _settle(self, ticket: _BudgetTicket, outcome: Outcome) -> None:
        actual = self.actual(ticket, outcome)
        held = ticket.reservation
        if isinstance(held, BudgetHold):
            fired = self.book.settle(held, actual)
            if fired:
                self._warn(fired)
        elif self.store is not None:
            store = self.store

            async def settle() -> None:
                self._warn(await store.settle(held, actual))

            self._background.start(settle())

    def _warn(self, fired: Sequence[tuple[BudgetLine, float]]) -> None:
        for line, fraction in fired:
            warning = BudgetWarning(line.budget, line.scope, line.period, fraction,
                                    usd(line.budget.limit_micros))  # fmt: skip
            log.warning("rawclaude: %s %s reached %d%% of $%s for %s", line.budget.name,
                        line.scope, round(fraction * 100), warning.limit, line.period)  # fmt: skip
            if self.on_warn is not None:
                try:
                    self.on_warn(warning)
                except Exception:
                    log.warning("rawclaude: on_warn raised; ignored", exc_info=True)

    async def aclose(self) -> None:
        """Wait for pending settlements (Redis)."""
        await self._background.drain()

    def __repr__(self) -> str:
        where = "redis" if self.store is not None else "in-process"
        return f"BudgetGuard({len(self.budgets)} budgets, {where})"


#: In-process circuits kept before idle ones are forgotten.
_MAX_CIRCUITS = 4096


class _BreakerTicket(msgspec.Struct, eq=False):
    stage: CircuitBreakerStage
    key: str
    admission: Admission
    machine: BreakerMachine | None

    def release(self, outcome: Outcome) -> None:
        self.stage._record(self, outcome)


class CircuitBreakerStage:
    """A circuit per (base URL, model) as an admission stage (see
    :mod:`rawclaude.policy.breaker` for states and what counts as a failure).

    While a circuit is open, calls fail fast with :class:`~rawclaude.CircuitOpenError`
    (which :class:`Fallbacks` treats like an overload). ``redis=`` shares the
    circuits with every process (fail-open when Redis is unreachable).
    """

    def __init__(
        self,
        config: BreakerConfig | None = None,
        *,
        redis: str | Redis | RedisCircuitBreaker | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or BreakerConfig()
        self.shared: RedisCircuitBreaker | None = None
        if isinstance(redis, RedisCircuitBreaker):
            self.shared = redis
        elif redis is not None:
            self.shared = RedisCircuitBreaker(redis, config=self.config)
        self.clock = clock
        #: The in-process circuits by key (see breaker_key).
        self.machines: dict[str, BreakerMachine] = {}
        self._keys: dict[tuple[str, str | None], str] = {}
        # (base URL, model) -> (key, circuit): one lookup per call in process.
        self._circuits: dict[tuple[str, str | None], tuple[str, BreakerMachine]] = {}
        self._scan_at = _MAX_CIRCUITS
        self._background = Background("circuit breaker report")

    def admit_now(self, call: Call) -> _BreakerTicket | Wait:
        """The in-process decision, taken without awaiting (Redis: :data:`WAIT`)."""
        if self.shared is not None:
            return WAIT
        circuit = self._circuits.get((call.pipeline.base_url, call.model))
        if circuit is None:
            circuit = self._circuit(call)
        key, machine = circuit
        admission = machine.admit(self.clock())
        if not admission.allowed:
            raise self._open(key, admission)
        return _BreakerTicket(self, key, admission, machine)

    def _circuit(self, call: Call) -> tuple[str, BreakerMachine]:
        key = self._key(call)
        machine = self.machines.get(key)
        if machine is None:
            if len(self.machines) >= _MAX_CIRCUITS:
                self._forget_idle()
            machine = self.machines[key] = BreakerMachine(self.config)
        if len(self._circuits) >= 1024:
            self._circuits.clear()  # model ids come from callers: stays bounded
        circuit = self._circuits[(call.pipeline.base_url, call.model)] = (key, machine)
        return circuit

    def _forget_idle(self) -> None:
        # Model ids come from callers: circuits that know nothing are dropped to
        # keep this bounded. A scan that frees little is not repeated until a
        # quarter of the cap more has come (no scan per new id).
        if len(self.machines) < self._scan_at:
            return
        now = self.clock()
        for key in [key for key, m in self.machines.items() if m.idle(now)]:
            self.machines.pop(key).forgotten = True
        self._circuits.clear()
        self._scan_at = max(_MAX_CIRCUITS, len(self.machines) + _MAX_CIRCUITS // 4)

    def _adopt(self, key: str, machine: BreakerMachine) -> BreakerMachine:
        """The live circuit for a call admitted by one since forgotten (its result counts)."""
        live = self.machines.get(key)
        if live is None:
            machine.forgotten = False
            self.machines[key] = live = machine
            self._circuits.clear()
        return live

    async def admit(self, call: Call) -> _BreakerTicket:
        if self.shared is None:
            return self.admit_now(call)  # type: ignore[return-value]
        key = self._key(call)
        self._background.bind()
        admission = await self.shared.admit(key)
        if not admission.allowed:
            raise self._open(key, admission)
        return _BreakerTicket(self, key, admission, None)

    def _key(self, call: Call) -> str:
        pair = (call.pipeline.base_url, call.model)
        key = self._keys.get(pair)
        if key is None:
            if len(self._keys) >= 1024:
                self._keys.clear()  # model ids come from callers: stays bounded
            key = self._keys[pair] = breaker_key(*pair)
        return key

    @staticmethod
    def _open(key: str, admission: Admission) -> CircuitOpenError:
        retry_in = admission.retry_in
        return CircuitOpenError(
            key, probe_at=time.time() + retry_in, retry_in=retry_in, state=admission.state.value
        )

    def _record(self, ticket: _BreakerTicket, outcome: Outcome) -> None:
        verdict = classify(outcome.error, status=outcome.status)
        machine = ticket.machine
        if machine is not None:
            if machine.forgotten:
                machine = self._adopt(ticket.key, machine)
            machine.record(verdict, self.clock(), probe=ticket.admission.probe)
        elif self.shared is not None:
            shared = self.shared
            token = ticket.admission.token
            self._background.start(shared.record(ticket.key, verdict, token=token))

    async def aclose(self) -> None:
        await self._background.drain()

    def __repr__(self) -> str:
        where = "redis" if self.shared is not None else "in-process"
        return f"CircuitBreakerStage({where}, {len(self.machines)} circuits)"
