"""Regression tests for edge cases found in review: abandoned streams, the
drain after message_stop, user sessions, header precedence, timeouts, limiter
pauses and refunds, credentials."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import aiohttp
import pytest
from scripted_server import (
    ScriptedServer,
    error,
    message_json,
    ok,
    sse,
    stall,
    stream,
    stream_events,
    text_stream_events,
)

from rawclaude import (
    Client,
    ConfigurationError,
    OverloadedError,
    RateLimiter,
    RateLimitError,
    Timeout,
)
from rawclaude.policy.retry import RetryPolicy

MSG = [{"role": "user", "content": "Hello"}]
SECRET = "sk-ant-review-SECRET-42"


async def test_abandoned_raw_stream_is_released_when_collected(server: ScriptedServer) -> None:
    server.queue(stream_events(text_stream_events(["a", "b", "c"])))
    limiter = RateLimiter(max_concurrency=1)
    async with Client("k", base_url=server.base_url, limiter=limiter) as client:
        events = await client.messages.create(model="m", max_tokens=5, messages=MSG, stream=True)
        async for _ in events:
            break  # and never closed
        del events
        gc.collect()
        for _ in range(50):
            if limiter.in_flight == 0:
                break
            await asyncio.sleep(0.01)
        assert limiter.in_flight == 0
        msg = await asyncio.wait_for(
            client.messages.create(model="m", max_tokens=5, messages=MSG), 5
        )
    assert msg.content


async def test_events_are_not_held_back_by_a_slow_end_of_body(server: ScriptedServer) -> None:
    body = b"".join(sse(e) for e in text_stream_events(["x", "y"]))
    server.queue(stall(body, 3))  # a proxy holding the chunked terminator
    async with Client("k", base_url=server.base_url) as client:
        started = time.monotonic()
        async with client.messages.stream(model="m", max_tokens=5, messages=MSG) as s:
            texts = [t async for t in s.text_stream]
            message = await s.get_final_message()
        elapsed = time.monotonic() - started
    assert texts == ["x", "y"] and message.stop_reason == "end_turn"
    assert elapsed < 2


async def test_user_session_with_raise_for_status_still_gives_typed_errors(
    server: ScriptedServer,
) -> None:
    server.queue(error(529, "overloaded_error", headers={"x-should-retry": "false"}))
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        client = Client(SECRET, base_url=server.base_url, session=session)
        with pytest.raises(OverloadedError) as info:
            await client.messages.create(model="m", max_tokens=5, messages=MSG)
    assert SECRET not in repr(info.value.__cause__) + repr(info.value)


async def test_prepared_request_repr_hides_the_credential() -> None:
    # The pipeline's Call never holds the credential (it is added per attempt);
    # neither the call, the pipeline nor the credentials show it.
    client = Client(SECRET)
    call = client.messages._call(
        "messages.create",
        {"model": "m", "max_tokens": 1, "messages": MSG},
        betas=None,
        extra_headers=None,
        extra_body=None,
        timeout=None,
        hooks=None,
        tags=None,
    )
    assert SECRET not in repr(call) + repr(client.pipeline) + repr(client.pipeline.credentials)
    assert "x-api-key" not in call.headers
    assert (await client.pipeline.credentials.headers())["x-api-key"] == SECRET


async def test_betas_keep_the_clients_default_headers(server: ScriptedServer) -> None:
    defaults = {"User-Agent": "myapp/1", "accept": ""}
    async with Client("k", base_url=server.base_url, default_headers=defaults) as client:
        await client.messages.create(model="m", max_tokens=5, messages=MSG, betas=["b1"])
    headers = server.requests[0].headers
    assert headers["user-agent"] == "myapp/1"
    assert headers["anthropic-beta"] == "b1"
    assert headers.get("accept") != "application/json"


@pytest.mark.parametrize("bad", [0, -1, "5"])
def test_timeouts_must_be_positive(bad: Any) -> None:
    with pytest.raises(ConfigurationError):
        Timeout(total=bad)
    with pytest.raises(ConfigurationError):
        Client("k", timeout=bad)


async def test_per_call_number_is_the_idle_timeout_for_streams(server: ScriptedServer) -> None:
    server.queue(stall())
    async with Client("k", base_url=server.base_url, max_retries=0) as client:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"stream_idle=0\.3"):
            async with client.messages.stream(model="m", max_tokens=5, messages=MSG, timeout=0.3):
                pass
    assert time.monotonic() - started < 2


async def test_a_long_429_pause_raises_for_later_callers_instead_of_blocking(
    server: ScriptedServer,
) -> None:
    server.queue(error(429, "rate_limit_error", headers={"retry-after": "120"}))
    limiter = RateLimiter(requests_per_minute=1000)
    async with Client("k", base_url=server.base_url, limiter=limiter, max_retry_wait=30) as c:
        with pytest.raises(RateLimitError):
            await c.messages.create(model="m", max_tokens=5, messages=MSG)
        started = time.monotonic()
        with pytest.raises(RateLimitError, match="paused") as info:
            await c.messages.create(model="m", max_tokens=5, messages=MSG)
        assert time.monotonic() - started < 1
    assert info.value.retry_after is not None and info.value.retry_after > 100
    assert len(server.requests) == 1


async def test_error_in_the_first_content_chunk_comes_after_its_events(
    server: ScriptedServer,
) -> None:
    events = text_stream_events(["a", "b"])[:4]
    events.append({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    server.queue(stream([b"".join(sse(e) for e in events)]))
    seen: list[str] = []
    client = Client("k", base_url=server.base_url)
    async with client, client.messages.stream(model="m", max_tokens=5, messages=MSG) as s:
        with pytest.raises(OverloadedError):
            async for event in s:
                seen.append(event.type)
    assert seen == ["message_start", "content_block_start", "ping", "content_block_delta"]


async def test_error_body_keeps_fields_we_do_not_model(server: ScriptedServer) -> None:
    raw = (
        b'{"type":"error","error":{"type":"invalid_request_error","message":"bad",'
        b'"details":{"error_code":"E42"}},"request_id":"req_x"}'
    )
    server.queue(error(400, raw=raw))
    async with Client("k", base_url=server.base_url) as client:
        with pytest.raises(Exception) as info:
            await client.messages.create(model="m", max_tokens=5, messages=MSG)
    assert info.value.body["error"]["details"] == {"error_code": "E42"}  # type: ignore[attr-defined]


async def test_error_statuses_refund_their_reserved_tokens(server: ScriptedServer) -> None:
    server.queue(error(529, "overloaded_error"), error(529, "overloaded_error"))
    server.queue(ok(message_json(usage={"input_tokens": 3, "output_tokens": 1})))
    limiter = RateLimiter(output_tokens_per_minute=1000)
    client = Client("k", base_url=server.base_url, limiter=limiter)
    client.retry_policy = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.01)
    async with client:
        await client.messages.create(model="m", max_tokens=300, messages=MSG)
    assert limiter.buckets["output_tokens"].tokens == pytest.approx(999, abs=2)


@pytest.mark.parametrize("bad", [SECRET + "\n", " " + SECRET, SECRET[:5] + "\x00" + SECRET[5:]])
def test_credentials_with_whitespace_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Client(bad)
    assert SECRET[6:] not in str(info.value)


async def test_get_final_text_without_text_raises_and_snapshot(server: ScriptedServer) -> None:
    start = message_json(content=[], stop_reason=None)
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t1", "name": "f", "input": {}},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {}},
        {"type": "message_stop"},
    ]
    server.queue(stream_events(events))
    client = Client("k", base_url=server.base_url)
    async with client, client.messages.stream(model="m", max_tokens=5, messages=MSG) as s:
        assert s.current_message_snapshot.id == "msg_01"
        with pytest.raises(RuntimeError, match="no text"):
            await s.get_final_text()


def test_client_repr_hides_userinfo_in_the_base_url() -> None:
    client = Client("k", base_url="http://user:hunter2@proxy.local:8080/anthropic")
    assert "hunter2" not in repr(client)
    assert "proxy.local:8080/anthropic" in repr(client)
    assert "example.test/a@b" in repr(Client("k", base_url="https://example.test/a@b"))
    assert "p@ss" not in repr(Client("k", base_url="http://u:p@ss@h.test/x@y"))
