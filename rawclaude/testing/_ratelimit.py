"""Rate-limit headers, as described on the API's "Rate limits" page.

Headers: ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
{limit,remaining,reset}``; ``reset`` is an RFC 3339 time. ``tokens`` counts the
input and output tokens together.

The fake uses a fixed window (the real API replenishes continuously): every
bucket refills to its limit ``window`` seconds after the window opened, which
keeps the numbers predictable for tests. With ``enforce=True`` a request that
finds a bucket empty gets the documented 429 ``rate_limit_error`` and a
``retry-after`` header in seconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ._wire import rfc3339

BUCKETS = ("requests", "tokens", "input-tokens", "output-tokens")


def bucket_headers(bucket: str, limit: int, remaining: int, reset_at: float) -> dict[str, str]:
    prefix = f"anthropic-ratelimit-{bucket}-"
    return {
        prefix + "limit": str(limit),
        prefix + "remaining": str(max(0, remaining)),
        prefix + "reset": rfc3339(reset_at),
    }


@dataclass(frozen=True)
class RateLimitSnapshot:
    """Fixed rate-limit header values for one scripted reply: ``(limit, remaining)`` pairs."""

    requests: tuple[int, int] | None = None
    tokens: tuple[int, int] | None = None
    input_tokens: tuple[int, int] | None = None
    output_tokens: tuple[int, int] | None = None
    reset_in: float = 60.0

    def headers(self, now: float) -> dict[str, str]:
        values = (self.requests, self.tokens, self.input_tokens, self.output_tokens)
        headers: dict[str, str] = {}
        for bucket, pair in zip(BUCKETS, values, strict=True):
            if pair is not None:
                headers.update(bucket_headers(bucket, pair[0], pair[1], now + self.reset_in))
        return headers


@dataclass(frozen=True)
class RateLimit:
    """Server-wide limits; ``remaining`` goes down with every authenticated request."""

    requests: int | None = None
    tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    window: float = 60.0
    enforce: bool = False

    def limits(self) -> dict[str, int]:
        values = (self.requests, self.tokens, self.input_tokens, self.output_tokens)
        return {bucket: v for bucket, v in zip(BUCKETS, values, strict=True) if v is not None}


class RateLimitState:
    """The remaining counts of one server; safe to call from any thread."""

    def __init__(self, config: RateLimit, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._limits = config.limits()
        self._clock = clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._remaining = dict(self._limits)

    def _roll(self, now: float) -> None:
        if now >= self._window_start + self._config.window:
            self._window_start = now
            self._remaining = dict(self._limits)

    def retry_after(self) -> int | None:
        """Whole seconds until the window reopens if enforcing and a bucket is empty."""
        if not self._config.enforce:
            return None
        with self._lock:
            now = self._clock()
            self._roll(now)
            if all(left > 0 for left in self._remaining.values()):
                return None
            return max(1, math.ceil(self._window_start + self._config.window - now))

    def charge(self, input_tokens: int, output_tokens: int, requests: int = 1) -> dict[str, str]:
        """Take the request and its tokens from the buckets; return the headers to send.

        ``requests=0`` (and no tokens) only reads the state, for a refused request.
        """
        cost = {
            "requests": requests,
            "tokens": input_tokens + output_tokens,
            "input-tokens": input_tokens,
            "output-tokens": output_tokens,
        }
        with self._lock:
            now = self._clock()
            self._roll(now)
            headers: dict[str, str] = {}
            reset_at = self._window_start + self._config.window
            for bucket, limit in self._limits.items():
                self._remaining[bucket] = max(0, self._remaining[bucket] - cost[bucket])
                headers.update(bucket_headers(bucket, limit, self._remaining[bucket], reset_at))
            return headers
