"""relay(): a MessageStream as SSE for a browser, against the fake server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from rawclaude import Client, ConfigurationError, MessageStream, RateLimiter
from rawclaude.client.relay import relay
from rawclaude.testing import FakeServer, Reply
from rawclaude.wire.sse import SSEParser

KEY = "sk-ant-relay-test-secret"
PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    async with FakeServer(api_key=KEY) as server:
        yield server


@pytest.fixture
async def client(fake: FakeServer) -> AsyncIterator[Client]:
    async with Client(api_key=KEY, base_url=fake.base_url, max_retries=0) as c:
        yield c


async def _collect(chunks: AsyncIterator[bytes]) -> tuple[list[tuple[str, str]], list[bytes]]:
    """The events a browser would dispatch, and the raw chunks."""
    parser, events, raw = SSEParser(), [], []
    async for chunk in chunks:
        raw.append(chunk)
        events += [(e.event, e.text) for e in parser.feed(chunk)]
    return events, raw


def _text(events: list[tuple[str, str]]) -> str:
    return "".join(data for name, data in events if name == "text")


async def test_text_start_and_done(client: Client, fake: FakeServer) -> None:
    deltas = ["line one\nli", "ne two\n\n", " indented", "\n"]
    fake.queue(Reply.text(deltas=deltas))
    events, _ = await _collect(relay(client.messages.stream(**PARAMS)))
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done"
    assert set(names[1:-1]) == {"text"}
    assert _text(events) == "".join(deltas)
    start, done = orjson.loads(events[0][1]), orjson.loads(events[-1][1])
    assert start["id"].startswith("msg_") and start["model"] == "claude-sonnet-4-6"
    assert start["request_id"].startswith("req_")
    assert done["stop_reason"] == "end_turn" and done["stop_sequence"] is None
    assert done["usage"]["output_tokens"] == len(deltas)
    assert done["usage"]["input_tokens"] > 0
    assert done["request_id"] == start["request_id"]


async def test_an_open_stream_is_relayed_and_closed(client: Client) -> None:
    stream = await client.messages.stream(**PARAMS).start()
    events, _ = await _collect(relay(stream))
    assert _text(events) == "hi" and events[-1][0] == "done"
    assert "closed" in repr(stream) or "done" in repr(stream)


async def test_heartbeats_while_silent_never_restart_the_upstream_read(
    client: Client, fake: FakeServer
) -> None:
    fake.queue(Reply.text("one two three").with_delays(between_events=0.3))
    events, raw = await _collect(relay(client.messages.stream(**PARAMS), heartbeat=0.01))
    assert b": heartbeat\n\n" in raw
    assert _text(events) == "one two three"  # nothing lost or repeated
    assert len(fake.requests) == 1
    # A heartbeat is a comment: the browser dispatches nothing for it.
    assert all(name in {"start", "text", "done"} for name, _ in events)


async def test_heartbeats_while_the_request_is_not_answered_yet(
    client: Client, fake: FakeServer
) -> None:
    fake.queue(Reply.hang())
    chunks = relay(client.messages.stream(**PARAMS), heartbeat=0.01)
    first = [await chunks.__anext__() for _ in range(3)]
    assert first == [b": heartbeat\n\n"] * 3
    await chunks.aclose()


async def test_http_error_is_an_error_event_without_the_key(
    client: Client, fake: FakeServer
) -> None:
    fake.queue(Reply.error(429, message="Number of request tokens has exceeded your limit."))
    events, raw = await _collect(relay(client.messages.stream(**PARAMS)))
    assert [name for name, _ in events] == ["error"]
    body = orjson.loads(events[0][1])
    assert body["type"] == "RateLimitError" and body["status_code"] == 429
    assert body["message"] == "Number of request tokens has exceeded your limit."
    assert body["request_id"].startswith("req_")
    assert KEY.encode() not in b"".join(raw)


async def test_error_event_mid_stream_follows_the_text(client: Client, fake: FakeServer) -> None:
    fake.queue(Reply.text("a b c d e f").with_error_event(after=5))
    events, _ = await _collect(relay(client.messages.stream(**PARAMS)))
    assert events[0][0] == "start" and events[-1][0] == "error"
    assert _text(events)  # what arrived before the error went out first
    assert [name for name, _ in events].count("error") == 1
    body = orjson.loads(events[-1][1])
    assert body["type"] == "OverloadedError" and body["request_id"].startswith("req_")


async def test_wrong_key_is_an_authentication_error_event(fake: FakeServer) -> None:
    async with Client(api_key="sk-ant-wrong", base_url=fake.base_url, max_retries=0) as c:
        events, raw = await _collect(relay(c.messages.stream(**PARAMS)))
    assert orjson.loads(events[0][1])["type"] == "AuthenticationError"
    assert b"sk-ant-wrong" not in b"".join(raw)


async def test_aclose_mid_stream_releases_the_connection_and_the_slot(fake: FakeServer) -> None:
    limiter = RateLimiter(max_concurrency=4)
    fake.queue(Reply.text("w " * 50).with_delays(between_events=0.2))
    async with Client(api_key=KEY, base_url=fake.base_url, limiter=limiter) as c:
        stream = await c.messages.stream(**PARAMS).start()
        chunks = relay(stream, heartbeat=0.01)
        got = b""
        while b"event: text" not in got:
            got += await chunks.__anext__()
        assert limiter.in_flight == 1
        await chunks.aclose()  # what a handler does when the browser goes away
        assert limiter.in_flight == 0
        assert "closed" in repr(stream)


async def test_cancelling_the_consumer_releases_the_slot(fake: FakeServer) -> None:
    limiter = RateLimiter(max_concurrency=4)
    fake.queue(Reply.hang())
    async with Client(api_key=KEY, base_url=fake.base_url, limiter=limiter) as c:
        consumed = asyncio.Event()

        async def consume() -> None:
            async for _ in relay(c.messages.stream(**PARAMS), heartbeat=0.01):
                consumed.set()

        task = asyncio.create_task(consume())
        await consumed.wait()
        assert limiter.in_flight == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert limiter.in_flight == 0


class _Broken:
    async def start(self) -> MessageStream:
        raise RuntimeError("internal detail sk-ant-should-not-leak")


async def test_an_unexpected_exception_is_reported_vaguely_then_raised() -> None:
    chunks = relay(_Broken())
    first = await chunks.__anext__()
    assert first.startswith(b"event: error\n")
    assert orjson.loads(first.split(b"data: ")[1])["type"] == "InternalError"
    assert b"sk-ant" not in first
    with pytest.raises(RuntimeError):
        await chunks.__anext__()


@pytest.mark.parametrize("heartbeat", [0, -1.0, float("nan")])
async def test_heartbeat_must_be_positive(client: Client, heartbeat: float) -> None:
    with pytest.raises(ConfigurationError, match="heartbeat"):
        relay(client.messages.stream(**PARAMS), heartbeat=heartbeat)


async def test_message_stream_sse_is_the_relay() -> None:
    from rawclaude import Client
    from rawclaude.testing import FakeServer

    async with FakeServer() as server, Client("k", base_url=server.base_url) as client:
        async with client.messages.stream(
            model="m", max_tokens=64, messages=[{"role": "user", "content": "two words"}]
        ) as stream:
            body = b"".join([chunk async for chunk in stream.sse(heartbeat=None)])
    assert b"event: text" in body and b"event: done" in body and stream.released
