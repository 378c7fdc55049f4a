"""Token-bucket math (tables, fake clock) and the asyncio TokenBucket / RateLimiter."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from rawclaude.io import limiter as _limiter
from rawclaude.io.limiter import (
    DEFAULT_429_PAUSE,
    RateLimiter,
    TokenBucket,
    pause_after_429,
)
from rawclaude.policy.bucket import full_at, grant_delay, time_until, tokens_at
from rawclaude.policy.ratelimit import RateLimitState, RateLimitWindow
from rawclaude.wire.errors import ConfigurationError


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --------------------------------------------------------------------------- pure math


@pytest.mark.parametrize(
    ("tokens", "elapsed", "rate", "capacity", "expected"),
    [
        (0.0, 1.0, 2.0, 10.0, 2.0),
        (9.0, 1.0, 2.0, 10.0, 10.0),  # capped
        (10.0, 100.0, 2.0, 10.0, 10.0),
        (5.0, 0.0, 2.0, 10.0, 5.0),
        (0.0, 0.25, 1000 / 60, 1000.0, 1000 / 240),
    ],
)
def test_a_bucket_refills_from_its_full_time(
    tokens: float, elapsed: float, rate: float, capacity: float, expected: float
) -> None:
    """The state is when the bucket is full: tokens then refill at ``rate`` up to capacity."""
    now = 1000.0
    when = full_at(tokens, now, rate, capacity)
    assert tokens_at(when, now, rate, capacity) == pytest.approx(tokens)
    assert tokens_at(when, now + elapsed, rate, capacity) == pytest.approx(expected)
    assert tokens_at(-math.inf, now, rate, capacity) == capacity  # never used: full


@pytest.mark.parametrize(
    ("tokens", "amount", "rate", "expected"),
    [
        (5.0, 3.0, 1.0, 0.0),
        (3.0, 3.0, 1.0, 0.0),
        (3.0 - 1e-12, 3.0, 1.0, 0.0),  # float dust is not worth a timer
        (0.0, 3.0, 1.5, 2.0),
        (2.5, 3.0, 0.5, 1.0),
        (-2.0, 1.0, 1.0, 3.0),
    ],
)
def test_time_until(tokens: float, amount: float, rate: float, expected: float) -> None:
    assert time_until(tokens, amount, rate) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("tokens", "amount", "rate", "paused_for", "expected"),
    [
        (10.0, 1.0, 1.0, 2.0, 2.0),  # tokens there, but paused
        (0.0, 3.0, 1.0, 2.0, 3.0),  # refill takes longer than the pause
        (0.0, 1.0, 1.0, 0.5, 1.0),
        (0.0, 1.0, 4.0, 0.5, 0.5),  # tokens refill during the pause
        (5.0, 1.0, 1.0, -1.0, 0.0),  # a pause in the past
        (5.0, 1.0, 1.0, -math.inf, 0.0),
    ],
)
def test_grant_delay(
    tokens: float, amount: float, rate: float, paused_for: float, expected: float
) -> None:
    assert grant_delay(tokens, amount, rate, paused_for) == pytest.approx(expected)


def _window(remaining: int | None, reset_in: float | None, now: float) -> RateLimitWindow:
    reset = None
    if reset_in is not None:
        reset = datetime.fromtimestamp(now + reset_in, tz=timezone.utc)
    return RateLimitWindow(limit=100, remaining=remaining, reset=reset)


@pytest.mark.parametrize(
    ("retry_after", "windows", "expected"),
    [
        (3.0, {}, 3.0),
        (0.0, {"requests": (0, 20.0)}, 0.0),  # retry-after wins
        (None, {"requests": (0, 20.0)}, 20.0),
        (None, {"requests": (0, 20.0), "output_tokens": (0, 35.0)}, 35.0),  # the latest
        (None, {"requests": (5, 20.0), "output_tokens": (0, 7.0)}, 7.0),  # only exhausted
        (None, {"input_tokens": (0, 600.0)}, 60.0),  # capped at a minute
        (None, {"tokens": (0, -3.0)}, 0.0),  # already past
        (None, {"requests": (5, 20.0)}, DEFAULT_429_PAUSE),  # nothing exhausted
        (None, {"requests": (0, None)}, DEFAULT_429_PAUSE),  # no reset time
    ],
)
def test_pause_after_429(
    retry_after: float | None, windows: dict[str, tuple[int, float | None]], expected: float
) -> None:
    now = 1_795_000_000.0
    fields = {name: _window(r, reset, now) for name, (r, reset) in windows.items()}
    state = RateLimitState(retry_after=retry_after, observed_at=now, **fields)
    assert pause_after_429(state) == pytest.approx(expected)


def test_pause_after_429_without_headers() -> None:
    assert pause_after_429(None) == DEFAULT_429_PAUSE


# --------------------------------------------------------------------------- fake clock


def test_bucket_starts_full_and_refills_to_capacity() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, 10.0, clock=clock)
    assert bucket.tokens == 10.0
    assert bucket.try_acquire(10)
    assert not bucket.try_acquire(1)
    clock.advance(0.5)
    assert bucket.tokens == pytest.approx(1.0)
    assert bucket.try_acquire(1)
    assert not bucket.try_acquire(0.5)
    clock.advance(100)
    assert bucket.tokens == 10.0


@pytest.mark.parametrize(
    ("take", "refund", "expected"),
    [(4.0, 1.0, 7.0), (4.0, 4.0, 10.0), (4.0, 100.0, 10.0), (10.0, 0.0, 0.0)],
)
def test_refund_is_capped_at_capacity(take: float, refund: float, expected: float) -> None:
    bucket = TokenBucket(2.0, 10.0, clock=FakeClock())
    assert bucket.try_acquire(take)
    bucket.refund(refund)
    assert bucket.tokens == pytest.approx(expected)


@pytest.mark.parametrize("fast", [False, True], ids=["clamp", "_clamp_now"])
@pytest.mark.parametrize(
    ("take", "remaining", "expected"),
    [(0.0, 3, 3.0), (8.0, 3, 2.0), (0.0, 50, 10.0), (0.0, 0, 0.0)],
)
def test_clamp_is_never_more_optimistic(
    take: float, remaining: int, expected: float, fast: bool
) -> None:
    """``clamp``, and ``_clamp_now`` (what observe uses for local buckets) alike."""
    clock = FakeClock()
    bucket = TokenBucket(2.0, 10.0, clock=clock)
    bucket.try_acquire(take)
    if fast:
        bucket._clamp_now(remaining, clock())
    else:
        bucket.clamp(remaining)
    assert bucket.tokens == pytest.approx(expected)
    clock.advance(1.0)  # and it refills from there
    assert bucket.tokens == pytest.approx(min(10.0, expected + 2.0))


@pytest.mark.parametrize("seed", range(20))
def test_the_hot_paths_give_back_without_a_clock_read_is_refund(seed: int) -> None:
    """``_give_back_now`` adds without refilling first; capping before or after
    the refill is the same, so it always agrees with ``refund``."""
    import random

    rand = random.Random(seed)
    clock = FakeClock()
    lazy, eager = TokenBucket(3.0, 10.0, clock=clock), TokenBucket(3.0, 10.0, clock=clock)
    for _ in range(60):
        step = rand.random()
        if step < 0.4:
            amount = rand.choice([0.5, 1.0, 4.0, 9.5])
            assert lazy.try_acquire(amount) == eager.try_acquire(amount)
        elif step < 0.7:
            amount = rand.choice([0.5, 2.0, 7.0, 30.0])
            lazy._give_back_now(amount)
            eager.refund(amount)
        else:
            clock.advance(rand.choice([0.01, 0.3, 2.0, 10.0]))
        assert lazy.tokens == pytest.approx(eager.tokens)


async def test_a_clamp_with_a_waiter_queued_delays_its_grant() -> None:
    bucket = TokenBucket(20.0, 10.0)  # 20 tokens a second
    assert bucket.try_acquire(10.0)
    waiter = asyncio.ensure_future(bucket.acquire(4.0))  # due in 0.2 s
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    start = loop.time()
    bucket._clamp_now(0, bucket._now())  # the server says none are left
    await asyncio.wait_for(waiter, 2.0)
    assert loop.time() - start >= 0.18  # 4 tokens at 20/s from 0 (unclamped: 0.15 s)


def test_pause_holds_grants_while_refilling() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, 10.0, clock=clock)
    bucket.try_acquire(10)
    bucket.pause_until(clock.now + 1.0)
    bucket.pause_until(clock.now + 0.5)  # an earlier deadline never shortens a pause
    assert bucket.paused_for == pytest.approx(1.0)
    clock.advance(0.9)
    assert bucket.tokens == pytest.approx(1.8)
    assert not bucket.try_acquire(1)
    clock.advance(0.1)
    assert bucket.paused_for == 0.0
    assert bucket.try_acquire(2)
    bucket.pause_for(0.25)
    assert bucket.paused_for == pytest.approx(0.25)


@pytest.mark.parametrize("amount", [10.5, -1.0, math.nan, math.inf])
def test_impossible_amounts_raise_value_error(amount: float) -> None:
    bucket = TokenBucket(1.0, 10.0, clock=FakeClock())
    with pytest.raises(ValueError):
        bucket.try_acquire(amount)


@pytest.mark.parametrize(
    ("rate", "capacity"), [(0, 1), (1, 0), (-1, 1), (math.nan, 1), (1, math.inf)]
)
def test_bad_bucket_configuration(rate: float, capacity: float) -> None:
    with pytest.raises(ConfigurationError):
        TokenBucket(rate, capacity)


def test_bucket_repr_shows_live_state() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, 10.0, clock=clock)
    bucket.try_acquire(4)
    bucket.pause_for(3)
    text = repr(bucket)
    assert "tokens=6.000" in text
    assert "rate=2/s" in text
    assert "capacity=10" in text
    assert "waiters=0" in text
    assert "paused_for=3.000s" in text


# --------------------------------------------------------------------------- asyncio bucket


async def _timed(coro: Any, start: float, log: list[tuple[str, float]], name: str) -> None:
    await coro
    log.append((name, asyncio.get_running_loop().time() - start))


async def test_fifo_big_request_is_not_starved() -> None:
    loop = asyncio.get_running_loop()
    bucket = TokenBucket(100.0, 10.0)  # one token every 10 ms
    assert bucket.try_acquire(10)
    start = loop.time()
    log: list[tuple[str, float]] = []
    tasks = [asyncio.create_task(_timed(bucket.acquire(10), start, log, "big"))]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(_timed(bucket.acquire(1), start, log, f"s{i}")) for i in range(3)]
    await asyncio.sleep(0)
    assert bucket.waiters == 4
    assert not bucket.try_acquire(0.001)  # nobody jumps the queue
    await asyncio.gather(*tasks)
    assert [name for name, _ in log] == ["big", "s0", "s1", "s2"]
    times = dict(log)
    assert times["big"] == pytest.approx(0.10, abs=0.03)
    # The small ones waited behind the big one although a token was there at 10 ms.
    assert times["s0"] == pytest.approx(0.11, abs=0.03)
    assert times["s2"] == pytest.approx(0.13, abs=0.03)


async def test_cancelled_head_takes_nothing_and_next_is_served() -> None:
    loop = asyncio.get_running_loop()
    bucket = TokenBucket(100.0, 10.0)
    bucket.try_acquire(10)
    start = loop.time()
    big = asyncio.create_task(bucket.acquire(8))
    await asyncio.sleep(0)
    small = asyncio.create_task(bucket.acquire(1))
    await asyncio.sleep(0.03)
    big.cancel()
    with pytest.raises(asyncio.CancelledError):
        await big
    await small
    # served as soon as the head was gone (3 tokens were there), not at 90 ms
    assert loop.time() - start == pytest.approx(0.03, abs=0.02)
    assert bucket.waiters == 0
    assert bucket.tokens == pytest.approx(100 * (loop.time() - start) - 1, abs=0.5)


async def test_cancelled_in_the_turn_it_was_granted_gives_tokens_back() -> None:
    bucket = TokenBucket(0.001, 10.0)  # effectively no refill during the test
    bucket.try_acquire(10)
    waiter = asyncio.create_task(bucket.acquire(4))
    await asyncio.sleep(0)
    bucket.refund(5)  # grants the waiter synchronously...
    waiter.cancel()  # ...which is cancelled before it could run
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert bucket.tokens == pytest.approx(5.0, abs=0.01)
    assert bucket.waiters == 0


async def test_cancelled_middle_waiter_leaves_no_trace() -> None:
    bucket = TokenBucket(200.0, 5.0)
    bucket.try_acquire(5)
    tasks = [asyncio.create_task(bucket.acquire(1)) for _ in range(3)]
    await asyncio.sleep(0)
    tasks[1].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], asyncio.CancelledError)
    assert bucket.waiters == 0
    assert not bucket._waiters


async def test_amount_above_capacity_raises_at_once() -> None:
    bucket = TokenBucket(1.0, 10.0)
    with pytest.raises(ValueError, match="capacity"):
        await asyncio.wait_for(bucket.acquire(11), 0.1)
    await bucket.acquire(0)  # zero: returns at once, takes nothing
    assert bucket.tokens == pytest.approx(10.0)


async def test_many_waiters_woken_on_time_by_timers_not_polling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    calls: list[float] = []
    original: Callable[..., asyncio.TimerHandle] = loop.call_at

    def counting_call_at(when: float, callback: Any, *args: Any, **kw: Any) -> asyncio.TimerHandle:
        calls.append(when)
        return original(when, callback, *args, **kw)

    monkeypatch.setattr(loop, "call_at", counting_call_at)
    rate, n = 200.0, 20
    bucket = TokenBucket(rate, 1.0)
    bucket.try_acquire(1)
    start = loop.time()
    log: list[tuple[str, float]] = []
    tasks = [asyncio.create_task(_timed(bucket.acquire(1), start, log, str(i))) for i in range(n)]
    await asyncio.gather(*tasks)
    assert [int(name) for name, _ in log] == list(range(n))
    for i, (_, t) in enumerate(log):
        assert t == pytest.approx((i + 1) / rate, abs=0.02)
    assert len(calls) <= n + 2  # about one timer per grant: nothing polls


async def test_pause_holds_queued_waiters() -> None:
    loop = asyncio.get_running_loop()
    bucket = TokenBucket(1000.0, 10.0)
    bucket.pause_for(0.1)
    start = loop.time()
    await asyncio.gather(bucket.acquire(1), bucket.acquire(1))
    assert loop.time() - start == pytest.approx(0.1, abs=0.03)


async def test_refund_wakes_the_head_early() -> None:
    loop = asyncio.get_running_loop()
    bucket = TokenBucket(1.0, 10.0)  # a token a second: the refund must do it
    bucket.try_acquire(10)
    start = loop.time()
    waiter = asyncio.create_task(bucket.acquire(5))
    await asyncio.sleep(0.01)
    bucket.refund(5)
    await waiter
    assert loop.time() - start < 0.1


# --------------------------------------------------------------------------- RateLimiter


def _state(**windows: RateLimitWindow | float | None) -> RateLimitState:
    return RateLimitState(observed_at=0.0, **windows)  # type: ignore[arg-type]


def _bucket(limiter: RateLimiter, name: str) -> TokenBucket:
    bucket = limiter.buckets[name]
    assert isinstance(bucket, TokenBucket)
    return bucket


async def test_concurrency_cap() -> None:
    limiter = RateLimiter(max_concurrency=2)
    active = peak = 0

    async def job() -> None:
        nonlocal active, peak
        reservation = await limiter.reserve(input_tokens=10, output_tokens=10)
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.02)
        active -= 1
        await reservation.release()

    await asyncio.gather(*(job() for _ in range(6)))
    assert peak == 2
    assert limiter.in_flight == 0


async def test_reserve_takes_and_release_refunds_unused() -> None:
    limiter = RateLimiter(
        requests_per_minute=60, input_tokens_per_minute=6000, output_tokens_per_minute=6000
    )
    res = await limiter.reserve(input_tokens=3000, output_tokens=4000)
    assert (res.input_tokens, res.output_tokens) == (3000, 4000)
    assert _bucket(limiter, "requests").tokens == pytest.approx(59, abs=0.1)
    assert _bucket(limiter, "input_tokens").tokens == pytest.approx(3000, abs=5)
    assert _bucket(limiter, "output_tokens").tokens == pytest.approx(2000, abs=5)
    await res.release(output_tokens_used=1000, input_tokens_used=2500)
    assert _bucket(limiter, "input_tokens").tokens == pytest.approx(3500, abs=5)
    assert _bucket(limiter, "output_tokens").tokens == pytest.approx(5000, abs=5)
    await res.release(output_tokens_used=0)  # idempotent: no second refund
    assert _bucket(limiter, "output_tokens").tokens == pytest.approx(5000, abs=5)
    assert res.released


async def test_release_without_usage_refunds_nothing_but_frees_the_slot() -> None:
    limiter = RateLimiter(output_tokens_per_minute=6000, max_concurrency=1)
    res = await limiter.reserve(input_tokens=0, output_tokens=4000)
    await res.release()
    assert _bucket(limiter, "output_tokens").tokens == pytest.approx(2000, abs=5)
    res2 = await asyncio.wait_for(limiter.reserve(input_tokens=0, output_tokens=1), 0.1)
    async with res2:
        assert limiter.in_flight == 1
    assert res2.released and limiter.in_flight == 0


async def test_input_above_estimate_is_not_refunded() -> None:
    limiter = RateLimiter(input_tokens_per_minute=6000)
    res = await limiter.reserve(input_tokens=1000, output_tokens=0)
    await res.release(input_tokens_used=1500)
    assert _bucket(limiter, "input_tokens").tokens == pytest.approx(5000, abs=5)


async def test_amount_above_capacity_is_clamped() -> None:
    limiter = RateLimiter(output_tokens_per_minute=600)
    res = await asyncio.wait_for(limiter.reserve(input_tokens=10, output_tokens=64000), 0.1)
    assert res.output_tokens == 600
    assert _bucket(limiter, "output_tokens").tokens == pytest.approx(0, abs=1)
    await res.release(output_tokens_used=100)
    assert _bucket(limiter, "output_tokens").tokens == pytest.approx(500, abs=2)


async def test_observe_clamps_to_server_remaining() -> None:
    limiter = RateLimiter(
        requests_per_minute=600, input_tokens_per_minute=60000, output_tokens_per_minute=60000
    )
    state = _state(
        requests=RateLimitWindow(limit=600, remaining=3),
        tokens=RateLimitWindow(remaining=7000),
        output_tokens=RateLimitWindow(remaining=900),
    )
    limiter.observe(200, state)
    assert limiter.state is state
    assert _bucket(limiter, "requests").tokens == pytest.approx(3, abs=0.5)
    assert _bucket(limiter, "input_tokens").tokens == pytest.approx(7000, abs=50)  # fallback
    assert _bucket(limiter, "output_tokens").tokens == pytest.approx(900, abs=50)
    limiter.observe(200, _state(requests=RateLimitWindow(remaining=500)))
    assert _bucket(limiter, "requests").tokens < 10  # a higher remaining adds nothing
    limiter.observe(200, None)
    assert limiter.state is not None  # no headers: the last state stays


async def test_429_pauses_every_caller() -> None:
    loop = asyncio.get_running_loop()
    limiter = RateLimiter(requests_per_minute=6000, output_tokens_per_minute=600000)
    limiter.observe(429, _state(retry_after=0.2))
    assert "paused_for=" in repr(limiter)
    start = loop.time()
    done: list[float] = []

    async def caller() -> None:
        res = await limiter.reserve(input_tokens=1, output_tokens=1)
        done.append(loop.time() - start)
        await res.release()

    await asyncio.gather(*(caller() for _ in range(5)))
    assert len(done) == 5
    assert min(done) >= 0.19
    assert max(done) < 0.35
    # the buckets themselves were paused too (direct users of a bucket wait as well)
    limiter.observe(429, _state(retry_after=0.05))
    assert _bucket(limiter, "requests").paused_for == pytest.approx(0.05, abs=0.01)


async def test_429_pauses_a_concurrency_only_limiter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_limiter, "DEFAULT_429_PAUSE", 0.1)
    loop = asyncio.get_running_loop()
    limiter = RateLimiter(max_concurrency=4)
    limiter.observe(429, None)  # no headers at all: the default pause
    start = loop.time()
    res = await limiter.reserve(input_tokens=0, output_tokens=0)
    assert loop.time() - start == pytest.approx(0.1, abs=0.05)
    await res.release()


async def test_cancellation_midway_gives_everything_back() -> None:
    limiter = RateLimiter(
        requests_per_minute=60,
        input_tokens_per_minute=6000,
        output_tokens_per_minute=60,  # one output token a second
        max_concurrency=1,
    )
    _bucket(limiter, "output_tokens").try_acquire(60)
    waiting = asyncio.create_task(limiter.reserve(input_tokens=1000, output_tokens=30))
    await asyncio.sleep(0.02)
    assert _bucket(limiter, "requests").tokens == pytest.approx(59, abs=0.1)
    assert _bucket(limiter, "input_tokens").tokens == pytest.approx(5000, abs=5)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert _bucket(limiter, "requests").tokens == pytest.approx(60, abs=0.1)
    assert _bucket(limiter, "input_tokens").tokens == pytest.approx(6000, abs=5)
    assert _bucket(limiter, "output_tokens").waiters == 0
    # and the concurrency slot is free again
    res = await asyncio.wait_for(limiter.reserve(input_tokens=1, output_tokens=0), 0.1)
    await res.release()


async def test_cancelled_while_waiting_for_a_slot() -> None:
    limiter = RateLimiter(requests_per_minute=60, max_concurrency=1)
    held = await limiter.reserve(input_tokens=0, output_tokens=0)
    waiting = asyncio.create_task(limiter.reserve(input_tokens=0, output_tokens=0))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await held.release()
    assert _bucket(limiter, "requests").tokens == pytest.approx(59, abs=0.1)
    assert limiter.in_flight == 0


async def test_limiter_validation_and_repr() -> None:
    with pytest.raises(ConfigurationError):
        RateLimiter(requests_per_minute=0)
    with pytest.raises(ConfigurationError):
        RateLimiter(max_concurrency=0)
    with pytest.raises(ConfigurationError):
        RateLimiter(requests_per_minute=10, burst_seconds=-1)
    limiter = RateLimiter(requests_per_minute=120, max_concurrency=3, burst_seconds=15)
    assert _bucket(limiter, "requests").capacity == 30
    assert _bucket(limiter, "requests").rate == 2
    with pytest.raises(ValueError):
        await limiter.reserve(input_tokens=-1, output_tokens=0)
    assert limiter.in_flight == 0
    text = repr(limiter)
    assert text.startswith("RateLimiter(requests=TokenBucket(")
    assert "concurrency=0/3" in text
    assert repr(RateLimiter()) == "RateLimiter()"


async def test_custom_bucket_factory() -> None:
    made: list[tuple[str, float, float]] = []

    def factory(name: str, rate: float, capacity: float) -> TokenBucket:
        made.append((name, rate, capacity))
        return TokenBucket(rate, capacity)

    RateLimiter(requests_per_minute=60, output_tokens_per_minute=120, bucket_factory=factory)
    assert made == [("requests", 1.0, 60.0), ("output_tokens", 2.0, 120.0)]


# --------------------------------------------------------------------------- fast path


async def test_try_reserve_takes_everything_or_nothing() -> None:
    limiter = RateLimiter(
        requests_per_minute=60,
        input_tokens_per_minute=6000,
        output_tokens_per_minute=600,
        max_concurrency=2,
    )
    res = limiter.try_reserve(input_tokens=1000, output_tokens=64000)
    assert res is not None
    assert (res.input_tokens, res.output_tokens) == (1000, 600)  # clamped to capacity
    assert limiter.in_flight == 1
    # output is empty now: nothing at all is taken from the other buckets
    assert limiter.try_reserve(input_tokens=1000, output_tokens=1) is None
    assert _bucket(limiter, "requests").tokens == pytest.approx(59, abs=0.1)
    assert _bucket(limiter, "input_tokens").tokens == pytest.approx(5000, abs=5)
    assert limiter.in_flight == 1
    res.release_nowait(input_tokens_used=400, output_tokens_used=100)
    assert _bucket(limiter, "input_tokens").tokens == pytest.approx(5600, abs=5)
    assert _bucket(limiter, "output_tokens").tokens == pytest.approx(500, abs=2)
    assert limiter.in_flight == 0
    # amounts the slow path rejects are left to it
    assert limiter.try_reserve(input_tokens=-1, output_tokens=0) is None
    assert limiter.try_reserve(input_tokens=1.5, output_tokens=0) is None  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await limiter.reserve(input_tokens=-1, output_tokens=0)
    assert limiter.in_flight == 0


async def test_try_reserve_never_overtakes_a_waiter_or_a_pause() -> None:
    limiter = RateLimiter(output_tokens_per_minute=60, max_concurrency=1)
    held = limiter.try_reserve(input_tokens=0, output_tokens=0)
    assert held is not None
    assert limiter.try_reserve(input_tokens=0, output_tokens=0) is None  # no slot
    waiting = asyncio.create_task(limiter.reserve(input_tokens=0, output_tokens=1))
    await asyncio.sleep(0.01)
    held.release_nowait()  # the slot is handed to the waiter, not counted free
    assert limiter.try_reserve(input_tokens=0, output_tokens=0) is None
    res = await asyncio.wait_for(waiting, 0.5)
    res.release_nowait()
    # a queued bucket waiter holds the fast path back as well
    _bucket(limiter, "output_tokens").try_acquire(59)
    queued = asyncio.create_task(limiter.reserve(input_tokens=0, output_tokens=30))
    await asyncio.sleep(0.01)
    assert limiter.try_reserve(input_tokens=0, output_tokens=0) is None  # slot taken by it
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    limiter.observe(429, _state(retry_after=5))
    assert limiter.try_reserve(input_tokens=0, output_tokens=0) is None  # paused
    assert limiter.in_flight == 0


async def test_try_reserve_is_none_with_shared_buckets() -> None:
    class Remote(TokenBucket):  # not an in-process TokenBucket by class: no fast path
        pass

    limiter = RateLimiter(
        requests_per_minute=60, bucket_factory=lambda name, rate, cap: Remote(rate, cap)
    )
    assert limiter.try_reserve(input_tokens=0, output_tokens=0) is None
    res = await limiter.reserve(input_tokens=0, output_tokens=0)
    await res.release()


async def test_slot_granted_while_cancelled_is_passed_on() -> None:
    limiter = RateLimiter(max_concurrency=1)
    held = await limiter.reserve(input_tokens=0, output_tokens=0)
    first = asyncio.create_task(limiter.reserve(input_tokens=0, output_tokens=0))
    second = asyncio.create_task(limiter.reserve(input_tokens=0, output_tokens=0))
    await asyncio.sleep(0.01)
    held.release_nowait()  # hands the slot to `first` ...
    first.cancel()  # ... which is cancelled before it runs: the slot goes on
    with pytest.raises(asyncio.CancelledError):
        await first
    res = await asyncio.wait_for(second, 0.5)
    assert limiter.in_flight == 1
    await res.release()
    assert limiter.in_flight == 0 and limiter._slots is not None
    assert limiter._slots.free == 1 and limiter._slots.waiting == 0


# --------------------------------------------------------------------------- bucket time


def test_buckets_on_their_own_clock_leave_the_fast_path_to_it() -> None:
    """A bucket_factory's bucket on another clock (a fake one at 0) is never
    driven by the fast paths' monotonic time."""
    clock = FakeClock()
    limiter = RateLimiter(
        requests_per_minute=60,
        bucket_factory=lambda name, rate, capacity: TokenBucket(rate, capacity, clock=clock),
    )
    res = limiter.try_reserve(input_tokens=0, output_tokens=0)
    assert res is None  # not all local on the monotonic clock: reserve() decides
    bucket = _bucket(limiter, "requests")
    assert bucket.try_acquire(1)
    assert bucket.tokens == pytest.approx(59.0)


