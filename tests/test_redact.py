"""Redaction: detectors as tables (hits and near misses), request bodies copy-on-write."""

from __future__ import annotations

import re
from typing import Any

import pytest

from rawclaude.policy.redact import Redactor, luhn_valid, shannon_entropy
from rawclaude.wire.errors import ConfigurationError

R = Redactor()


@pytest.mark.parametrize(
    ("text", "expected", "counts"),
    [
        ("card 4111 1111 1111 1111 ok", "card [redacted card] ok", {"card": 1}),
        ("card 4111-1111-1111-1111.", "card [redacted card].", {"card": 1}),
        ("amex 378282246310005", "amex [redacted card]", {"card": 1}),
        ("mc 5555555555554444 and 2223003122003222", "mc [redacted card] and [redacted card]",
         {"card": 2}),
        ("ssn 123-45-6789", "ssn [redacted ssn]", {"ssn": 1}),
        ("ssn 123 45 6789", "ssn [redacted ssn]", {"ssn": 1}),
        ("mail bob.smith+x@example.co.uk now", "mail [redacted email] now", {"email": 1}),
        ("call (415) 555-0100", "call [redacted phone]", {"phone": 1}),
        ("call +1 415.555.0100", "call [redacted phone]", {"phone": 1}),
        ("call 415-555-0100 or +44 20 7946 0958", "call [redacted phone] or [redacted phone]",
         {"phone": 2}),
        ("key sk-ant-api03-AbCdEf0123456789_xyz-ABCDEFGH done", "key [redacted api_key] done",
         {"api_key": 1}),
        ("aws AKIAIOSFODNN7EXAMPLE", "aws [redacted api_key]", {"api_key": 1}),
        ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "gh [redacted api_key]", {"api_key": 1}),
        ("API_KEY=9f8e7d6c5b4a39281706f5e4d3c2b1a0", "API_KEY=[redacted api_key]",
         {"api_key": 1}),
        ('"token": "Zx81Qw0PlmN3vB7yTr5e"', '"token": "[redacted api_key]"', {"api_key": 1}),
        ("Authorization: Bearer abcDEF123456ghiJKL789", "Authorization: Bearer [redacted api_key]",
         {"api_key": 1}),
    ],
)  # fmt: skip
def test_detects(text: str, expected: str, counts: dict[str, int]) -> None:
    out, report = R.redact_text(text)
    assert out == expected
    assert dict(report.counts) == counts and report.total == sum(counts.values())


@pytest.mark.parametrize(
    "text",
    [
        "order 4111 1111 1111 1112",  # fails Luhn
        "ts 1733097600000 and 1733097600000123",  # epoch millis: start with 1
        "ssn 000-12-3456, 666-12-3456, 900-12-3456, 123-00-4567, 123-45-0000",
        "mixed 123-45 6789",  # two different separators
        "date 2026-12-01 and version 1.2.3.4",
        "not an email: user@localhost, @handle",
        "token=placeholder_value_here",  # low entropy, no digit
        "the key is in the drawer; my password is long",
        "sk-ant-short",
        "",
    ],
)
def test_near_misses_stay(text: str) -> None:
    out, report = R.redact_text(text)
    assert out is text and not report and report.total == 0


def test_luhn_and_entropy() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert luhn_valid("0") and shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0 and shannon_entropy("abcd") == 2.0


def test_user_patterns_kinds_and_replacement() -> None:
    redactor = Redactor(kinds=["email"], patterns={"employee": r"EMP-\d{6}"},
                        replacement="<{kind}>")  # fmt: skip
    out, report = redactor.redact_text("EMP-123456 wrote x@y.io about 123-45-6789")
    assert out == "<employee> wrote <email> about 123-45-6789"  # ssn not chosen
    assert dict(report.counts) == {"email": 1, "employee": 1}
    compiled = Redactor(patterns={"code": re.compile(r"(?i)project\s+\w+")})
    assert compiled.redact_text("PROJECT apollo")[0] == "[redacted code]"
    for kwargs, match in (
        ({"kinds": ["nope"]}, "unknown"),
        ({"patterns": {"bad": "("}}, "valid regex"),
        ({"replacement": "#1"}, "digits"),
        ({"kinds": []}, "at least one"),
    ):
        with pytest.raises(ConfigurationError, match=match):
            Redactor(**kwargs)


def body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-x",
        "max_tokens": 10,
        "system": "Support agent. Escalations to boss@corp.example",
        "messages": [
            {"role": "user", "content": "My card is 4111 1111 1111 1111"},
            {"role": "assistant", "content": "Thanks, noted 4111 1111 1111 1111"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "mail me at a@b.io", "cache_control": {"x": 1}},
                    {"type": "image", "source": {"type": "base64", "data": "a@b.io"}},
                    {"type": "tool_result", "tool_use_id": "t1",
                     "content": [{"type": "text", "text": "SSN 123-45-6789"}]},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                                    "data": "call 415-555-0100"}},
                ],
            },
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "t2", "name": "lookup", "input": {"q": "c@d.io"}}]},
        ],
        **extra,
    }  # fmt: skip


def test_request_rewrites_user_text_only() -> None:
    original = body()
    out, report = R.redact_request(original)
    assert dict(report.counts) == {"card": 1, "email": 1, "ssn": 1, "phone": 1}
    msgs = out["messages"]
    assert msgs[0]["content"] == "My card is [redacted card]"
    assert msgs[1] is original["messages"][1]  # assistant turns untouched, not copied
    blocks = msgs[2]["content"]
    assert blocks[0] == {"type": "text", "text": "mail me at [redacted email]",
                         "cache_control": {"x": 1}}  # fmt: skip
    assert blocks[1] is original["messages"][2]["content"][1]  # images untouched
    assert blocks[2]["content"][0]["text"] == "SSN [redacted ssn]"
    assert blocks[3]["source"]["data"] == "call [redacted phone]"
    assert msgs[3] is original["messages"][3]  # tool_use input untouched by default
    assert out["system"] is original["system"]
    # The caller's body is never modified.
    assert original["messages"][0]["content"] == "My card is 4111 1111 1111 1111"


def test_request_options() -> None:
    out, report = R.redact_request(body(), roles=("user", "assistant"), system=True,
                                   tool_results=False, tool_inputs=True)  # fmt: skip
    assert out["system"] == "Support agent. Escalations to [redacted email]"
    assert out["messages"][1]["content"] == "Thanks, noted [redacted card]"
    assert out["messages"][3]["content"][0]["input"] == {"q": "[redacted email]"}
    assert out["messages"][2]["content"][2]["content"][0]["text"] == "SSN 123-45-6789"
    assert report.counts["card"] == 2 and report.counts["email"] == 3


def test_clean_request_is_returned_as_is() -> None:
    clean = {"model": "m", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "hello " * 100}]},
        {"role": "user", "content": "no secrets here, order 42"}]}  # fmt: skip
    out, report = R.redact_request(clean, system=True)
    assert out is clean and not report and repr(report) == "RedactionReport({})"
    assert R.redact_request({"messages": "odd"})[0] == {"messages": "odd"}


def test_report_never_holds_values() -> None:
    _, report = R.redact_text("4111 1111 1111 1111 a@b.io")
    assert "4111" not in repr(report) and "a@b" not in repr(report)
    assert report == R.redact_text("a@b.io 4111-1111-1111-1111")[1]
