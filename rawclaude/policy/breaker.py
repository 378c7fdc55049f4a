"""The circuit breaker as a written-down state machine (layer 0, pure, explicit ``now``).

States and transitions are data (:data:`TRANSITIONS`)::

    closed    --trip-->              open       N consecutive failures, or a failure
                                                rate >= R over the rolling window
                                                once it holds min_calls calls
    open      --cooldown_elapsed-->  half_open  cooldown seconds after opening
    half_open --probe_succeeded-->   closed     a probe came back healthy
    half_open --probe_failed-->      open       a probe failed: cool down again

Closed admits every call; open admits none (the caller gets how long until a
probe); half-open admits up to ``half_open_probes`` probes at a time, and a
probe that never reports (its process died) stops counting after
``probe_timeout`` so the circuit cannot stick half-open.

Only faults of the service count (:func:`classify`): 5xx (529 included), timeouts,
connection errors and undecodable responses. A 4xx is the service answering,
so it counts as healthy; a cancelled call, or one that never reached the
network (a local limit, a budget, a caller mistake), does not count at all.

``rawclaude.io.redis_breaker`` runs the same machine in one Lua script so a
fleet shares it; the table tests drive both with the same steps.
"""

from __future__ import annotations

import asyncio
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..wire.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    ConfigurationError,
    RateLimitPausedError,
)

__all__ = [
    "TRANSITIONS",
    "Admission",
    "BreakerConfig",
    "BreakerMachine",
    "Event",
    "State",
    "Verdict",
    "breaker_key",
    "classify",
]


