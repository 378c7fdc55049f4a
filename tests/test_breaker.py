"""The circuit breaker: one table of steps, driven through the pure machine and the
Redis script (real redis-server) alike, with explicit clocks and no sleeping."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis_server import RedisServer, free_port, redis_server

from rawclaude.io.redis_breaker import RedisCircuitBreaker
from rawclaude.policy.breaker import (
    TRANSITIONS,
    Admission,
    BreakerConfig,
    BreakerMachine,
    Event,
    State,
    Verdict,
    breaker_key,
    classify,
)
from rawclaude.wire.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    BadRequestError,
    BudgetExceededError,
    CircuitBreakerUnavailableError,
    ConfigurationError,
    InternalServerError,
    OverloadedError,
    RateLimitError,
    RateLimitPausedError,
)

__all__ = ["redis_server"]

S, F, N = Verdict.SUCCESS, Verdict.FAILURE, Verdict.IGNORE
C, OP, H = State.CLOSED, State.OPEN, State.HALF_OPEN


def status_error(cls: type[Any], status: int) -> Any:
    return cls("x", status_code=status)


@pytest.mark.parametrize(
    ("outcome", "verdict"),
    [
        ((None, None), S),
        ((None, 200), S),
        ((None, 503), F),
        ((status_error(InternalServerError, 500), None), F),
        ((status_error(OverloadedError, 529), None), F),
        ((APITimeoutError(), None), F),
        ((APIConnectionError(), None), F),
        ((APIResponseValidationError("bad json"), None), F),
        ((TimeoutError(), None), F),
        ((status_error(BadRequestError, 400), None), S),  # the service answered
        ((status_error(RateLimitError, 429), None), S),
        ((RateLimitPausedError(5.0, 1.0), None), N),  # local: nothing was sent
        ((asyncio.CancelledError(), None), N),
        ((ConfigurationError("x"), None), N),
        ((ValueError("a caller's bug"), None), N),
    ],
)
def test_classify(outcome: tuple[BaseException | None, int | None], verdict: Verdict) -> None:
    error, status = outcome
    assert classify(error, status=status) is verdict


def test_budget_refusal_is_ignored() -> None:
    import datetime as dt
    from decimal import Decimal

    err = BudgetExceededError(
        limit=Decimal(1), spent=Decimal(1), reserved=Decimal(0), requested=Decimal("0.1"),
        reset_at=dt.datetime(2026, 12, 2, tzinfo=dt.timezone.utc), period="2026-12-01",
    )  # fmt: skip
    assert classify(err) is N


def test_transitions_are_the_documented_four() -> None:
    assert dict(TRANSITIONS) == {
        (C, Event.TRIP): OP,
        (OP, Event.COOLDOWN_ELAPSED): H,
        (H, Event.PROBE_SUCCEEDED): C,
        (H, Event.PROBE_FAILED): OP,
    }


CONFIG = BreakerConfig(
    failure_threshold=3, failure_rate=0.5, window=10.0, min_calls=6, cooldown=5.0,
    half_open_probes=2, probe_timeout=20.0, buckets=5,
)  # fmt: skip

# A step: (now, "admit", expected (allowed, state, probe)) or (now, verdict, probe?, state after).
Step = tuple[Any, ...]
TABLE: dict[str, list[Step]] = {
    "consecutive failures trip; success resets the count": [
        (0.0, F, False, C), (0.1, F, False, C), (0.2, S, False, C),
        (0.3, F, False, C), (0.4, F, False, C), (0.5, F, False, OP),
        (0.6, "admit", (False, OP, False)),
    ],
    "ignored and 4xx-as-success never trip": [
        (0.0, F, False, C), (0.1, N, False, C), (0.2, F, False, C), (0.3, S, False, C),
        (0.4, F, False, C), (0.5, F, False, C), (0.6, "admit", (True, C, False)),
    ],
    "failure rate over the window once min_calls is reached": [
        (0.0, F, False, C), (0.1, S, False, C), (0.2, F, False, C), (0.3, S, False, C),
        (0.4, F, False, C), (0.5, S, False, OP),  # 3 of 6 = 50%
    ],
    "old buckets leave the window": [
        (0.0, F, False, C), (0.1, S, False, C), (0.2, F, False, C), (0.3, S, False, C),
        (0.4, F, False, C),
        (20.0, S, False, C),  # the first five are out of the window: 1 call, no failure
        (20.1, "admit", (True, C, False)),
    ],
    "open -> half-open after the cooldown; probes limited; success closes": [
        (0.0, F, False, C), (0.0, F, False, C), (0.0, F, False, OP),
        (4.9, "admit", (False, OP, False)),
        (5.0, "admit", (True, H, True)), (5.1, "admit", (True, H, True)),
        (5.2, "admit", (False, H, False)),  # two probes in flight: full
        (5.3, S, False, H),  # a late non-probe result changes nothing
        (5.4, S, True, C), (5.5, "admit", (True, C, False)),
    ],
    "a failed probe reopens for a fresh cooldown": [
        (0.0, F, False, C), (0.0, F, False, C), (0.0, F, False, OP),
        (6.0, "admit", (True, H, True)), (6.5, F, True, OP),
        (10.0, "admit", (False, OP, False)), (11.5, "admit", (True, H, True)),
    ],
    "a cancelled probe frees its slot without deciding": [
        (0.0, F, False, C), (0.0, F, False, C), (0.0, F, False, OP),
        (5.0, "admit", (True, H, True)), (5.0, "admit", (True, H, True)),
        (5.1, N, True, H), (5.2, "admit", (True, H, True)), (5.3, "admit", (False, H, False)),
    ],
    "a lost probe stops counting after probe_timeout": [
        (0.0, F, False, C), (0.0, F, False, C), (0.0, F, False, OP),
        (5.0, "admit", (True, H, True)), (5.0, "admit", (True, H, True)),
        (24.9, "admit", (False, H, False)), (25.0, "admit", (True, H, True)),
    ],
    "after closing, the count starts from zero": [
        (0.0, F, False, C), (0.0, F, False, C), (0.0, F, False, OP),
        (5.0, "admit", (True, H, True)), (5.0, S, True, C),
        (5.1, F, False, C), (5.2, F, False, C), (5.3, "admit", (True, C, False)),
    ],
}  # fmt: skip


class PureDriver:
    def __init__(self) -> None:
        self.machine = BreakerMachine(CONFIG)
        self.tokens: list[str] = []

    async def admit(self, now: float) -> Admission:
        return self.machine.admit(now)

    async def record(self, verdict: Verdict, probe: bool, now: float) -> State:
        return self.machine.record(verdict, now, probe=probe)


class RedisDriver:
    def __init__(self, breaker: RedisCircuitBreaker) -> None:
        self.breaker = breaker
        self.key = breaker_key("http://127.0.0.1:1", f"m-{uuid.uuid4().hex}")
        self.tokens: list[str] = []

    async def admit(self, now: float) -> Admission:
        admission = await self.breaker.admit(self.key, now=now)
        if admission.probe:
            self.tokens.append(admission.token)
        return admission

    async def record(self, verdict: Verdict, probe: bool, now: float) -> State:
        token = self.tokens.pop(0) if probe else ""
        state = await self.breaker.record(self.key, verdict, token=token, now=now)
        assert state is not None
        return state


@pytest.fixture
async def shared(redis_server: RedisServer) -> AsyncIterator[RedisCircuitBreaker]:
    breaker = RedisCircuitBreaker(redis_server.url, config=CONFIG, on_unavailable="fail_closed")
    yield breaker
    await breaker.aclose()


async def run_table(driver: Any, steps: list[Step]) -> None:
    for i, step in enumerate(steps):
        now = step[0]
        if step[1] == "admit":
            got = await driver.admit(now)
            assert (got.allowed, got.state, got.probe) == step[2], (i, step)
        else:
            assert await driver.record(step[1], step[2], now) is step[3], (i, step)


@pytest.mark.parametrize("name", list(TABLE))
async def test_table_pure(name: str) -> None:
    await run_table(PureDriver(), TABLE[name])


@pytest.mark.parametrize("name", list(TABLE))
async def test_table_redis(name: str, shared: RedisCircuitBreaker) -> None:
    await run_table(RedisDriver(shared), TABLE[name])


def test_retry_in_says_when_it_will_probe() -> None:
    machine = BreakerMachine(CONFIG)
    for _ in range(3):
        machine.record(F, 100.0)
    assert machine.admit(101.5).retry_in == pytest.approx(3.5)


async def test_redis_retry_in_and_state(shared: RedisCircuitBreaker) -> None:
    key = f"k-{uuid.uuid4().hex}"
    for _ in range(3):
        await shared.record(key, F, now=100.0)
    admission = await shared.admit(key, now=101.5)
    assert not admission.allowed and admission.retry_in == pytest.approx(3.5)
    assert await shared.state(key, now=101.5) is OP
    assert await shared.state(key, now=105.0) is H


async def test_redis_uses_server_clock_and_expires(
    shared: RedisCircuitBreaker, redis_server: RedisServer
) -> None:
    import redis.asyncio as aioredis

    key = f"k-{uuid.uuid4().hex}"
    for _ in range(3):
        await shared.record(key, F)  # the server's TIME
    assert not (await shared.admit(key)).allowed
    raw = aioredis.Redis.from_url(redis_server.url)
    try:
        state_key = shared.keys(key)[0]
        assert 0 < await raw.pttl(state_key) <= (2 * 20 + 1) * 1000
        seconds, _ = await raw.time()
        opened = float(await raw.hget(state_key, "opened_at") or 0)
        assert abs(opened - seconds) < 5
    finally:
        await raw.aclose()


_CHILD = """
import asyncio, sys
from rawclaude.io.redis_breaker import RedisCircuitBreaker
from rawclaude.policy.breaker import BreakerConfig, Verdict

