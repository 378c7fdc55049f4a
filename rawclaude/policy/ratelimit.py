"""Rate-limit state from response headers, and a cheap input-token estimate (layer 0, pure).

The Claude API reports its limits on every response (docs: "Rate limits" ->
"Response headers")::

    anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-limit      integer
    anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-remaining  integer
    anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-reset      RFC 3339 time
    retry-after                                                                 seconds

``*-reset`` is when that window will be *fully* replenished; ``tokens-*`` describe
whichever token limit is the most restrictive right now; token ``remaining``
values are rounded to the nearest thousand. ``retry-after`` may, per RFC 9110
section 10.2.3, also be an HTTP-date; ``retry-after-ms`` (sent by the API next to
it, and preferred by the official SDKs) wins when present.

Everything here is a pure function of its inputs: no clock is read, the caller
passes ``now`` (Unix time, ``time.time()``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

import msgspec

from ..wire.models import Usage
from .retry_after import parse_retry_after

__all__ = [
    "NOTHING_USED",
    "input_tokens_used",
    "usage_for_limiter",
    "RateLimitWindow",
    "RateLimitState",
    "parse_rate_limit_headers",
    "estimate_input_tokens",
    "BYTES_PER_TOKEN_ESTIMATE",
]

_PREFIX = "anthropic-ratelimit-"
_WINDOWS = ("requests", "tokens", "input-tokens", "output-tokens")
_FIELDS = ("limit", "remaining", "reset")
# Every header name we read, built once (lower case: aiohttp's CIMultiDictProxy
# is case-insensitive, and a plain dict is expected to use lower-case keys).
_NAMES = {w: tuple(f"{_PREFIX}{w}-{f}" for f in _FIELDS) for w in _WINDOWS}


class RateLimitWindow(msgspec.Struct, frozen=True):
    """One window (requests, tokens, ...) as the server last reported it.

    Each field is None when its header was absent or malformed.
    """

    limit: int | None = None
    remaining: int | None = None
    #: When the window will be fully replenished (timezone-aware, UTC).
    reset: datetime | None = None


_EMPTY = RateLimitWindow()


class RateLimitState(msgspec.Struct, frozen=True):
    """The rate-limit headers of one response."""

    requests: RateLimitWindow = _EMPTY
    #: The most restrictive token limit currently in effect (docs).
    tokens: RateLimitWindow = _EMPTY
    input_tokens: RateLimitWindow = _EMPTY
    output_tokens: RateLimitWindow = _EMPTY
    #: Seconds the server asked us to wait (``retry-after-ms`` / ``retry-after``).
    retry_after: float | None = None
    #: Unix time (the ``now`` given to the parser) the headers were read at;
    #: turns ``reset`` datetimes into delays without reading a clock again.
    observed_at: float = 0.0


def parse_rate_limit_headers(headers: Mapping[str, str], *, now: float) -> RateLimitState | None:
    """Parse the rate-limit headers of a response; None when it carries none.

    ``now`` is the current Unix time. A malformed value leaves only its own
    field None; this function never raises on header content.
    """
    windows = [_parse_window(headers, _NAMES[w]) for w in _WINDOWS]
    retry_after = parse_retry_after(headers, now)
    if retry_after is None and all(w is None for w in windows):
        return None
    requests, tokens, input_tokens, output_tokens = (w or _EMPTY for w in windows)
    return RateLimitState(
        requests=requests,
        tokens=tokens,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        retry_after=retry_after,
        observed_at=now,
    )


def _parse_window(headers: Mapping[str, str], names: tuple[str, ...]) -> RateLimitWindow | None:
    raw = [headers.get(name) for name in names]
    if raw[0] is None and raw[1] is None and raw[2] is None:
        return None  # the fast path: this window is not reported at all
    return RateLimitWindow(
        limit=_parse_count(raw[0]),
        remaining=_parse_count(raw[1]),
        reset=parse_rfc3339(raw[2]),
    )


def _parse_count(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    # isascii() first: str.isdigit() also accepts digits such as "²" or "٣".
    if value.isascii() and value.isdigit():
        return int(value)
    return None


# RFC 3339 section 5.6 date-time. "T"/"t" or (section 5.6 NOTE) a space between
# date and time; any number of fractional digits; "Z"/"z" or a numeric offset.
# Python 3.10's datetime.fromisoformat takes neither "Z" nor fractions other than
# 3 or 6 digits, so the fields are taken apart here and built directly.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))?",
    re.ASCII,
)


def parse_rfc3339(value: str | None) -> datetime | None:
    """An RFC 3339 time as an aware UTC datetime, or None if it is not one.

    A missing offset is read as UTC (HTTP times are UTC); a leap second
    (``:60``) is not representable and gives None.
    """
    if value is None:
        return None
    m = _RFC3339.fullmatch(value.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    frac = m.group(7) or ""
    micro = int((frac + "000000")[:6])  # truncate below a microsecond
    try:
        tz = timezone.utc
        if m.group(9) is not None:
            offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
            tz = timezone(-offset if m.group(9) == "-" else offset)
        parsed = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:  # out of range: month 13, second 60, offset >= 24h...
        return None
    return parsed.astimezone(timezone.utc)


#: Request bytes per input token assumed by :func:`estimate_input_tokens`.
BYTES_PER_TOKEN_ESTIMATE = 3


def estimate_input_tokens(body: bytes) -> int:
    """A cheap, deliberately high estimate of a request's input tokens.

    ``ceil(len(body) / 3)``: English prose runs at 3.5 to 4 characters per
    token, and the JSON around it (keys, quotes, escapes) is counted here but
    mostly not billed, so for English requests this over-reserves by roughly a
    third. That is the safe direction: the limiter refunds the difference once
    the response reports real usage, whereas an under-estimate costs a 429. For
    CJK text (3 UTF-8 bytes a character, about one token a character) it is
    close to exact; for scripts with denser tokenization it may under-estimate,
    and the server's ``remaining`` headers then correct the local buckets.
    Base64 images and documents are grossly over-estimated (an image costs
    about width*height/750 tokens, not its byte size): pass a real count (for
    example from the count-tokens endpoint) when sending large attachments.
    """
    return -(-len(body) // BYTES_PER_TOKEN_ESTIMATE)


#: What a failed attempt used: an error status means nothing was generated.
NOTHING_USED: dict[str, int | None] = {"output_tokens_used": 0, "input_tokens_used": 0}


def usage_for_limiter(usage: Usage | None) -> dict[str, int | None]:
    """What a response used, as the limiter counts it.

    The API's input-tokens-per-minute limit counts cache writes
    (``cache_creation_input_tokens``) as input; cache reads do not count
    (docs: "Rate limits", "Cache-aware ITPM").
    """
    if usage is None:
        return {"output_tokens_used": None, "input_tokens_used": None}
    return {
        "output_tokens_used": usage.output_tokens,
        "input_tokens_used": input_tokens_used(usage),
    }


def input_tokens_used(usage: Usage) -> int:
    """Input tokens as the input-tokens-per-minute limit counts them: cache
    writes count, cache reads do not (docs: "Rate limits", "Cache-aware ITPM")."""
    return usage.input_tokens + (usage.cache_creation_input_tokens or 0)
