"""Retry policy as pure functions of (attempt, status, headers, now, random).

Rules (Anthropic API docs, "Errors"; the official SDKs follow the same):

1. ``x-should-retry: true|false`` on a response decides first.
2. Otherwise retry 408, 409, 429, every status >= 500, and connection errors
   and timeouts (``status is None``); never any other 4xx.
3. The wait is ``retry-after-ms`` if present, else ``retry-after`` (seconds or
   an HTTP date), else exponential backoff with jitter: ``initial_delay``
   doubling per attempt up to ``max_delay``, scaled by a random factor in
   [0.75, 1] so that many clients that failed together do not retry together.
4. A server-given wait is obeyed, but never silently for longer than
   ``max_retry_wait``: past that the caller gets the error at once, with the
   wait on it (``APIStatusError.retry_after``), and decides.

Nothing here sleeps or reads a clock: tests are tables.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from .retry_after import parse_retry_after

__all__ = ["RetryPolicy", "RetryDecision", "decide", "server_wait", "backoff", "is_retryable"]

_RETRY_STATUSES = frozenset({408, 409, 429})


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How hard to retry. ``max_retries`` counts extra attempts after the first."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    #: The longest server-requested wait we sleep through before retrying.
    max_retry_wait: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.initial_delay < 0 or self.max_delay < 0 or self.max_retry_wait < 0:
            raise ValueError("retry delays must be >= 0")


class RetryDecision(msgspec.Struct, frozen=True):
    retry: bool
    #: Seconds to wait before the next attempt (when ``retry``).
    delay: float = 0.0
    #: The wait the server asked for, if it asked (seconds).
    server_wait: float | None = None
    #: Why we stop, for the error message, when not retrying.
    reason: str = ""
    #: Stopped because the server asked for a wait over ``max_retry_wait``.
    wait_too_long: bool = False


def is_retryable(status: int | None, headers: Mapping[str, str]) -> bool:
    """Whether an outcome is worth another attempt; ``status=None`` = no response."""
    should = headers.get("x-should-retry")
    if should == "true":
        return True
    if should == "false":
        return False
    if status is None:
        return True
    return status in _RETRY_STATUSES or status >= 500


def server_wait(headers: Mapping[str, str], now: float) -> float | None:
    """The wait the server asked for in seconds, or None; ``now`` is a Unix time."""
    return parse_retry_after(headers, now)


def backoff(policy: RetryPolicy, attempt: int, rand: float) -> float:
    """Exponential backoff for retry number ``attempt`` (0-based), jittered by ``rand`` in [0,1)."""
    base = min(policy.initial_delay * (2.0**attempt), policy.max_delay)
    return base * (1.0 - 0.25 * rand)


def decide(
    policy: RetryPolicy,
    attempt: int,
    status: int | None,
    headers: Mapping[str, str],
    *,
    now: float,
    rand: float,
) -> RetryDecision:
    """Whether to retry after attempt number ``attempt`` (0-based) failed, and how long to wait."""
    wait = server_wait(headers, now)
    if not is_retryable(status, headers):
        return RetryDecision(False, server_wait=wait, reason="not retryable")
    if attempt >= policy.max_retries:
        return RetryDecision(
            False, server_wait=wait, reason=f"gave up after {attempt + 1} attempts"
        )
    if wait is None:
        return RetryDecision(True, delay=backoff(policy, attempt, rand))
    if wait > policy.max_retry_wait:
        return RetryDecision(
            False,
            server_wait=wait,
            wait_too_long=True,
            reason=(
                f"server asked to retry after {wait:.3g}s, more than "
                f"max_retry_wait={policy.max_retry_wait:g}s"
            ),
        )
    return RetryDecision(True, delay=wait, server_wait=wait)
