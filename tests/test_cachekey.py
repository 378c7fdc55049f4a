"""The response-cache key and the cacheability rules."""

from __future__ import annotations

from typing import Any

import pytest

from rawclaude.policy.cachekey import cache_key, cacheable_request, cacheable_response

NEW, LEGACY = "2026-10-21", "2023-06-01"
BODY = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def test_key_is_canonical_and_covers_what_changes_the_answer() -> None:
    key = cache_key(NEW, BODY)
    assert len(key) == 64 and key == cache_key(NEW, dict(reversed(list(BODY.items()))))
    nested = {**BODY, "metadata": {"b": 1, "a": 2}}
    assert cache_key(NEW, nested) == cache_key(NEW, {**BODY, "metadata": {"a": 2, "b": 1}})
    others = {
        cache_key(LEGACY, BODY),
        cache_key(NEW, {**BODY, "model": "n"}),
        cache_key(NEW, BODY, betas=["x"]),
        cache_key(NEW, BODY, namespace="https://gw.example"),
        cache_key(NEW, {**BODY, "max_tokens": 6}),
    }
    assert key not in others and len(others) == 5
    assert cache_key(NEW, BODY, betas=["b", "a", "a"]) == cache_key(NEW, BODY, betas=["a", "b"])


@pytest.mark.parametrize(
    ("version", "extra", "ok"),
    [
        (NEW, {}, True),
        (NEW, {"stream": True}, False),
        (LEGACY, {}, False),  # default temperature 1.0
        (LEGACY, {"temperature": 0.7}, False),
        (LEGACY, {"temperature": 0}, True),
        (LEGACY, {"temperature": 0, "top_k": 5}, False),
        (NEW, {"tools": [{"name": "f", "input_schema": {}}]}, True),
        (NEW, {"tools": [{"type": "bash_20250124", "name": "bash"}]}, True),  # runs client-side
        (NEW, {"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, False),
        (NEW, {"tools": [{"type": "code_execution_20250825", "name": "x"}]}, False),
        (NEW, {"container": "cont_1"}, False),
        (NEW, {"mcp_servers": [{"url": "https://x"}]}, False),
    ],
)
def test_cacheable_request(version: str, extra: dict[str, Any], ok: bool) -> None:
    assert (cacheable_request(version, {**BODY, **extra}) is None) is ok


def test_streams_when_allowed_and_responses() -> None:
    assert cacheable_request(NEW, {**BODY, "stream": True}, allow_streams=True) is None
    assert all(map(cacheable_response, ("end_turn", "stop_sequence", "max_tokens", "tool_use")))
    assert not any(map(cacheable_response, ("pause_turn", "refusal", None)))
