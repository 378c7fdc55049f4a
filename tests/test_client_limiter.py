"""The client under a RateLimiter, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import web
from scripted_server import (
    ScriptedServer,
    error,
    message_json,
    ok,
    stream_events,
    text_stream_events,
)

from rawclaude import Client, RateLimiter, RateLimitError
from rawclaude.policy.retry import RetryPolicy

MSG = [{"role": "user", "content": "Hello"}]


class InFlight:
    """A handler that counts how many requests the server holds at once."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.now = 0
        self.peak = 0

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(self.delay)
            return await ok()(request)
        finally:
            self.now -= 1


async def create(client: Client, **kw: Any) -> Any:
    return await client.messages.create(model="m", max_tokens=10, messages=MSG, **kw)


async def test_concurrency_cap_holds(server: ScriptedServer) -> None:
    counter = InFlight(0.05)
    server.queue(*([counter] * 12))
    limiter = RateLimiter(max_concurrency=3)
    async with Client("k", base_url=server.base_url, limiter=limiter) as client:
        await asyncio.gather(*(create(client) for _ in range(12)))
    assert counter.peak == 3
    assert limiter.in_flight == 0


async def test_stream_holds_its_slot_until_finished_or_abandoned(server: ScriptedServer) -> None:
    server.queue(stream_events(text_stream_events(["a", "b"])))
    server.queue(stream_events(text_stream_events(["c"])))
    limiter = RateLimiter(max_concurrency=1)
    async with Client("k", base_url=server.base_url, limiter=limiter) as client:
        async with client.messages.stream(model="m", max_tokens=5, messages=MSG) as s:
            assert limiter.in_flight == 1
            async for _ in s.text_stream:
                break  # abandon it
        assert limiter.in_flight == 0
        async with client.messages.stream(model="m", max_tokens=5, messages=MSG) as s:
            assert await s.get_final_text() == "c"
            assert limiter.in_flight == 0  # released as soon as the stream finished


async def test_request_rate_holds(server: ScriptedServer) -> None:
    # 600 requests/minute = 10/s, with a burst of one request.
    limiter = RateLimiter(requests_per_minute=600, burst_seconds=0.1)
    async with Client("k", base_url=server.base_url, limiter=limiter) as client:
        started = time.monotonic()
        await asyncio.gather(*(create(client) for _ in range(6)))
        elapsed = time.monotonic() - started
    # The first is free, the other five wait 0.1 s each.
    assert elapsed >= 0.45
    assert len(server.requests) == 6


async def test_unused_output_tokens_are_refunded(server: ScriptedServer) -> None:
    # 1,000 output tokens a minute; each call reserves max_tokens=600 and uses 1.
    limiter = RateLimiter(output_tokens_per_minute=1000)
    server.queue(ok(message_json(usage={"input_tokens": 3, "output_tokens": 1})))
    server.queue(ok(message_json(usage={"input_tokens": 3, "output_tokens": 1})))
    async with Client("k", base_url=server.base_url, limiter=limiter) as client:
        started = time.monotonic()
        await client.messages.create(model="m", max_tokens=600, messages=MSG)
        # Without the refund of 599 tokens this would wait ~12 s for 200 more.
        await asyncio.wait_for(
            client.messages.create(model="m", max_tokens=600, messages=MSG), timeout=3
        )
        assert time.monotonic() - started < 3
    output = limiter.buckets["output_tokens"]
    assert output.tokens == pytest.approx(998, abs=5)


async def test_input_refunds_count_cache_writes_but_not_cache_reads(
    server: ScriptedServer,
) -> None:
    """The input-tokens limit counts cache writes and not cache reads (docs: "Rate
    limits", cache-aware ITPM): what a call keeps of its input reservation."""
    limiter = RateLimiter(input_tokens_per_minute=6000)  # 100 a second
    usage = {"input_tokens": 10, "cache_creation_input_tokens": 200,
             "cache_read_input_tokens": 5000, "output_tokens": 1}  # fmt: skip
    server.queue(ok(message_json(usage=usage)))
    async with Client("k", base_url=server.base_url, limiter=limiter) as client:
        long = [{"role": "user", "content": "x" * 3000}]  # reserves ~1,000 input tokens
        await client.messages.create(model="m", max_tokens=10, messages=long)
    assert limiter.buckets["input_tokens"].tokens == pytest.approx(6000 - 210, abs=20)


async def test_stream_usage_is_refunded(server: ScriptedServer) -> None:
    limiter = RateLimiter(output_tokens_per_minute=1000)
    server.queue(stream_events(text_stream_events(["x", "y"], output_tokens=2)))
    client = Client("k", base_url=server.base_url, limiter=limiter)
    async with client, client.messages.stream(model="m", max_tokens=600, messages=MSG) as s:
        await s.get_final_message()
    assert limiter.buckets["output_tokens"].tokens == pytest.approx(998, abs=5)


async def test_a_429_pauses_every_caller(server: ScriptedServer) -> None:
    server.queue(error(429, "rate_limit_error", headers={"retry-after": "0.5"}))
    limiter = RateLimiter(requests_per_minute=10_000)
    async with Client("k", base_url=server.base_url, limiter=limiter, max_retries=0) as client:
        with pytest.raises(RateLimitError):
            await create(client)
        started = time.monotonic()
        await create(client)  # another caller: it waits out the same pause
        waited = time.monotonic() - started
    assert waited >= 0.4


async def test_retries_consume_from_the_limiter(server: ScriptedServer) -> None:
    server.queue(error(529, "overloaded_error"), error(529, "overloaded_error"), ok())
    limiter = RateLimiter(requests_per_minute=100)
    client = Client("k", base_url=server.base_url, limiter=limiter)
    client.retry_policy = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.01)
    async with client:
        await create(client)
    assert len(server.requests) == 3
    assert limiter.buckets["requests"].tokens == pytest.approx(97, abs=0.5)


async def test_rate_limit_state_is_visible(server: ScriptedServer) -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2026-11-22T12:00:00Z",
        "anthropic-ratelimit-output-tokens-limit": "8000",
        "anthropic-ratelimit-output-tokens-remaining": "7000",
        "anthropic-ratelimit-output-tokens-reset": "2026-11-22T12:00:01.5Z",
    }

    async def with_headers(request: web.Request) -> web.StreamResponse:
        return web.json_response(message_json(), headers=headers)

    server.queue(with_headers)
    async with Client("k", base_url=server.base_url) as client:
        assert client.rate_limit_state is None
        await create(client)
        state = client.rate_limit_state
    assert state is not None
    assert (state.requests.limit, state.requests.remaining) == (50, 49)
    assert state.output_tokens.remaining == 7000


async def test_a_limited_call_reserves_the_policy_estimate_of_its_input(
    server: ScriptedServer,
) -> None:
    from rawclaude.policy.ratelimit import estimate_input_tokens

    seen: list[Any] = []

    async def capture(call: Any, proceed: Any) -> Any:
        seen.append(call)
        return await proceed(call)

    server.queue(ok(message_json()))
    limiter = RateLimiter(input_tokens_per_minute=1_000_000)
    async with Client("k", base_url=server.base_url, limiter=limiter, middleware=[capture]) as c:
        await c.messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "x" * 301}]
        )
    assert seen[0].input_tokens == estimate_input_tokens(seen[0].body) > 100