async def main():
    b = RedisCircuitBreaker(sys.argv[1], config=BreakerConfig(failure_threshold=3))
    if sys.argv[3] == "fail":
        await b.record(sys.argv[2], Verdict.FAILURE)
    else:
        print((await b.admit(sys.argv[2])).state.value)
    await b.aclose()

asyncio.run(main())
"""


def test_state_is_seen_by_every_process(redis_server: RedisServer) -> None:
    from test_limiter_redis import _env

    key = f"fleet-{uuid.uuid4().hex}"
    run = [sys.executable, "-c", _CHILD, redis_server.url, key]
    for _ in range(3):  # three processes each see one failure
        subprocess.run([*run, "fail"], check=True, env=_env(), timeout=30)
    out = subprocess.run([*run, "admit"], check=True, env=_env(), timeout=30,
                         capture_output=True, text=True)  # fmt: skip
    assert out.stdout.strip() == "open"


async def test_unreachable_redis_fails_open_or_closed(caplog: pytest.LogCaptureFixture) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    open_breaker = RedisCircuitBreaker(url)
    assert (await open_breaker.admit("k")).allowed
    assert await open_breaker.record("k", F) is None
    assert sum("unavailable" in r.message for r in caplog.records) == 1  # once per outage
    closed = RedisCircuitBreaker(url, on_unavailable="fail_closed")
    with pytest.raises(CircuitBreakerUnavailableError) as info:
        await closed.admit("k")
    assert "127.0.0.1" in str(info.value) and "redis://" not in str(info.value)
    await open_breaker.aclose()
    await closed.aclose()


def test_breaker_key_drops_credentials() -> None:
    assert breaker_key("https://user:pw@API.example.com/", "claude-x") == (
        "https://api.example.com|claude-x"
    )
    assert breaker_key("http://127.0.0.1:8080/gw", None) == "http://127.0.0.1:8080/gw|-"


@pytest.mark.parametrize(
    "kwargs",
    [{"failure_threshold": 0}, {"failure_rate": 0}, {"failure_rate": 1.5}, {"cooldown": -1},
     {"window": float("inf")}, {"half_open_probes": True}],
)  # fmt: skip
def test_config_is_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        BreakerConfig(**kwargs)
