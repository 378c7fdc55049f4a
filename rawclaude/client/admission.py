"""Admission: the stages an attempt passes before it is sent.

A stage's :meth:`AdmissionStage.admit` waits or refuses (by raising a
``RawClaudeError``: nothing is sent, and the call is not retried) and returns a
:class:`Ticket` (or None when it holds nothing for this call). The pipeline
releases every ticket it was given exactly once, with the attempt's
:class:`~rawclaude.client.call.Outcome` -- after the response was read, or when
a stream's lease ends (finished, closed, cancelled, garbage collected).
``release`` is synchronous so that it can run anywhere, a finalizer included;
a stage with remote state (Redis) starts a background task from it.

A stage may also offer ``admit_now(call)``: the same decision taken without
awaiting, returning the ticket (or None), or :data:`WAIT` when it would have
to wait -- then the pipeline awaits ``admit``. The pipeline tries it first, so
an attempt that nothing holds back costs no coroutine per stage.

The rate limiter is the first stage (:class:`LimiterStage`); the budget guard
and the circuit breaker plug in after it through ``Client(admission=[...])``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

import msgspec

from ..io.limiter import RateLimiter, Reservation
from ..wire.errors import RateLimitPausedError
from .call import Call, Outcome

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["WAIT", "AdmissionStage", "LimiterStage", "Ticket", "Wait", "release_all"]

log = logging.getLogger("rawclaude")


@runtime_checkable
class Ticket(Protocol):
    """What a stage holds for one attempt."""

    def release(self, outcome: Outcome) -> None: ...


@runtime_checkable
class AdmissionStage(Protocol):
    """One admission stage (limiter, budget, breaker, ...)."""

    async def admit(self, call: Call) -> Ticket | None: ...


class Wait:
    """The type of :data:`WAIT`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "WAIT"


#: What ``admit_now`` returns when the stage cannot decide without waiting.
WAIT: Final = Wait()


class _LimiterTicket(msgspec.Struct, gc=False):
    reservation: Reservation

    def release(self, outcome: Outcome) -> None:
        usage = outcome.usage
        if usage is not None and outcome.complete:
            # policy.ratelimit.input_tokens_used, written out (once per request):
            # cache writes count towards the input limit, cache reads do not.
            used = usage.input_tokens + (usage.cache_creation_input_tokens or 0)
            self.reservation._settle_nowait(used, usage.output_tokens)
        elif outcome.nothing_generated:
            self.reservation._settle_nowait(0, 0)
        else:
            # Unknown usage (an abandoned stream, a broken connection) refunds nothing.
            self.reservation._settle_nowait(None, None)


class LimiterStage:
    """A :class:`~rawclaude.RateLimiter` as an admission stage."""

    __slots__ = ("limiter", "max_retry_wait")

    def __init__(self, limiter: RateLimiter, max_retry_wait: float) -> None:
        self.limiter = limiter
        self.max_retry_wait = max_retry_wait

    def admit_now(self, call: Call) -> Ticket | Wait | None:
        # The call's amounts are ints >= 0 (build_call made them): the unchecked entry.
        reservation = self.limiter._reserve_now(call.input_tokens, call.max_tokens)
        return WAIT if reservation is None else _LimiterTicket(reservation)

    async def admit(self, call: Call) -> Ticket | None:
        limiter = self.limiter
        paused = limiter.paused_for if limiter.pausing else 0.0
        if paused > self.max_retry_wait:
            # A 429 paused every caller for longer than we sleep silently: the
            # same rule as for the request that got the 429.
            raise RateLimitPausedError(paused, self.max_retry_wait)
        reservation = await limiter.reserve(
            input_tokens=call.input_tokens, output_tokens=call.max_tokens
        )
        return _LimiterTicket(reservation)


def release_all(tickets: Sequence[Ticket], outcome: Outcome) -> None:
    """Release every ticket. A stage that fails to release is logged: it must
    neither keep the other stages' tickets nor hide the call's own outcome."""
    for ticket in tickets:
        try:
            ticket.release(outcome)
        except Exception:
            log.warning("rawclaude: releasing %r failed", ticket, exc_info=True)
