"""Token buckets and the client-side rate limiter (layer 1: the asyncio side;
the arithmetic is in ``rawclaude.policy.bucket``).

The Claude API limits requests, input tokens and output tokens per minute with
token buckets whose "capacity is continuously replenished up to your maximum
limit, rather than being reset at fixed intervals" (docs: "Rate limits").
:class:`RateLimiter` keeps one local bucket per limit, shaped the same way:
capacity = one minute's worth, refilled at ``limit / 60`` per second. It waits
*before* sending, so a busy process queues instead of collecting 429s, and it
re-syncs with the server's view after every response (:meth:`RateLimiter.observe`).

The arithmetic is a handful of pure functions (:func:`tokens_at`,
:func:`time_until`, :func:`grant_delay`) so it can be tested with tables; the
asyncio part only decides *when* to call them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Protocol

import msgspec

from ..policy.bucket import check_amount, full_at, grant_delay, non_negative, positive, tokens_at
from ..policy.ratelimit import RateLimitState
from ..wire.errors import ConfigurationError, RateLimiterUnavailableError

__all__ = [
    "Bucket",
    "BucketFactory",
    "RateLimiter",
    "Reservation",
    "TokenBucket",
    "pause_after_429",
]

logger = logging.getLogger("rawclaude.limiter")

# Float slack, as in policy.bucket.time_until: a grant due now is granted now.
_EPSILON = 1e-9


#: The buckets' clock: the monotonic clock asyncio's loop reads (``loop.time()``),
#: read directly (a loop lookup per read costs more than the bucket math). Timers
#: are set from deltas (``loop.call_at(loop.time() + delay)``), so a loop with
#: another clock (uvloop) still wakes on time.
_monotonic = time.monotonic
#: Buckets on that clock keep their times from here (so from this process's
#: start, not the machine's): a float near 0 resolves a take of one token at
#: any rate, where one near a year of uptime (3e7 s) would round it away.
_EPOCH = _monotonic()
#: Seconds of float slack on a bucket's window, so that a grant due now is
#: granted now (far above the rounding of times within a process's life).
_TIME_SLACK = 1e-7


# --------------------------------------------------------------------------- bucket


class _Waiter:
    __slots__ = ("amount", "future")

    def __init__(self, amount: float, future: asyncio.Future[None]) -> None:
        self.amount = amount
        self.future = future


class TokenBucket:
    """An asyncio token bucket: ``rate`` tokens a second, at most ``capacity`` banked.

    Starts full. Waiters are served strictly first come, first served: a
    small request that arrives after a large one waits behind it, so large
    requests are never starved. A single loop timer is set for the moment the
    head waiter's tokens will be there; nothing polls.

    ``acquire(0)`` returns at once and takes nothing; a negative amount, or
    one above ``capacity`` (it could never be granted), raises ``ValueError``
    at once. A cancelled waiter takes no tokens and leaves no trace.

    The state is one time, when the bucket is full again
    (:func:`~rawclaude.policy.bucket.tokens_at`): a take moves it later, a
    refund earlier, and no refill needs computing on the hot path.

    The clock is the monotonic clock asyncio's loop uses; pass ``clock``
    (seconds, monotonic) to drive the synchronous methods from a fake clock.
    """

    # Slots: the fast paths read a few of these for every request, from objects
    # that are cold by then (the rest of the request ran in between).
    __slots__ = (
        "__weakref__", "_capacity", "_clock", "_epoch", "_full_at", "_paused_until",
        "_per_token", "_rate", "_timer", "_waiters", "_window",
    )  # fmt: skip

    def __init__(
        self, rate: float, capacity: float, *, clock: Callable[[], float] | None = None
    ) -> None:
        self._rate = positive("rate", rate)
        self._capacity = positive("capacity", capacity)
        self._clock = clock or _monotonic
        #: The bucket keeps its times as ``clock() - _epoch`` (see _EPOCH).
        self._epoch = _EPOCH if self._clock is _monotonic else 0.0
        #: Seconds one token takes to come back.
        self._per_token = 1.0 / self._rate
        #: The latest ``full_at`` a take may leave: empty (``capacity / rate``
        #: from now), plus float slack, as in policy.bucket.time_until, so that
        #: a grant due now is granted now.
        self._window = self._capacity * self._per_token * (1.0 + _EPSILON) + _TIME_SLACK
        self._full_at = -math.inf  # full from the start, in any clock
        self._paused_until = -math.inf
        self._waiters: deque[_Waiter] = deque()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def capacity(self) -> float:
        return self._capacity

    @property
    def tokens(self) -> float:
        """Tokens available now."""
        return self._tokens_at(self._now())

    @property
    def waiters(self) -> int:
        return sum(1 for w in self._waiters if not w.future.done())

    @property
    def paused_for(self) -> float:
        """Seconds left of a pause set by :meth:`pause_until` (0.0 when not paused)."""
        return max(0.0, self._paused_until - self._now())

    async def acquire(self, amount: float = 1.0) -> None:
        """Wait until ``amount`` tokens can be taken, in arrival order, and take them."""
        if self.try_acquire(amount) or amount == 0:
            return
        waiter = _Waiter(float(amount), asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        if len(self._waiters) == 1:
            self._serve()  # the new head: set the timer for it
        try:
            await waiter.future
        except asyncio.CancelledError:
            self._forget(waiter)
            raise

    def try_acquire(self, amount: float = 1.0) -> bool:
        """Take ``amount`` tokens if they are there now and nobody is queued ahead."""
        amount = self._check_amount(amount)
        if self._waiters:
            return False  # FIFO: never overtake a waiter
        now = self._now()
        tokens = self._tokens_at(now)
        if grant_delay(tokens, amount, self._rate, self._paused_until - now) > 0:
            return False
        self._set_tokens(tokens - amount, now)
        return True

    def refund(self, amount: float) -> None:
        """Give back tokens that were taken but not used (capped at capacity)."""
        self._full_at -= non_negative("amount", amount) * self._per_token
        self._serve()

    def clamp(self, remaining: float) -> None:
        """Never be more optimistic than the server: keep at most ``remaining`` tokens."""
        self._clamp_now(non_negative("remaining", remaining), self._now())

    def pause_until(self, when: float) -> None:
        """Grant nothing before ``when`` (this bucket's clock), to any caller."""
        self._paused_until = max(self._paused_until, when - self._epoch)
        self._serve()

    def pause_for(self, seconds: float) -> None:
        """Grant nothing for the next ``seconds``."""
        self.pause_until(self._clock() + non_negative("seconds", seconds))

    def _check_amount(self, amount: float) -> float:
        return check_amount(amount, self._capacity)

    def _now(self) -> float:
        """This bucket's time: its clock, from its epoch. (``_full_at`` and
        ``_paused_until`` are kept in it; the limiter's fast paths work it out
        as ``_monotonic() - _EPOCH``.)"""
        return self._clock() - self._epoch

    def _tokens_at(self, now: float) -> float:
        return tokens_at(self._full_at, now, self._rate, self._capacity)

    def _set_tokens(self, tokens: float, now: float) -> None:
        self._full_at = full_at(tokens, now, self._rate, self._capacity)

    def _give_back_now(self, amount: float) -> None:
        """:meth:`refund` for the limiter's hot path (``amount`` > 0, checked)."""
        self._full_at -= amount * self._per_token
        if self._waiters:
            self._serve()

    def _clamp_now(self, remaining: float, now: float) -> None:
        """:meth:`clamp` (``remaining`` checked, ``now`` read once for all buckets):
        nothing to do unless it lowers the tokens."""
        lowest = now + (self._capacity - remaining) * self._per_token
        if lowest > self._full_at:
            self._full_at = lowest
            if self._waiters:
                self._serve()  # the head waiter's timer is now too early

    def _serve(self) -> None:
        """Grant queued waiters in order while tokens last; set a timer for the rest."""
        waiters = self._waiters
        if not waiters:
            self._cancel_timer()
            return
        now = self._now()
        tokens = start = self._tokens_at(now)
        try:
            while waiters:
                head = waiters[0]
                if head.future.done():  # cancelled; its task has not run _forget yet
                    waiters.popleft()
                    continue
                delay = grant_delay(tokens, head.amount, self._rate, self._paused_until - now)
                if delay > 0:
                    self._set_timer(head.future.get_loop(), delay)
                    return
                tokens -= head.amount
                waiters.popleft()
                head.future.set_result(None)
            self._cancel_timer()
        finally:
            if tokens != start:
                self._set_tokens(tokens, now)

    def _forget(self, waiter: _Waiter) -> None:
        if waiter.future.done() and not waiter.future.cancelled():
            # Granted in the same loop turn as the cancel: the caller never got
            # the tokens, so they go back.
            self._full_at -= waiter.amount * self._per_token
        else:
            with contextlib.suppress(ValueError):  # _serve may have dropped it already
                self._waiters.remove(waiter)
        self._serve()  # if it was the head, the next one may be servable now

    def _set_timer(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        self._cancel_timer()
        self._timer = loop.call_at(loop.time() + delay, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        self._serve()

    def __repr__(self) -> str:
        paused = self.paused_for
        pause = f", paused_for={paused:.3f}s" if paused > 0 else ""
        return (
            f"TokenBucket(tokens={self.tokens:.3f}, rate={self._rate:g}/s, "
            f"capacity={self._capacity:g}, waiters={self.waiters}{pause})"
        )


# --------------------------------------------------------------------------- limiter


class _Slots:
    """The concurrency slots: a counter and a FIFO of waiters, handed over on release.

    Like ``asyncio.Semaphore``, but the limiter's fast path reads and takes
    ``free`` synchronously. Invariant: while a live waiter is queued, ``free``
    is 0 (a release hands its slot to the head waiter instead of counting it),
    so taking a free slot never overtakes a waiter.
    """

    __slots__ = ("_waiters", "free")

    def __init__(self, size: int) -> None:
        self.free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def take(self) -> None:
        if self.free > 0:
            self.free -= 1
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # handed over in the same turn as the cancel: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(future)
            raise

    def release(self) -> None:
        waiters = self._waiters
        while waiters:
            future = waiters.popleft()
            if not future.done():
                future.set_result(None)  # the slot goes to this waiter
                return
        self.free += 1

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiters if not f.done())


class Bucket(Protocol):
    """What :class:`RateLimiter` needs from a bucket: a local :class:`TokenBucket`
    (synchronous refund/clamp/pause) or a shared ``RedisTokenBucket`` (async)."""

    @property
    def capacity(self) -> float: ...

    async def acquire(self, amount: float = 1.0) -> None: ...

    def refund(self, amount: float) -> Awaitable[None] | None: ...

    def clamp(self, remaining: float) -> Awaitable[None] | None: ...

    def pause_for(self, seconds: float) -> Awaitable[None] | None: ...


#: Builds one bucket: ``factory(name, rate_per_second, capacity)`` where name is
#: "requests", "input_tokens" or "output_tokens".
BucketFactory = Callable[[str, float, float], Bucket]

#: Pause after a 429 that says neither how long to wait nor which window is empty.
DEFAULT_429_PAUSE = 1.0
#: A ``*-reset`` time is when a window is *full* again; at most a minute away.
_MAX_RESET_PAUSE = 60.0


def pause_after_429(state: RateLimitState | None) -> float:
    """How long every caller should hold off after a 429 with these headers.

    ``retry-after`` when given; else until the latest ``reset`` of a window the
    server reports as exhausted (``remaining == 0``), capped at a minute; else
    :data:`DEFAULT_429_PAUSE`.
    """
    if state is None:
        return DEFAULT_429_PAUSE
    if state.retry_after is not None:
        return state.retry_after
    windows = (state.requests, state.tokens, state.input_tokens, state.output_tokens)
    waits = [
        w.reset.timestamp() - state.observed_at
        for w in windows
        if w.remaining == 0 and w.reset is not None
    ]
    if not waits:
        return DEFAULT_429_PAUSE
    return min(max(0.0, *waits), _MAX_RESET_PAUSE)


def _local_bucket(name: str, rate: float, capacity: float) -> Bucket:
    return TokenBucket(rate, capacity)


class Reservation(msgspec.Struct, eq=False):
    """What :meth:`RateLimiter.reserve` took; give it back with :meth:`release`.

    Also an async context manager: leaving the block releases it with no
    usage known (the concurrency slot is freed, tokens are not refunded).
    (A Struct: one is made for every request a limiter admits.)
    """

    _limiter: RateLimiter
    #: Tokens actually reserved (after clamping to bucket capacity).
    input_tokens: float
    output_tokens: float
    _released: bool = False

    @property
    def released(self) -> bool:
        return self._released

    async def release(
        self, *, output_tokens_used: int | None = None, input_tokens_used: int | None = None
    ) -> None:
        """Free the concurrency slot and refund what was reserved but not used.

        Idempotent. With usage unknown (None: the request failed or was
        abandoned) no tokens are refunded. A refund that cannot reach a shared
        backend is logged, not raised: losing it only makes the limiter more
        careful, and raising here would hide the request's own outcome.
        """
        if self._released:
            return
        self._released = True
        await self._limiter._finish(self, input_tokens_used, output_tokens_used)

    def release_nowait(
        self, *, output_tokens_used: int | None = None, input_tokens_used: int | None = None
    ) -> None:
        """:meth:`release` without waiting: the slot is freed now, refunds to a
        shared backend go on in the background. Safe where nothing can be
        awaited (a stream released at garbage collection)."""
        self._settle_nowait(input_tokens_used, output_tokens_used)

    def _settle_nowait(self, input_tokens_used: int | None, output_tokens_used: int | None) -> None:
        """:meth:`release_nowait`, positional (the admission stage's, once per
        request): with every bucket local, all of it here, in one frame."""
        if self._released:
            return
        self._released = True
        limiter = self._limiter
        fast = limiter._fast
        if fast is not None:
            # All local: free the slot and refund inline (what _Slots.release and
            # TokenBucket._give_back_now do, written out: this runs per request).
            limiter._in_flight -= 1
            slots = limiter._slots
            if slots is not None:
                if slots._waiters:
                    slots.release()  # hand the slot over
                else:
                    slots.free += 1
            _, inputs, outputs = fast
            if input_tokens_used is not None and inputs is not None:
                unused = self.input_tokens - input_tokens_used
                if unused > 0:
                    inputs._full_at -= unused * inputs._per_token
                    if inputs._waiters:
                        inputs._serve()
            if output_tokens_used is not None and outputs is not None:
                unused = self.output_tokens - output_tokens_used
                if unused > 0:
                    outputs._full_at -= unused * outputs._per_token
                    if outputs._waiters:
                        outputs._serve()
            return
        limiter._finish_nowait(self, input_tokens_used, output_tokens_used)

    async def __aenter__(self) -> Reservation:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()

    def __repr__(self) -> str:
        return (
            f"Reservation(input_tokens={self.input_tokens:g}, "
            f"output_tokens={self.output_tokens:g}, released={self._released})"
        )


class RateLimiter:
    """Client-side limits on requests, input and output tokens per minute, and concurrency.

    Every limit is optional. Each per-minute limit is a bucket holding
    ``limit * burst_seconds / 60`` (one minute's worth by default, like the
    API's own buckets) and refilling at ``limit / 60`` per second.

    Amounts above a bucket's capacity (``max_tokens`` 64000 against an output
    limit of 8000 per minute, say) are clamped to the capacity: the request
    waits for a full bucket and takes all of it, then gets the unused part
    back on release. Raising instead would make such a request impossible,
    although the API itself admits it (it estimates output from ``max_tokens``
    and corrects it when the request ends).

    Concurrency (``max_concurrency``) is always per process, also when the
    buckets are shared through Redis. A limiter belongs to one event loop.
    """

    __slots__ = (
        "__weakref__", "_factory", "_fast", "_in_flight", "_input", "_local",
        "_max_concurrency", "_output", "_paused_until", "_requests", "_slots", "_state",
        "_tasks",
    )  # fmt: skip

    def __init__(
        self,
        requests_per_minute: float | None = None,
        input_tokens_per_minute: float | None = None,
        output_tokens_per_minute: float | None = None,
        max_concurrency: int | None = None,
        *,
        burst_seconds: float = 60.0,
        bucket_factory: BucketFactory | None = None,
    ) -> None:
        burst = positive("burst_seconds", burst_seconds)
        make = bucket_factory or _local_bucket
        self._factory = bucket_factory
        self._requests = _build(make, "requests", requests_per_minute, burst)
        self._input = _build(make, "input_tokens", input_tokens_per_minute, burst)
        self._output = _build(make, "output_tokens", output_tokens_per_minute, burst)
        self._max_concurrency = _check_concurrency(max_concurrency)
        self._slots = _Slots(max_concurrency) if max_concurrency else None
        self._in_flight = 0
        self._paused_until = -math.inf
        self._state: RateLimitState | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        #: Every bucket is an in-process TokenBucket on the monotonic clock: the
        #: synchronous fast paths apply (they read that clock once for all).
        self._local = all(
            b.__class__ is TokenBucket and b._clock is _monotonic for b in self.buckets.values()
        )
        # The fast path's buckets, read once: (requests, input, output), local only.
        self._fast: tuple[TokenBucket | None, TokenBucket | None, TokenBucket | None] | None = (
            (self._requests, self._input, self._output) if self._local else None  # type: ignore[assignment]
        )

    @property
    def state(self) -> RateLimitState | None:
        """The rate-limit headers of the last response observed (None before any)."""
        return self._state

    @property
    def in_flight(self) -> int:
        """Reservations taken and not yet released."""
        return self._in_flight

    @property
    def paused_for(self) -> float:
        """Seconds until a 429 pause ends (0.0 when not paused)."""
        return max(0.0, self._paused_until - _monotonic())

    @property
    def pausing(self) -> bool:
        """A 429 has ever paused this limiter (the pause may be over): a cheap test
        before :attr:`paused_for` reads the clock."""
        return self._paused_until != -math.inf

    @property
    def buckets(self) -> dict[str, Bucket]:
        named = {
            "requests": self._requests,
            "input_tokens": self._input,
            "output_tokens": self._output,
        }
        return {name: b for name, b in named.items() if b is not None}

    async def reserve(self, *, input_tokens: int, output_tokens: int) -> Reservation:
        """Wait for a concurrency slot, then 1 request, ``input_tokens`` and ``output_tokens``.

        ``output_tokens`` is the request's ``max_tokens`` (what it may use).
        If cancelled (or failing) midway, everything taken so far is given back.
        """
        reservation = self.try_reserve(input_tokens=input_tokens, output_tokens=output_tokens)
        if reservation is not None:
            return reservation
        plan = self._plan(input_tokens, output_tokens)
        if self._slots is not None:
            await self._slots.take()
        now = _monotonic()
        if (
            self._local and now >= self._paused_until and self._take_all_now(plan, now - _EPOCH)  # type: ignore[arg-type]
        ):
            # Waited for a slot only: the tokens are there, no coroutine per bucket.
            self._in_flight += 1
            return Reservation(self, *self._reserved(plan))
        taken: list[tuple[Bucket, float]] = []
        try:
            if self._paused_until != -math.inf:
                await self._wait_while_paused()
            for bucket, amount in plan:
                await bucket.acquire(amount)
                taken.append((bucket, amount))
        except BaseException:
            for bucket, amount in taken:
                self._background(bucket.refund(amount))
            if self._slots is not None:
                self._slots.release()
            raise
        self._in_flight += 1
        return Reservation(self, *self._reserved(plan))

    def try_reserve(self, *, input_tokens: int, output_tokens: int) -> Reservation | None:
        """:meth:`reserve` without waiting: the reservation if a slot and every
        bucket's tokens are there now (nobody queued ahead, no pause), else None
        and nothing taken. Always None with shared (Redis) buckets.

        The admission fast path: one clock read, no coroutine. Amounts that are
        not plain ints return None, so that :meth:`reserve` checks (and rejects)
        them.
        """
        if type(input_tokens) is not int or type(output_tokens) is not int:
            return None
        if input_tokens < 0 or output_tokens < 0:
            return None
        return self._reserve_now(input_tokens, output_tokens)

    def _reserve_now(self, input_tokens: float, output_tokens: float) -> Reservation | None:
        """:meth:`try_reserve` for amounts known to be numbers >= 0 (the admission
        stage's, from the call it built)."""
        fast = self._fast
        if fast is None:
            return None
        slots = self._slots
        if slots is not None and slots.free <= 0:
            return None
        now = _monotonic()
        if now < self._paused_until:
            return None
        now -= _EPOCH  # the buckets' time
        # The take of TokenBucket.try_acquire on each bucket's one state, written
        # out per bucket: this runs for every request, so no loop and no call
        # (a refusal gives back what the earlier buckets took).
        requests, inputs, outputs = fast
        if requests is not None:
            if requests._waiters or now < requests._paused_until:
                return None
            full = requests._full_at
            if full < now:
                full = now
            full += requests._per_token
            if full - now > requests._window:
                return None
            requests._full_at = full
        taken_in = taken_out = 0.0
        if inputs is not None and input_tokens:
            if input_tokens > inputs._capacity:
                input_tokens = inputs._capacity  # see the class docstring
            full = inputs._full_at
            if full < now:
                full = now
            full += input_tokens * inputs._per_token
            if full - now > inputs._window or inputs._waiters or now < inputs._paused_until:
                self._undo_fast_take(0.0)
                return None
            inputs._full_at = full
            taken_in = input_tokens
        if outputs is not None and output_tokens:
            if output_tokens > outputs._capacity:
                output_tokens = outputs._capacity
            full = outputs._full_at
            if full < now:
                full = now
            full += output_tokens * outputs._per_token
            if full - now > outputs._window or outputs._waiters or now < outputs._paused_until:
                self._undo_fast_take(taken_in)
                return None
            outputs._full_at = full
            taken_out = output_tokens
        if slots is not None:
            slots.free -= 1
        self._in_flight += 1
        return Reservation(self, taken_in, taken_out)

    def _undo_fast_take(self, input_tokens: float) -> None:
        """Give back what :meth:`_reserve_now` took before a later bucket refused:
        the request, and ``input_tokens`` (nothing waits on either: it checked)."""
        requests, inputs, _ = self._fast  # type: ignore[misc]
        if requests is not None:
            requests._give_back_now(1.0)
        if inputs is not None and input_tokens:
            inputs._give_back_now(input_tokens)

    def _take_all_now(self, plan: Sequence[tuple[TokenBucket, float]], now: float) -> bool:
        """Take every ``(bucket, amount)`` of ``plan`` now, or nothing: the
        admission fast path (amounts checked and clamped; ``now`` read once).

        Same rules as :meth:`TokenBucket.try_acquire` -- first come, first
        served, pauses -- written out on the bucket's one state, ``_full_at``:
        this runs for every bucket of every request, so no call per bucket.
        """
        for i, (bucket, amount) in enumerate(plan):
            full = bucket._full_at
            if full < now:
                full = now
            full += amount * bucket._per_token
            if full - now > bucket._window or bucket._waiters or now < bucket._paused_until:
                for back, taken in plan[:i]:
                    back._full_at -= taken * back._per_token
                return False
            bucket._full_at = full
        return True

    def observe(self, status: int, state: RateLimitState | None) -> None:
        """Sync with a response: clamp buckets to the server's ``remaining``; pause on 429.

        Cheap and synchronous. A shared (Redis) bucket is updated by a
        background task; :meth:`flush` waits for those.
        """
        if state is not None:
            self._state = state
            self._clamp(state)
        if status == 429:
            self._pause(pause_after_429(state))

    async def flush(self) -> None:
        """Wait until background updates of shared buckets (from observe/cancel) are done."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Finish background updates and close what the buckets and their factory opened."""
        await self.flush()
        for owner in (*self.buckets.values(), self._factory):
            close = getattr(owner, "aclose", None)
            if close is not None:
                await close()

    def _plan(self, input_tokens: float, output_tokens: float) -> list[tuple[Bucket, float]]:
        wanted = (
            (self._requests, 1.0),
            (self._input, non_negative("input_tokens", input_tokens)),
            (self._output, non_negative("output_tokens", output_tokens)),
        )
        # Above capacity: clamp (see the class docstring); zero: nothing to wait for.
        return [(b, min(n, b.capacity)) for b, n in wanted if b is not None and n > 0]

    def _reserved(self, plan: list[tuple[Bucket, float]]) -> tuple[float, float]:
        taken_in = taken_out = 0.0
        for bucket, amount in plan:
            if bucket is self._input:
                taken_in = amount
            elif bucket is self._output:
                taken_out = amount
        return taken_in, taken_out

    async def _wait_while_paused(self) -> None:
        # The buckets are paused too; this also covers a limiter that has only
        # max_concurrency, and keeps waiters off a shared backend meanwhile.
        # A deadline, not an event, is awaited; a later 429 may move it.
        while (delay := self._paused_until - _monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    async def _finish(
        self, res: Reservation, input_used: int | None, output_used: int | None
    ) -> None:
        for bucket, amount in self._free(res, input_used, output_used):
            await _quietly(bucket.refund(amount))

    def _finish_nowait(
        self, res: Reservation, input_used: int | None, output_used: int | None
    ) -> None:
        # Shared buckets (the local ones are settled in Reservation._settle_nowait).
        refunds = self._free(res, input_used, output_used)
        for bucket, amount in refunds:
            self._background(bucket.refund(amount))

    def _free(
        self, res: Reservation, input_used: int | None, output_used: int | None
    ) -> list[tuple[Bucket, float]]:
        """Give the slot back; the refunds still to make."""
        self._in_flight -= 1
        if self._slots is not None:
            self._slots.release()
        refunds = []
        if self._input is not None and input_used is not None:
            refunds.append((self._input, res.input_tokens - input_used))
        if self._output is not None and output_used is not None:
            refunds.append((self._output, res.output_tokens - output_used))
        return [(bucket, amount) for bucket, amount in refunds if amount > 0]

    def _clamp(self, state: RateLimitState) -> None:
        # ``tokens-*`` is the most restrictive token limit in effect: the
        # fallback when the input/output windows are not reported separately.
        remainings = (
            state.requests.remaining,
            _first(state.input_tokens.remaining, state.tokens.remaining),
            _first(state.output_tokens.remaining, state.tokens.remaining),
        )
        fast = self._fast
        if fast is not None:  # every bucket local: one clock read, no coroutine
            now = _monotonic() - _EPOCH  # the buckets' time
            for local, remaining in zip(fast, remainings, strict=True):
                if local is not None and remaining is not None:
                    local._clamp_now(remaining, now)
            return
        buckets = (self._requests, self._input, self._output)
        for bucket, remaining in zip(buckets, remainings, strict=True):
            if bucket is not None and remaining is not None:
                self._background(bucket.clamp(remaining))

    def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self._paused_until = max(self._paused_until, _monotonic() + seconds)
        for bucket in self.buckets.values():
            self._background(bucket.pause_for(seconds))

    def _background(self, pending: Awaitable[None] | None) -> None:
        if pending is None:
            return  # a local bucket did it synchronously
        try:
            task = asyncio.ensure_future(pending)
        except RuntimeError:  # no running loop (a stream collected after its loop ended)
            close = getattr(pending, "close", None)
            if close is not None:
                close()
            logger.warning("rate limiter: update lost: no running event loop")
            return
        self._tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("rate limiter: background update failed: %s", task.exception())

    def __repr__(self) -> str:
        parts = [f"{name}={bucket!r}" for name, bucket in self.buckets.items()]
        if self._max_concurrency is not None:
            parts.append(f"concurrency={self._in_flight}/{self._max_concurrency}")
        paused = self._paused_until - _monotonic()
        if paused > 0:
            parts.append(f"paused_for={paused:.3f}s")
        return f"RateLimiter({', '.join(parts)})"


def _build(make: BucketFactory, name: str, per_minute: float | None, burst: float) -> Bucket | None:
    if per_minute is None:
        return None
    limit = positive(f"{name}_per_minute", per_minute)
    return make(name, limit / 60.0, limit * burst / 60.0)


def _check_concurrency(value: int | None) -> int | None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise ConfigurationError(f"max_concurrency must be an int >= 1, got {value!r}")
    return value


def _first(value: int | None, otherwise: int | None) -> int | None:
    return value if value is not None else otherwise


async def _quietly(pending: Awaitable[None] | None) -> None:
    if pending is None:
        return
    try:
        await pending
    except RateLimiterUnavailableError as exc:
        logger.warning("rate limiter: refund lost: %s", exc)
