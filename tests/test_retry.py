"""The retry policy is pure: every rule is a row in a table, nothing sleeps."""

from __future__ import annotations

import email.utils

import pytest

from rawclaude.policy.retry import RetryPolicy, backoff, decide, is_retryable, server_wait

NOW = 1_700_000_000.0
POLICY = RetryPolicy(max_retries=2, initial_delay=0.5, max_delay=8.0, max_retry_wait=60.0)


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (None, {}, True),  # connection error / timeout
        (408, {}, True),
        (409, {}, True),
        (429, {}, True),
        (500, {}, True),
        (502, {}, True),
        (529, {}, True),
        (599, {}, True),
        (400, {}, False),
        (401, {}, False),
        (403, {}, False),
        (404, {}, False),
        (413, {}, False),
        (422, {}, False),
        # x-should-retry decides first, both ways
        (400, {"x-should-retry": "true"}, True),
        (529, {"x-should-retry": "false"}, False),
        (None, {"x-should-retry": "false"}, False),
        # anything but the two exact values is ignored
        (400, {"x-should-retry": "yes"}, False),
        (500, {"x-should-retry": "TRUE"}, True),
    ],
)
def test_is_retryable(status: int | None, headers: dict[str, str], expected: bool) -> None:
    assert is_retryable(status, headers) is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "0"}, 0.0),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "2.5"}, 2.5),
        # retry-after-ms wins over retry-after
        ({"retry-after-ms": "250", "retry-after": "30"}, 0.25),
        # a bad retry-after-ms falls back to retry-after
        ({"retry-after-ms": "soon", "retry-after": "4"}, 4.0),
        ({"retry-after": "-1"}, None),
        ({"retry-after": "tomorrow"}, None),
        ({"retry-after": email.utils.formatdate(NOW + 7, usegmt=True)}, 7.0),
        ({"retry-after": email.utils.formatdate(NOW - 30, usegmt=True)}, 0.0),
    ],
)
def test_server_wait(headers: dict[str, str], expected: float | None) -> None:
    got = server_wait(headers, NOW)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        (0, 0.0, 0.5),
        (1, 0.0, 1.0),
        (2, 0.0, 2.0),
        (3, 0.0, 4.0),
        (4, 0.0, 8.0),
        (10, 0.0, 8.0),  # capped
        (0, 1.0, 0.375),  # jitter takes off at most a quarter
        (4, 0.5, 7.0),
    ],
)
def test_backoff(attempt: int, rand: float, expected: float) -> None:
    assert backoff(POLICY, attempt, rand) == pytest.approx(expected)


def test_decide_backoff_when_server_gives_no_wait() -> None:
    d = decide(POLICY, 0, 529, {}, now=NOW, rand=0.0)
    assert d.retry and d.delay == pytest.approx(0.5) and d.server_wait is None


def test_decide_obeys_server_wait() -> None:
    d = decide(POLICY, 1, 429, {"retry-after": "12"}, now=NOW, rand=0.9)
    assert d.retry and d.delay == pytest.approx(12.0) and d.server_wait == pytest.approx(12.0)


def test_decide_refuses_waits_longer_than_max_retry_wait() -> None:
    d = decide(POLICY, 0, 429, {"retry-after": "600"}, now=NOW, rand=0.0)
    assert not d.retry
    assert d.server_wait == pytest.approx(600.0)
    assert "max_retry_wait=60" in d.reason


def test_decide_stops_when_retries_are_exhausted() -> None:
    assert decide(POLICY, 1, 500, {}, now=NOW, rand=0.0).retry
    d = decide(POLICY, 2, 500, {}, now=NOW, rand=0.0)
    assert not d.retry and "3 attempts" in d.reason


def test_decide_never_retries_client_errors() -> None:
    d = decide(POLICY, 0, 400, {"retry-after": "1"}, now=NOW, rand=0.0)
    assert not d.retry and d.reason == "not retryable"


def test_zero_retries_means_one_attempt() -> None:
    assert not decide(RetryPolicy(max_retries=0), 0, 529, {}, now=NOW, rand=0.0).retry


def test_policy_validates() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
