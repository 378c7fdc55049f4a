"""Streaming end to end through a real aiohttp server on 127.0.0.1: events,
accumulation, chunk boundaries and every fault the stream can meet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from scripted_server import (
    ScriptedServer,
    error,
    message_json,
    sse,
    stall,
    stream,
    stream_events,
    text_stream_events,
)

from rawclaude import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    BadRequestError,
    Client,
    InternalServerError,
    OverloadedError,
    RateLimitError,
    SSEError,
    Timeout,
)
from rawclaude.policy.retry import RetryPolicy
from rawclaude.wire.events import (
    ContentBlockDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    PingEvent,
    UnknownEvent,
)
from rawclaude.wire.models import TextBlock, ThinkingBlock, ToolUseBlock

MSG = [{"role": "user", "content": "Hello"}]
PIECES = ["Hé", "llo, ", "wörld ", "— ", "日本語 ", "🙂!"]


@pytest.fixture
async def client(server: ScriptedServer) -> AsyncIterator[Client]:
    c = Client("sk-test", base_url=server.base_url)
    c.retry_policy = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.01)
    yield c
    await c.close()


def open_stream(client: Client, **kw: Any) -> Any:
    return client.messages.stream(model="claude-test", max_tokens=50, messages=MSG, **kw)


def chunked(data: bytes, sizes: list[int]) -> list[bytes]:
    out, i, k = [], 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        out.append(data[i : i + n])
        i += n
        k += 1
    return out


# -- the happy paths ----------------------------------------------------------------------


async def test_events_text_stream_and_final_message(server: ScriptedServer, client: Client) -> None:
    server.queue(stream_events(text_stream_events(PIECES), request_id="req_s1"))
    async with open_stream(client) as s:
        assert s.request_id == "req_s1"
        texts = [t async for t in s.text_stream]
        message = await s.get_final_message()
    assert texts == PIECES
    assert server.requests[0].json()["stream"] is True
    assert message.request_id == "req_s1"
    assert message.content == [TextBlock(text="".join(PIECES))]
    assert message.stop_reason == "end_turn"
    # usage from message_start (input 7) updated by message_delta's cumulative output count
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, len(PIECES))


async def test_event_iteration_is_typed_and_in_order(
    server: ScriptedServer, client: Client
) -> None:
    events = text_stream_events(["a", "b"])
    events.insert(3, {"type": "brand_new_event", "x": 1})  # from the future: passed through
    server.queue(stream_events(events))
    async with open_stream(client) as s:
        got = [e async for e in s]
        text = await s.get_final_text()
    assert [type(e).__name__ for e in got] == [
        "MessageStartEvent",
        "ContentBlockStartEvent",
        "PingEvent",
        "UnknownEvent",
        "ContentBlockDeltaEvent",
        "ContentBlockDeltaEvent",
        "ContentBlockStopEvent",
        "MessageDeltaEvent",
        "MessageStopEvent",
    ]
    assert isinstance(got[0], MessageStartEvent) and isinstance(got[2], PingEvent)
    assert isinstance(got[3], UnknownEvent) and got[3].type == "brand_new_event"
    assert text == "ab"


async def test_create_stream_true_yields_raw_events(server: ScriptedServer, client: Client) -> None:
    server.queue(stream_events(text_stream_events(["x", "y"])))
    events = await client.messages.create(
        model="claude-test", max_tokens=5, messages=MSG, stream=True
    )
    got = [e async for e in events]
    assert isinstance(got[-1], MessageStopEvent)
    assert [e.delta.text for e in got if isinstance(e, ContentBlockDeltaEvent)] == ["x", "y"]


@pytest.mark.parametrize("sizes", [[1], [2, 3], [7], [5, 1, 13], [64]])
async def test_any_chunking_gives_the_same_message(
    server: ScriptedServer, client: Client, sizes: list[int]
) -> None:
    raw = b"".join(sse(e) for e in text_stream_events(PIECES))
    raw = raw.replace(b"\n", b"\r\n")  # CRLF line ends too, split between CR and LF
    server.queue(stream(chunked(raw, sizes)))
    async with open_stream(client) as s:
        assert await s.get_final_text() == "".join(PIECES)


async def test_tool_use_input_split_inside_escapes(server: ScriptedServer, client: Client) -> None:
    tool_input = {"city": 'São "Paulo"\n', "days": [1, 2], "unit": "\u00e9\\"}
    encoded = orjson.dumps(tool_input).decode()
    pieces = [encoded[i : i + 3] for i in range(0, len(encoded), 3)]
    start = message_json(content=[], stop_reason=None)
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}},
        },
        *(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": p},
            }
            for p in pieces
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_2", "name": "noargs", "input": {}},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]
    server.queue(stream_events(events))
    async with open_stream(client) as s:
        message = await s.get_final_message()
    first, second = message.content
    assert isinstance(first, ToolUseBlock) and first.input == tool_input
    assert isinstance(second, ToolUseBlock) and second.input == {}
    assert message.stop_reason == "tool_use"


async def test_thinking_signature_and_citations(server: ScriptedServer, client: Client) -> None:
    citation = {
        "type": "char_location",
        "cited_text": "the sky is blue",
        "document_index": 0,
        "document_title": "Doc",
        "start_char_index": 0,
        "end_char_index": 15,
    }
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": message_json(content=[], stop_reason=None)},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Let me "},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "think."},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "sig=="},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "citations_delta", "citation": citation},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "text_delta", "text": "Blue."},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 5},
        },
        {"type": "message_stop"},
    ]
    server.queue(stream_events(events))
    async with open_stream(client) as s:
        message = await s.get_final_message()
    thinking, text = message.content
    assert isinstance(thinking, ThinkingBlock)
    assert (thinking.thinking, thinking.signature) == ("Let me think.", "sig==")
    assert isinstance(text, TextBlock) and text.text == "Blue."
    assert text.citations is not None and text.citations[0].cited_text == "the sky is blue"


# -- faults -------------------------------------------------------------------------------


def _error_event(kind: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": f"{kind} happened"}}


async def test_error_event_after_content_raises_typed_and_is_not_retried(
    server: ScriptedServer, client: Client
) -> None:
    events = [*text_stream_events(["a", "b", "c"])[:5], _error_event("overloaded_error")]
    server.queue(stream_events(events, request_id="req_e"))
    got: list[str] = []
    async with open_stream(client) as s:
        with pytest.raises(OverloadedError) as info:
            async for text in s.text_stream:
                got.append(text)
    assert got == ["a", "b"]
    err = info.value
    assert err.request_id == "req_e" and err.in_stream and err.status_code == 529
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("overloaded_error", OverloadedError),
        ("rate_limit_error", RateLimitError),
        ("api_error", InternalServerError),
    ],
)
async def test_retryable_error_event_before_content_is_retried_invisibly(
    server: ScriptedServer, client: Client, kind: str, cls: type[Exception]
) -> None:
    prelude = text_stream_events(["x"])[:3]
    server.queue(stream_events([*prelude, _error_event(kind)]))
    server.queue(stream_events(text_stream_events(["ok"])))
    async with open_stream(client) as s:
        events = [e async for e in s]
    assert sum(isinstance(e, MessageStartEvent) for e in events) == 1
    assert len(server.requests) == 2


async def test_non_retryable_error_event_before_content_raises(
    server: ScriptedServer, client: Client
) -> None:
    prelude = text_stream_events(["x"])[:2]
    server.queue(stream_events([*prelude, _error_event("invalid_request_error")]))
    with pytest.raises(BadRequestError):
        async with open_stream(client):
            pass
    assert len(server.requests) == 1


async def test_retryable_status_on_open_is_retried(server: ScriptedServer, client: Client) -> None:
    server.queue(error(529, "overloaded_error"), stream_events(text_stream_events(["fine"])))
    async with open_stream(client) as s:
        assert await s.get_final_text() == "fine"
    assert len(server.requests) == 2


async def test_drop_before_content_is_retried(server: ScriptedServer, client: Client) -> None:
    prelude = text_stream_events(["x"])[:2]
    server.queue(stream([sse(e) for e in prelude], drop=True))
    server.queue(stream_events(text_stream_events(["again"])))
    async with open_stream(client) as s:
        assert await s.get_final_text() == "again"
    assert len(server.requests) == 2


@pytest.mark.parametrize("drop", [False, True])
async def test_stream_ending_before_message_stop_raises(
    server: ScriptedServer, client: Client, drop: bool
) -> None:
    events = text_stream_events(["a", "b", "c"])[:-2]  # no message_delta / message_stop
    server.queue(stream([sse(e) for e in events], drop=drop))
    async with open_stream(client) as s:
        with pytest.raises(APIConnectionError) as info:
            await s.get_final_message()
    assert not isinstance(info.value, APITimeoutError)
    assert len(server.requests) == 1  # content was delivered: never replayed


async def test_idle_timeout_per_call(server: ScriptedServer, client: Client) -> None:
    events = text_stream_events(["a", "b"])
    server.queue(stall(b"".join(sse(e) for e in events[:4]), 3, sse(events[4])))
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with open_stream(client, timeout=Timeout(stream_idle=0.3)) as s:
        with pytest.raises(APITimeoutError):
            await s.get_final_message()
    assert loop.time() - started < 2.5


async def test_idle_timeout_per_client(server: ScriptedServer) -> None:
    server.queue(stall())
    async with Client(
        "k", base_url=server.base_url, max_retries=0, timeout=Timeout(stream_idle=0.2)
    ) as c:
        with pytest.raises(APITimeoutError):
            async with c.messages.stream(model="m", max_tokens=1, messages=MSG):
                pass


async def test_bad_json_in_data_is_typed_and_carries_the_bytes(
    server: ScriptedServer, client: Client
) -> None:
    events = text_stream_events(["a"])
    bad = b'event: content_block_delta\ndata: {"type": "content_block_delta", oops\n\n'
    chunks = [sse(e) for e in events[:4]] + [bad]
    server.queue(stream(chunks, request_id="req_bad"))
    async with open_stream(client) as s:
        with pytest.raises(APIResponseValidationError) as info:
            await s.get_final_message()
    assert b"oops" in info.value.data
    assert info.value.request_id == "req_bad"


async def test_leaving_early_closes_the_response(server: ScriptedServer, client: Client) -> None:
    disconnected = asyncio.Event()

    async def endless(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        for e in text_stream_events(["go"])[:4]:
            await resp.write(sse(e))
        try:
            for _ in range(2000):
                await resp.write(sse(text_stream_events(["more"])[3]))
                await asyncio.sleep(0.005)
        except (ConnectionResetError, ConnectionError):
            disconnected.set()
        return resp

    server.queue(endless)
    async with open_stream(client) as s:
        async for _ in s.text_stream:
            break
    await asyncio.wait_for(disconnected.wait(), 5)
    # The client still works afterwards, on a fresh connection.
    server.queue(stream_events(text_stream_events(["next"])))
    async with open_stream(client) as s2:
        assert await s2.get_final_text() == "next"


async def test_cancelling_the_consumer_closes_the_response(
    server: ScriptedServer, client: Client
) -> None:
    events = text_stream_events(["a"])
    server.queue(stall(b"".join(sse(e) for e in events[:4]), 5))
    opened = asyncio.Event()
    holder: dict[str, Any] = {}

    async def consume() -> None:
        async with open_stream(client) as s:
            holder["stream"] = s
            opened.set()
            await s.get_final_message()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(opened.wait(), 5)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    s = holder["stream"]
    assert s.released


async def test_a_failed_stream_never_yields_a_partial_message(
    server: ScriptedServer, client: Client
) -> None:
    events = [*text_stream_events(["a", "b", "c"])[:5], _error_event("overloaded_error")]
    server.queue(stream_events(events))
    async with open_stream(client) as s:
        with pytest.raises(OverloadedError):
            async for _ in s:
                pass
        # Asking again raises again: never the truncated message.
        with pytest.raises(OverloadedError):
            await s.get_final_message()
        with pytest.raises(OverloadedError):
            await s.get_final_text()


async def test_a_closed_stream_never_yields_a_partial_message(
    server: ScriptedServer, client: Client
) -> None:
    server.queue(stream_events(text_stream_events(["a", "b", "c"]), delay=0.01))
    async with open_stream(client) as s:
        async for _ in s.text_stream:
            break
        await s.close()
        with pytest.raises(APIConnectionError, match="closed early"):
            await s.get_final_message()


async def test_mixing_event_iteration_and_final_message(
    server: ScriptedServer, client: Client
) -> None:
    server.queue(stream_events(text_stream_events(PIECES)))
    async with open_stream(client) as s:
        async for event in s:
            if isinstance(event, ContentBlockDeltaEvent):
                break
        message = await s.get_final_message()
    assert message.content == [TextBlock(text="".join(PIECES))]


async def test_a_payload_holding_two_json_values_is_an_error_not_two_events(
    server: ScriptedServer, client: Client
) -> None:
    events = text_stream_events(["a", "b"])
    two = b'data: {"type":"ping"},{"type":"ping"}\n\n'
    body = b"".join(sse(e) for e in events[:4]) + two + b"".join(sse(e) for e in events[4:])
    server.queue(stream([body]))
    async with open_stream(client) as s:
        with pytest.raises(APIResponseValidationError) as info:
            await s.get_final_message()
    assert b'{"type":"ping"},{"type":"ping"}' in info.value.data


async def test_an_event_over_the_size_cap_is_a_typed_error(server: ScriptedServer) -> None:
    events = text_stream_events(["a", "b" * 5000])
    server.queue(stream_events(events, request_id="req_big"))
    client = Client("k", base_url=server.base_url, max_event_size=2048)
    with pytest.raises(SSEError, match="max_event_size") as info:
        async with client, client.messages.stream(model="m", max_tokens=5, messages=MSG) as s:
            await s.get_final_message()
    assert info.value.request_id == "req_big"
    assert len(server.requests) == 1  # a malformed stream is not retried