class State(str, enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Event(str, enum.Enum):
    TRIP = "trip"
    COOLDOWN_ELAPSED = "cooldown_elapsed"
    PROBE_SUCCEEDED = "probe_succeeded"
    PROBE_FAILED = "probe_failed"


#: Every transition there is; any other (state, event) pair is a no-op.
TRANSITIONS: Mapping[tuple[State, Event], State] = MappingProxyType(
    {
        (State.CLOSED, Event.TRIP): State.OPEN,
        (State.OPEN, Event.COOLDOWN_ELAPSED): State.HALF_OPEN,
        (State.HALF_OPEN, Event.PROBE_SUCCEEDED): State.CLOSED,
        (State.HALF_OPEN, Event.PROBE_FAILED): State.OPEN,
    }
)


class Verdict(str, enum.Enum):
    """What one finished call says about the service."""

    SUCCESS = "success"  # the service answered as designed (2xx, and 4xx too)
    FAILURE = "failure"  # a fault of the service
    IGNORE = "ignore"  # says nothing: cancelled, or never sent


def classify(error: BaseException | None = None, *, status: int | None = None) -> Verdict:
    """The verdict on a call that ended with ``error`` (None: it succeeded) or ``status``."""
    if error is None:
        return Verdict.FAILURE if status is not None and status >= 500 else Verdict.SUCCESS
    if isinstance(error, asyncio.CancelledError):
        return Verdict.IGNORE
    if isinstance(error, RateLimitPausedError):
        return Verdict.IGNORE  # raised locally: nothing was sent
    if isinstance(error, APIStatusError):
        return Verdict.FAILURE if error.status_code >= 500 else Verdict.SUCCESS
    if isinstance(error, (APIConnectionError, APIResponseValidationError)):
        return Verdict.FAILURE
    if isinstance(error, (TimeoutError, ConnectionError)):
        return Verdict.FAILURE
    return Verdict.IGNORE  # our own errors raised before sending, and the caller's


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """When a circuit opens and how it heals (seconds for times)."""

    failure_threshold: int = 5
    failure_rate: float = 0.5
    window: float = 60.0
    min_calls: int = 20
    cooldown: float = 30.0
    half_open_probes: int = 1
    probe_timeout: float = 120.0
    buckets: int = 10

    def __post_init__(self) -> None:
        _positive_int("failure_threshold", self.failure_threshold)
        _positive_int("min_calls", self.min_calls)
        _positive_int("half_open_probes", self.half_open_probes)
        _positive_int("buckets", self.buckets)
        for name in ("window", "cooldown", "probe_timeout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        rate = self.failure_rate
        if not isinstance(rate, (int, float)) or not 0 < rate <= 1:
            raise ConfigurationError("failure_rate must be in (0, 1]")

    @property
    def bucket_seconds(self) -> float:
        return self.window / self.buckets


@dataclass(frozen=True, slots=True)
class Admission:
    """May the call go? ``probe`` marks a half-open probe (report it with probe=True).

    ``token`` identifies a probe in a shared (Redis) breaker.
    """

    allowed: bool
    state: State
    probe: bool = False
    retry_in: float = 0.0
    token: str = ""


_ADMIT_CLOSED = Admission(True, State.CLOSED)  # immutable: one for every call


@dataclass(slots=True)
class _Bucket:
    index: int = -1
    calls: int = 0
    failures: int = 0


@dataclass(slots=True)
class BreakerMachine:
    """One circuit. Drive it with ``admit(now)`` before a call and ``record(...)`` after."""

    config: BreakerConfig = field(default_factory=BreakerConfig)
    state: State = State.CLOSED
    consecutive: int = 0
    opened_at: float = 0.0
    probes: list[float] = field(default_factory=list)
    _window: list[_Bucket] = field(default_factory=list)
    # The window's live totals, kept as calls come (recounted when a bucket turns).
    _index: int = -1
    _calls: int = 0
    _failures: int = 0
    #: Dropped by its owner as idle; a call admitted before still reports to it.
    forgotten: bool = False

    def idle(self, now: float) -> bool:
        """Closed, no probe out, and no failure in its window (or no call for a whole
        window): nothing worth remembering."""
        if self.state is not State.CLOSED or self.probes:
            return False
        if not self.consecutive and not self._failures:
            return True
        config = self.config
        return math.floor(now * config.buckets / config.window) - self._index >= config.buckets

    def current(self, now: float) -> State:
        """The state at ``now`` (an open circuit whose cooldown is over is half-open)."""
        if self.state is State.OPEN and now - self.opened_at >= self.config.cooldown:
            self._fire(Event.COOLDOWN_ELAPSED, now)
        return self.state

    def admit(self, now: float) -> Admission:
        state = self.state
        if state is State.CLOSED:
            return _ADMIT_CLOSED
        state = self.current(now)
        if state is State.OPEN:
            return Admission(False, state, retry_in=self.opened_at + self.config.cooldown - now)
        timeout = self.config.probe_timeout
        self.probes = [start for start in self.probes if now - start < timeout]
        if len(self.probes) >= self.config.half_open_probes:
            return Admission(False, state, retry_in=min(self.probes) + timeout - now)
        self.probes.append(now)
        return Admission(True, state, probe=True)

    def record(self, verdict: Verdict, now: float, *, probe: bool = False) -> State:
        """Report a finished call admitted at ``admit`` (``probe`` as it said)."""
        if self.state is State.CLOSED and not probe:  # the usual case, written out
            if verdict is not Verdict.IGNORE:
                self._count(verdict is Verdict.FAILURE, now)
            return self.state
        if probe and self.probes:
            self.probes.pop(0)  # one probe slot back, whatever the verdict
        if verdict is Verdict.IGNORE:
            return self.current(now)
        state = self.current(now)
        if state is State.HALF_OPEN and probe:
            ok = verdict is Verdict.SUCCESS
            self._fire(Event.PROBE_SUCCEEDED if ok else Event.PROBE_FAILED, now)
        elif state is State.CLOSED:
            self._count(verdict is Verdict.FAILURE, now)
        return self.state  # late results of calls from before opening change nothing

    def _count(self, failed: bool, now: float) -> None:
        config = self.config
        index = math.floor(now * config.buckets / config.window)
        if index != self._index:
            self._turn(index)
        bucket = self._window[index % config.buckets]
        bucket.calls += 1
        self._calls += 1
        if failed:
            bucket.failures += 1
            self._failures += 1
            self.consecutive += 1
        else:
            self.consecutive = 0
        if self.consecutive >= config.failure_threshold or (
            self._calls >= config.min_calls and self._failures >= config.failure_rate * self._calls
        ):
            self._fire(Event.TRIP, now)

    def _turn(self, index: int) -> None:
        """Move the window to bucket ``index``: clear its slot, recount what is still live."""
        buckets = self.config.buckets
        if not self._window:
            self._window = [_Bucket() for _ in range(buckets)]
        bucket = self._window[index % buckets]
        if bucket.index != index:
            bucket.index, bucket.calls, bucket.failures = index, 0, 0
        live = [b for b in self._window if index - buckets < b.index <= index]
        self._calls = sum(b.calls for b in live)
        self._failures = sum(b.failures for b in live)
        self._index = index

    def _fire(self, event: Event, now: float) -> None:
        target = TRANSITIONS.get((self.state, event))
        if target is None:
            return
        self.state = target
        if target is State.OPEN:
            self.opened_at = now
            self.probes.clear()
        if target is State.CLOSED or event is Event.TRIP:
            self.consecutive = 0
            self._window = []
            self._index, self._calls, self._failures = -1, 0, 0


def breaker_key(base_url: str, model: str | None) -> str:
    """The circuit a call belongs to: scheme, host, port and path of the base URL, and the
    model (never the URL's user:password)."""
    scheme, sep, rest = base_url.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        authority = authority.rpartition("@")[2]
        base_url = f"{scheme.lower()}://{authority.lower()}{slash}{path}".rstrip("/")
    return f"{base_url}|{model or '-'}"


def _positive_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"{name} must be an int >= 1, got {value!r}")
