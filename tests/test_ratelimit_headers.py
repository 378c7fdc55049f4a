"""Rate-limit header parsing (rawclaude.policy.ratelimit): tables, no clock, no IO."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from rawclaude.policy.ratelimit import (
    RateLimitState,
    RateLimitWindow,
    estimate_input_tokens,
    parse_rate_limit_headers,
    parse_rfc3339,
)

NOW = 1_795_000_000.0  # a fixed "current" Unix time: 2026-11-18T...
UTC = timezone.utc


def _full_headers() -> dict[str, str]:
    return {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2026-11-22T11:30:00Z",
        "anthropic-ratelimit-tokens-limit": "96000",
        "anthropic-ratelimit-tokens-remaining": "95000",
        "anthropic-ratelimit-tokens-reset": "2026-11-22T11:30:01Z",
        "anthropic-ratelimit-input-tokens-limit": "80000",
        "anthropic-ratelimit-input-tokens-remaining": "79000",
        "anthropic-ratelimit-input-tokens-reset": "2026-11-22T11:30:02Z",
        "anthropic-ratelimit-output-tokens-limit": "16000",
        "anthropic-ratelimit-output-tokens-remaining": "15000",
        "anthropic-ratelimit-output-tokens-reset": "2026-11-22T11:30:03Z",
    }


def test_all_four_windows() -> None:
    state = parse_rate_limit_headers(_full_headers(), now=NOW)
    assert state == RateLimitState(
        requests=RateLimitWindow(50, 49, datetime(2026, 11, 22, 11, 30, 0, tzinfo=UTC)),
        tokens=RateLimitWindow(96000, 95000, datetime(2026, 11, 22, 11, 30, 1, tzinfo=UTC)),
        input_tokens=RateLimitWindow(80000, 79000, datetime(2026, 11, 22, 11, 30, 2, tzinfo=UTC)),
        output_tokens=RateLimitWindow(16000, 15000, datetime(2026, 11, 22, 11, 30, 3, tzinfo=UTC)),
        retry_after=None,
        observed_at=NOW,
    )


def test_case_insensitive_mapping_from_aiohttp() -> None:
    raw = CIMultiDict({k.upper(): v for k, v in _full_headers().items()})
    raw["Retry-After"] = "7"
    state = parse_rate_limit_headers(CIMultiDictProxy(raw), now=NOW)
    assert state is not None
    assert state.requests.remaining == 49
    assert state.output_tokens.limit == 16000
    assert state.retry_after == 7.0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"content-type": "application/json", "request-id": "req_1"},
        {"x-ratelimit-remaining": "5"},  # somebody else's header family
    ],
)
def test_no_rate_limit_headers_gives_none(headers: dict[str, str]) -> None:
    assert parse_rate_limit_headers(headers, now=NOW) is None


def test_state_is_immutable() -> None:
    state = parse_rate_limit_headers(_full_headers(), now=NOW)
    assert state is not None
    with pytest.raises(AttributeError):
        state.retry_after = 1.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        state.requests.remaining = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-22T11:30:00Z", datetime(2026, 11, 22, 11, 30, tzinfo=UTC)),
        ("2026-11-22t11:30:00z", datetime(2026, 11, 22, 11, 30, tzinfo=UTC)),
        ("2026-11-22 11:30:00Z", datetime(2026, 11, 22, 11, 30, tzinfo=UTC)),
        ("  2026-11-22T11:30:00Z  ", datetime(2026, 11, 22, 11, 30, tzinfo=UTC)),
        ("2026-11-22T11:30:00.5Z", datetime(2026, 11, 22, 11, 30, 0, 500000, tzinfo=UTC)),
        ("2026-11-22T11:30:00.123Z", datetime(2026, 11, 22, 11, 30, 0, 123000, tzinfo=UTC)),
        # nanoseconds (9 digits): Python 3.10's fromisoformat refuses these
        ("2026-11-22T11:30:00.123456789Z", datetime(2026, 11, 22, 11, 30, 0, 123456, tzinfo=UTC)),
        ("2026-11-22T12:30:00+01:00", datetime(2026, 11, 22, 11, 30, tzinfo=UTC)),
        ("2026-11-22T06:00:00.25-05:30", datetime(2026, 11, 22, 11, 30, 0, 250000, tzinfo=UTC)),
        ("2026-11-22T11:30:00+00:00", datetime(2026, 11, 22, 11, 30, tzinfo=UTC)),
        ("2026-11-22T11:30:00", datetime(2026, 11, 22, 11, 30, tzinfo=UTC)),  # no offset: UTC
        # malformed: None, never an exception
        ("", None),
        ("soon", None),
        ("2026-11-22", None),
        ("2026-13-22T11:30:00Z", None),
        ("2026-11-22T25:30:00Z", None),
        ("2026-12-31T23:59:60Z", None),  # leap second: not representable
        ("2026-11-22T11:30:00+0100", None),
        ("2026-11-22T11:30:00+24:00", None),
        ("2026-11-22T11:30:00.Z", None),
        ("2026-11-22T11:30:00Zjunk", None),
        ("1795000000", None),
        ("\uff12\uff10\uff12\uff16-11-22T11:30:00Z", None),  # full-width digits
    ],
)
def test_rfc3339(value: str, expected: datetime | None) -> None:
    parsed = parse_rfc3339(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("limit", "remaining", "expected"),
    [
        ("50", "49", (50, 49)),
        (" 50 ", "0", (50, 0)),
        ("50.0", "49", (None, 49)),
        ("-1", "49", (None, 49)),
        ("+5", "1_000", (None, None)),
        ("", "abc", (None, None)),
        ("\u00b2", "\u0663", (None, None)),  # str.isdigit() alone would accept these
    ],
)
def test_malformed_counts_are_ignored_per_field(
    limit: str, remaining: str, expected: tuple[int | None, int | None]
) -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": limit,
        "anthropic-ratelimit-requests-remaining": remaining,
        "anthropic-ratelimit-requests-reset": "not a time",
        "anthropic-ratelimit-output-tokens-remaining": "12",
    }
    state = parse_rate_limit_headers(headers, now=NOW)
    assert state is not None
    assert (state.requests.limit, state.requests.remaining) == expected
    assert state.requests.reset is None
    assert state.output_tokens == RateLimitWindow(remaining=12)
    assert state.tokens == RateLimitWindow()


_HTTP_DATE = "Wed, 18 Nov 2026 08:00:30 GMT"
_HTTP_DATE_TS = datetime(2026, 11, 18, 8, 0, 30, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "30"}, 30.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": " 1.5 "}, 1.5),
        ({"retry-after": _HTTP_DATE}, 30.0),  # 30 s after NOW2
        ({"retry-after": "Wed, 18 Nov 2026 07:00:00 GMT"}, 0.0),  # in the past
        ({"retry-after": "Wed, 18 Nov 2026 08:00:30 -0000"}, 30.0),
        ({"retry-after-ms": "250", "retry-after": "30"}, 0.25),  # -ms wins
        ({"retry-after-ms": "junk", "retry-after": "30"}, 30.0),
        ({"retry-after": "-5"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": ""}, None),
        ({"retry-after": "Wed, 99 Foo 2026 25:00:00 GMT"}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    now2 = _HTTP_DATE_TS - 30.0
    headers = {"anthropic-ratelimit-requests-remaining": "0", **headers}
    state = parse_rate_limit_headers(headers, now=now2)
    assert state is not None
    assert state.retry_after == (pytest.approx(expected) if expected is not None else None)
    assert state.observed_at == now2


def test_retry_after_alone_is_a_state() -> None:
    state = parse_rate_limit_headers({"retry-after": "2"}, now=NOW)
    assert state == RateLimitState(retry_after=2.0, observed_at=NOW)


@given(st.dictionaries(st.sampled_from([*sorted(_full_headers()), "retry-after"]), st.text()))
def test_garbage_never_raises(headers: dict[str, str]) -> None:
    state = parse_rate_limit_headers(headers, now=NOW)
    assert state is None or isinstance(state, RateLimitState)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", 0),
        (b"a", 1),
        (b"abc", 1),
        (b"abcd", 2),
        (b"x" * 3000, 1000),
        ("日本語".encode(), 3),  # 9 bytes, about one token per character
    ],
)
def test_estimate_input_tokens(body: bytes, expected: int) -> None:
    assert estimate_input_tokens(body) == expected


def test_estimate_is_not_below_a_realistic_english_request() -> None:
    # ~4 characters a token for English prose: the estimate must not be lower.
    text = "The quick brown fox jumps over the lazy dog. " * 200
    body = b'{"model":"claude-x","max_tokens":1024,"messages":[{"role":"user","content":"'
    body += text.encode() + b'"}]}'
    assert estimate_input_tokens(body) >= len(text) / 4