async def test_a_long_lived_process_keeps_exact_takes_and_grants_a_full_burst(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bucket times run from the process's epoch; even a year in (3.2e7 s, where a
    float's step is ~4e-9 s), a take of one token at a huge rate still counts and
    a full bucket still grants exactly its capacity."""
    monkeypatch.setattr(_limiter, "_EPOCH", _limiter._monotonic() - 3.2e7)
    short = RateLimiter(output_tokens_per_minute=6000, burst_seconds=0.1)  # capacity 10
    for _ in range(20):
        res = short.try_reserve(input_tokens=0, output_tokens=10)
        assert res is not None
        res.release_nowait(input_tokens_used=0, output_tokens_used=0)
    monkeypatch.undo()
    huge = RateLimiter(requests_per_minute=1e12)  # a token every 6e-11 s
    bucket = _bucket(huge, "requests")
    now = bucket._now()  # the time the fast paths use: from the process's epoch
    assert now == pytest.approx(_limiter._monotonic() - _limiter._EPOCH, abs=1.0)
    for _ in range(1000):  # at one moment: nothing refills in between
        assert huge._take_all_now([(bucket, 1.0)], now)
    assert 1e12 - bucket._tokens_at(now) == pytest.approx(1000, rel=1e-3)


def test_the_admission_stage_clamps_an_amount_above_capacity_without_waiting() -> None:
    from types import SimpleNamespace

    from rawclaude.client.admission import WAIT, LimiterStage

    limiter = RateLimiter(output_tokens_per_minute=600)
    stage = LimiterStage(limiter, 60.0)
    call = SimpleNamespace(input_tokens=0, max_tokens=64_000)
    ticket = stage.admit_now(call)  # type: ignore[arg-type]
    assert ticket is not None and ticket is not WAIT  # granted now, clamped to capacity
    assert ticket.reservation.output_tokens == 600  # type: ignore[union-attr]
    assert _bucket(limiter, "output_tokens").tokens == pytest.approx(0, abs=0.1)
