"""rawclaude.testing: the fake Claude API server, seen by plain aiohttp and the official SDK.

The client side here never uses rawclaude's own client, so these tests check the
fake against the wire format on its own terms.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from typing import Any

import aiohttp
import anthropic
import pytest

from rawclaude.testing import (
    FakeServer,
    RateLimit,
    Reply,
    text_block,
    thinking_block,
    tool_use_block,
)

HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
MODEL = "claude-sonnet-4-6"
BODY: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hello there, fake Claude!"}],
}
STREAM_BODY = {**BODY, "stream": True}


def parse_sse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """A deliberately tiny SSE split: the fake always frames events the same way."""
    events = []
    for block in raw.split(b"\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(b": ", 1) for line in block.split(b"\n"))
        events.append((fields[b"event"].decode(), json.loads(fields[b"data"])))
    return events


def names(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name for name, _ in events]


def streamed_text(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(
        data["delta"]["text"]
        for name, data in events
        if name == "content_block_delta" and data["delta"]["type"] == "text_delta"
    )


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    async with FakeServer() as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def post(
    session: aiohttp.ClientSession,
    server: FakeServer,
    body: Any = BODY,
    headers: dict[str, str] | None = None,
    path: str = "/v1/messages",
) -> tuple[int, dict[str, str], bytes]:
    kwargs: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
    async with session.post(
        server.base_url + path, headers=HEADERS if headers is None else headers, **kwargs
    ) as response:
        headers = {name.lower(): value for name, value in response.headers.items()}
        return response.status, headers, await response.read()


# -- the API's checks ---------------------------------------------------------------------


async def test_missing_credentials_is_401(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    status, headers, body = await post(session, server, headers={"anthropic-version": "x"})
    error = json.loads(body)
    assert status == 401
    assert error["type"] == "error"
    assert error["error"]["type"] == "authentication_error"
    assert error["request_id"] == headers["request-id"]
    assert headers["request-id"].startswith("req_")


async def test_bearer_token_is_accepted(server: FakeServer, session: aiohttp.ClientSession) -> None:
    headers = {"authorization": "Bearer tok-123", "anthropic-version": "2023-06-01"}
    status, _, _ = await post(session, server, headers=headers)
    assert status == 200


async def test_expected_api_key_is_enforced(session: aiohttp.ClientSession) -> None:
    async with FakeServer(api_key="right-key") as fake:
        wrong, _, _ = await post(session, fake)
        right, _, _ = await post(session, fake, headers={**HEADERS, "x-api-key": "right-key"})
        assert "right-key" not in repr(fake)
    assert (wrong, right) == (401, 200)


async def test_require_auth_false_accepts_anonymous(session: aiohttp.ClientSession) -> None:
    async with FakeServer(require_auth=False) as fake:
        status, _, _ = await post(session, fake, headers={"anthropic-version": "2023-06-01"})
    assert status == 200


async def test_missing_version_is_400(server: FakeServer, session: aiohttp.ClientSession) -> None:
    status, _, body = await post(session, server, headers={"x-api-key": "k"})
    error = json.loads(body)["error"]
    assert status == 400
    assert error["type"] == "invalid_request_error"
    assert "anthropic-version" in error["message"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"model": None}, "model"),
        ({"max_tokens": None}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"messages": None}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "role"),
    ],
)
async def test_missing_or_bad_fields_are_400(
    server: FakeServer, session: aiohttp.ClientSession, change: dict[str, Any], needle: str
) -> None:
    body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
    status, _, raw = await post(session, server, body)
    error = json.loads(raw)
    assert status == 400
    assert error["error"]["type"] == "invalid_request_error"
    assert needle in error["error"]["message"]
    assert error["request_id"].startswith("req_")


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]"])
async def test_body_must_be_a_json_object(
    server: FakeServer, session: aiohttp.ClientSession, raw: bytes
) -> None:
    headers = {**HEADERS, "content-type": "application/json"}
    status, _, body = await post(session, server, raw, headers=headers)
    assert status == 400
    assert json.loads(body)["error"]["type"] == "invalid_request_error"


async def test_unknown_route_is_404_json(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    async with session.get(server.base_url + "/v1/nothing", headers=HEADERS) as response:
        error = await response.json()
    assert response.status == 404
    assert error["error"]["type"] == "not_found_error"


# -- recording -----------------------------------------------------------------------------


async def test_requests_are_recorded_with_credentials_masked(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    await post(session, server, headers={**HEADERS, "x-api-key": "sk-secret-1"})
    bearer = {"authorization": "Bearer sk-secret-2", "anthropic-version": "2023-06-01"}
    await post(session, server, headers=bearer)
    first, second = server.requests
    assert (first.method, first.path, first.json) == ("POST", "/v1/messages", BODY)
    assert first.headers["x-api-key"] == "***"
    assert second.headers["authorization"] == "Bearer ***"
    assert "sk-secret" not in repr(server.requests)


async def test_invalid_json_is_recorded_as_none(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    await post(session, server, b"{oops", headers={**HEADERS, "content-type": "application/json"})
    assert server.requests[0].json is None


# -- the default reply ------------------------------------------------------------------------


async def test_default_reply_json_echoes_the_last_user_message(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    messages = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "an answer"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "part"}],
        },
    ]
    status, headers, raw = await post(session, server, {**BODY, "messages": messages})
    message = json.loads(raw)
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert message["content"] == [{"type": "text", "text": "second part"}]
    assert message["model"] == MODEL
    assert message["id"].startswith("msg_")
    assert (message["type"], message["role"]) == ("message", "assistant")
    assert (message["stop_reason"], message["stop_sequence"]) == ("end_turn", None)
    assert message["usage"]["output_tokens"] == 2  # "second ", "part"
    assert message["usage"]["input_tokens"] > 0


async def test_default_reply_stream_follows_the_documented_sequence(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    status, headers, raw = await post(session, server, STREAM_BODY)
    events = parse_sse(raw)
    deltas = [data for name, data in events if name == "content_block_delta"]
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    assert names(events) == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * len(deltas),
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in events)
    assert streamed_text(events) == "Hello there, fake Claude!"
    assert [d["delta"]["text"] for d in deltas] == ["Hello ", "there, ", "fake ", "Claude!"]
    start = events[0][1]["message"]
    assert (start["content"], start["model"], start["stop_reason"]) == ([], MODEL, None)
    final = events[-2][1]
    assert final["delta"]["stop_reason"] == "end_turn"
    assert final["usage"]["output_tokens"] == len(deltas)


async def test_count_tokens_agrees_with_messages(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    count_body = {"model": MODEL, "messages": BODY["messages"]}
    status, _, raw = await post(session, server, count_body, path="/v1/messages/count_tokens")
    _, _, message = await post(session, server)
    assert status == 200
    assert json.loads(raw) == {"input_tokens": json.loads(message)["usage"]["input_tokens"]}
    missing, _, _ = await post(session, server, {"model": MODEL}, path="/v1/messages/count_tokens")
    assert missing == 400


async def test_x_fake_headers_set_the_default_reply(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    overrides = {**HEADERS, "x-fake-deltas": "50000", "x-fake-delta-text": "ab%20"}
    _, _, raw = await post(session, server, STREAM_BODY, headers=overrides)
    events = parse_sse(raw)
    assert streamed_text(events) == "ab " * 50000
    assert events[-2][1]["usage"]["output_tokens"] == 50000
    # The same again comes from the cache and must be byte-identical after message_start.
    _, _, again = await post(session, server, STREAM_BODY, headers=overrides)
    assert again.split(b"\n\n", 1)[1] == raw.split(b"\n\n", 1)[1]
    bad, _, _ = await post(session, server, STREAM_BODY, headers={**HEADERS, "x-fake-deltas": "x"})
    assert bad == 400


# -- models ---------------------------------------------------------------------------------


async def test_models_list_get_and_404(server: FakeServer, session: aiohttp.ClientSession) -> None:
    base = server.base_url + "/v1/models"
    async with session.get(base, headers=HEADERS) as response:
        page = await response.json()
    ids = [model["id"] for model in page["data"]]
    assert (page["has_more"], page["first_id"], page["last_id"]) == (False, ids[0], ids[-1])
    assert all(model["type"] == "model" for model in page["data"])
    async with session.get(base, params={"limit": "1", "after_id": ids[0]}, headers=HEADERS) as r:
        second = await r.json()
    assert [m["id"] for m in second["data"]] == [ids[1]]
    assert second["has_more"] is (len(ids) > 2)
    async with session.get(f"{base}/{ids[0]}", headers=HEADERS) as response:
        assert (await response.json())["id"] == ids[0]
    async with session.get(f"{base}/claude-nope", headers=HEADERS) as response:
        error = await response.json()
    assert response.status == 404
    assert error["error"]["type"] == "not_found_error"


# -- rate limits -------------------------------------------------------------------------------


async def test_ratelimit_headers_count_down(session: aiohttp.ClientSession) -> None:
    limits = RateLimit(requests=5, tokens=10_000, input_tokens=8_000, output_tokens=2_000)
    async with FakeServer(ratelimit=limits) as fake:
        _, first, _ = await post(session, fake)
        _, second, raw = await post(session, fake)
    usage = json.loads(raw)["usage"]
    prefix = "anthropic-ratelimit-"
    assert first[prefix + "requests-limit"] == "5"
    assert (first[prefix + "requests-remaining"], second[prefix + "requests-remaining"]) == (
        "4",
        "3",
    )
    spent = usage["input_tokens"] + usage["output_tokens"]
    tokens_left = [int(h[prefix + "tokens-remaining"]) for h in (first, second)]
    assert tokens_left[0] - tokens_left[1] == spent
    assert int(second[prefix + "output-tokens-remaining"]) == 2_000 - 2 * usage["output_tokens"]
    reset = datetime.strptime(second[prefix + "tokens-reset"], "%Y-%m-%dT%H:%M:%SZ")
    assert reset.replace(tzinfo=timezone.utc) > datetime.now(timezone.utc)


async def test_enforced_ratelimit_answers_429(session: aiohttp.ClientSession) -> None:
    async with FakeServer(ratelimit=RateLimit(requests=1, enforce=True)) as fake:
        ok, _, _ = await post(session, fake)
        refused, headers, raw = await post(session, fake)
    assert (ok, refused) == (200, 429)
    assert json.loads(raw)["error"]["type"] == "rate_limit_error"
    assert int(headers["retry-after"]) >= 1
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"


async def test_ratelimit_headers_per_reply(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    server.queue(Reply.text("hi").with_ratelimit(requests=(50, 0), tokens=(1000, 10)))
    _, headers, _ = await post(session, server)
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert headers["anthropic-ratelimit-tokens-limit"] == "1000"
    assert "anthropic-ratelimit-input-tokens-limit" not in headers


# -- scripted replies and faults ----------------------------------------------------------------


async def test_queue_is_consumed_in_order_then_default(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    server.queue(Reply.text("one"), Reply.text(deltas=["t", "w", "o"]))
    assert server.pending == 2
    texts = []
    for _ in range(3):
        _, _, raw = await post(session, server)
        texts.append(json.loads(raw)["content"][0]["text"])
    assert texts == ["one", "two", "Hello there, fake Claude!"]
    assert server.pending == 0


async def test_scripted_http_error_with_retry_headers(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    retry = {"retry-after": "1", "retry-after-ms": "1000", "x-should-retry": "true"}
    server.queue(Reply.error(529, headers=retry), Reply.error(400, message="bad thing"))
    status, headers, raw = await post(session, server, STREAM_BODY)
    error = json.loads(raw)
    assert status == 529
    assert error["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert error["request_id"] == headers["request-id"]
    assert {k: headers[k] for k in retry} == retry
    status, _, raw = await post(session, server)
    assert status == 400
    assert json.loads(raw)["error"] == {"type": "invalid_request_error", "message": "bad thing"}


async def test_error_event_mid_stream(server: FakeServer, session: aiohttp.ClientSession) -> None:
    server.queue(Reply.text("a b c d e f").with_error_event(after=4))
    status, _, raw = await post(session, server, STREAM_BODY)
    events = parse_sse(raw)
    assert status == 200
    assert names(events) == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "error",
    ]
    assert events[-1][1] == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


async def test_error_event_becomes_http_error_without_stream(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    server.queue(Reply.text("a b c").with_error_event(after=3, error_type="api_error"))
    status, _, raw = await post(session, server)
    assert status == 500
    assert json.loads(raw)["error"]["type"] == "api_error"


async def test_drop_after_events_is_a_payload_error(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    server.queue(Reply.text("a b c d e f g").with_drop(after=5))
    received = b""
    url = server.base_url + "/v1/messages"
    async with session.post(url, json=STREAM_BODY, headers=HEADERS) as r:
        assert r.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in r.content.iter_any():
                received += chunk
    assert names(parse_sse(received)) == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
    ]


async def test_drop_without_stream_cuts_the_json_body(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    server.queue(Reply.text("some words here").with_drop(after=0))
    async with session.post(server.base_url + "/v1/messages", json=BODY, headers=HEADERS) as r:
        with pytest.raises(aiohttp.ClientPayloadError):
            await r.read()


async def test_response_delay_is_time_to_first_byte(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    server.queue(Reply.text("late").with_delays(response=30))
    with pytest.raises(asyncio.TimeoutError):
        await post_with_timeout(session, server, aiohttp.ClientTimeout(total=0.3))


async def test_first_event_delay_sends_headers_first(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    server.queue(Reply.text("slow start").with_delays(first_event=30))
    timeout = aiohttp.ClientTimeout(sock_read=0.3)
    async with session.post(
        server.base_url + "/v1/messages", json=STREAM_BODY, headers=HEADERS, timeout=timeout
    ) as response:
        assert response.status == 200  # headers came at once
        with pytest.raises(asyncio.TimeoutError):
            await response.content.readuntil(b"\n\n")


async def test_event_delay_spaces_events_out(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    server.queue(Reply.text("a b c").with_delays(between_events=30))
    timeout = aiohttp.ClientTimeout(sock_read=0.3)
    async with session.post(
        server.base_url + "/v1/messages", json=STREAM_BODY, headers=HEADERS, timeout=timeout
    ) as response:
        first = await response.content.readuntil(b"\n\n")
        with pytest.raises(asyncio.TimeoutError):
            await response.content.readuntil(b"\n\n")
    assert names(parse_sse(first)) == ["message_start"]


async def post_with_timeout(
    session: aiohttp.ClientSession, server: FakeServer, timeout: aiohttp.ClientTimeout
) -> bytes:
    async with session.post(
        server.base_url + "/v1/messages", json=BODY, headers=HEADERS, timeout=timeout
    ) as response:
        return await response.read()


async def until(condition: Callable[[], bool]) -> None:
    """Poll for something another task makes true (bounded: 5 s)."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


async def test_hang_does_not_block_shutdown(session: aiohttp.ClientSession) -> None:
    fake = FakeServer()
    await fake.start()
    fake.queue(Reply.hang(), Reply.hang())
    with pytest.raises(asyncio.TimeoutError):
        await post_with_timeout(session, fake, aiohttp.ClientTimeout(total=0.2))
    waiting = asyncio.create_task(post_with_timeout(session, fake, aiohttp.ClientTimeout(total=30)))
    await until(lambda: len(fake.requests) == 2)
    # A hung reply ends when the server closes; the client then sees the connection go.
    await asyncio.wait_for(fake.stop(), timeout=5)
    with pytest.raises(aiohttp.ClientError):
        await waiting


async def test_raw_proxy_page(server: FakeServer, session: aiohttp.ClientSession) -> None:
    server.queue(Reply.raw())
    status, headers, body = await post(session, server)
    assert status == 502
    assert headers["content-type"].startswith("text/html")
    assert b"Bad Gateway" in body
    assert "request-id" not in headers


async def test_tool_use_stream_and_json(server: FakeServer, session: aiohttp.ClientSession) -> None:
    tool_input = {"city": "Paris", "days": [1, 2, 3], "units": "metric"}
    reply = Reply.tool_use("get_weather", tool_input, chunk_size=7, text="Let me check.")
    server.queue(reply, reply)
    _, _, raw = await post(session, server, STREAM_BODY)
    events = parse_sse(raw)
    starts = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert [block["type"] for block in starts] == ["text", "tool_use"]
    assert starts[1]["input"] == {}
    pieces = [
        data["delta"]["partial_json"]
        for name, data in events
        if name == "content_block_delta" and data["delta"]["type"] == "input_json_delta"
    ]
    assert all(len(piece) <= 7 for piece in pieces)
    assert json.loads("".join(pieces)) == tool_input
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    _, _, raw = await post(session, server)
    message = json.loads(raw)
    assert message["content"][1]["input"] == tool_input
    assert message["content"][1]["id"] == starts[1]["id"]
    assert message["stop_reason"] == "tool_use"


async def test_thinking_stream(server: FakeServer, session: aiohttp.ClientSession) -> None:
    server.queue(Reply.thinking("Let me think it over.", "The answer.", signature="c2ln"))
    _, _, raw = await post(session, server, STREAM_BODY)
    deltas = [data["delta"] for name, data in parse_sse(raw) if name == "content_block_delta"]
    kinds = [delta["type"] for delta in deltas]
    assert kinds == ["thinking_delta"] * 5 + ["signature_delta"] + ["text_delta"] * 2
    assert "".join(d["thinking"] for d in deltas[:5]) == "Let me think it over."
    assert deltas[5]["signature"] == "c2ln"


async def test_usage_override(server: FakeServer, session: aiohttp.ClientSession) -> None:
    server.queue(Reply.text("x y").with_usage(input_tokens=123, output_tokens=456))
    _, _, raw = await post(session, server)
    assert json.loads(raw)["usage"] == {"input_tokens": 123, "output_tokens": 456}


def test_reply_builders_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="concatenation"):
        text_block("abc", deltas=["a", "b"])
    with pytest.raises(ValueError):
        Reply.error(200)
    with pytest.raises(ValueError):
        Reply.text("x").with_delays(first_event=-1)
    with pytest.raises(ValueError):
        Reply.text("x").with_drop(after=-1)
    with pytest.raises(ValueError):
        tool_use_block("t", {}, chunk_size=0)
    with pytest.raises(TypeError):
        FakeServer().queue("not a reply")  # type: ignore[arg-type]


async def test_multi_block_message(server: FakeServer, session: aiohttp.ClientSession) -> None:
    server.queue(
        Reply.message(
            thinking_block("hmm"),
            text_block("Calling."),
            tool_use_block("lookup", {"q": "x"}, id="toolu_1"),
            stop_reason="tool_use",
        )
    )
    _, _, raw = await post(session, server)
    content = json.loads(raw)["content"]
    assert [block["type"] for block in content] == ["thinking", "text", "tool_use"]
    tool = {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}}
    assert content[2] == tool


# -- threaded form, pytest fixture, CLI ----------------------------------------------------------


def sync_post(base_url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(
        base_url + "/v1/messages",
        data=json.dumps(body).encode(),
        headers={**headers, "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def test_threaded_server_from_sync_code() -> None:
    with FakeServer() as fake:
        fake.queue(Reply.text("from a thread"))
        assert sync_post(fake.base_url, BODY, HEADERS)["content"][0]["text"] == "from a thread"
        thread_count = threading.active_count()
    assert threading.active_count() == thread_count - 1  # the server thread is gone
    with pytest.raises(RuntimeError):
        _ = fake.base_url


def test_claude_server_fixture(claude_server: FakeServer) -> None:
    claude_server.queue(Reply.error(400, message="scripted"))
    with pytest.raises(urllib.error.HTTPError) as info:
        sync_post(claude_server.base_url, BODY, HEADERS)
    info.value.close()  # an HTTPError holds the response's socket
    assert info.value.code == 400
    assert sync_post(claude_server.base_url, BODY, HEADERS)["model"] == MODEL
    assert len(claude_server.requests) == 2


def test_plugin_import_is_light() -> None:
    code = (
        "import sys, rawclaude.testing.pytest_plugin;"
        "print('aiohttp.web' in sys.modules, 'rawclaude.testing._server' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_cli_serves_until_terminated() -> None:
    command = [sys.executable, "-m", "rawclaude.testing", "--port", "0", "--deltas", "3"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:")
            message = sync_post(base_url, BODY, HEADERS)
            assert message["content"][0]["text"] == "hello hello hello "
            overridden = sync_post(base_url, BODY, {**HEADERS, "x-fake-deltas": "2"})
            assert overridden["usage"]["output_tokens"] == 2
        finally:
            process.terminate()
            returncode = process.wait(timeout=10)
    assert returncode == 0  # SIGTERM is a clean stop, not a crash


# -- the official SDK cannot tell the difference ---------------------------------------------------


@pytest.fixture
async def sdk(server: FakeServer) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(api_key="test-key", base_url=server.base_url, max_retries=0)
    yield client
    await client.close()


async def test_sdk_create(sdk: anthropic.AsyncAnthropic, server: FakeServer) -> None:
    message = await sdk.messages.create(**BODY)
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello there, fake Claude!"
    assert message.usage.output_tokens == 4
    assert message._request_id is not None
    assert message._request_id.startswith("req_")
    assert server.requests[-1].headers["anthropic-version"]  # the SDK sent one


async def test_sdk_stream(sdk: anthropic.AsyncAnthropic) -> None:
    async with sdk.messages.stream(**BODY) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert pieces == ["Hello ", "there, ", "fake ", "Claude!"]
    assert final.content[0].text == "Hello there, fake Claude!"  # type: ignore[union-attr]
    assert (final.stop_reason, final.usage.output_tokens) == ("end_turn", 4)


async def test_sdk_tool_use_stream(sdk: anthropic.AsyncAnthropic, server: FakeServer) -> None:
    tool_input = {"query": "weather in Paris", "limit": 3, "nested": {"ok": True}}
    server.queue(Reply.tool_use("search", tool_input, chunk_size=5))
    async with sdk.messages.stream(**BODY) as stream:
        final = await stream.get_final_message()
    block = final.content[0]
    assert block.type == "tool_use"
    assert (block.name, block.input) == ("search", tool_input)
    assert final.stop_reason == "tool_use"


async def test_sdk_thinking_stream(sdk: anthropic.AsyncAnthropic, server: FakeServer) -> None:
    server.queue(Reply.thinking("Step one. Step two.", "Done.", signature="c2lnbmF0dXJl"))
    async with sdk.messages.stream(**BODY) as stream:
        final = await stream.get_final_message()
    thinking, text = final.content
    assert thinking.type == "thinking"
    assert (thinking.thinking, thinking.signature) == ("Step one. Step two.", "c2lnbmF0dXJl")
    assert text.type == "text"
    assert text.text == "Done."


async def test_sdk_count_tokens_and_models(sdk: anthropic.AsyncAnthropic) -> None:
    counted = await sdk.messages.count_tokens(model=MODEL, messages=BODY["messages"])
    assert counted.input_tokens > 0
    models = [model async for model in sdk.models.list(limit=1)]  # auto-paginates
    assert [m.id for m in models] == [
        m.id for m in [await sdk.models.retrieve(model.id) for model in models]
    ]
    assert len(models) == 3
    with pytest.raises(anthropic.NotFoundError):
        await sdk.models.retrieve("claude-unknown")


async def test_sdk_errors(sdk: anthropic.AsyncAnthropic, server: FakeServer) -> None:
    with pytest.raises(anthropic.BadRequestError) as bad:
        await sdk.messages.create(model=MODEL, max_tokens=10, messages=[])
    assert bad.value.request_id is not None
    server.queue(Reply.error(529))
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        await sdk.messages.create(**BODY)
    assert overloaded.value.status_code == 529
    server.queue(Reply.text("a b c").with_error_event(after=3))
    with pytest.raises(anthropic.APIStatusError):
        async with sdk.messages.stream(**BODY) as stream:
            await stream.get_final_message()


async def test_sdk_retries_on_retry_after_ms(server: FakeServer) -> None:
    server.queue(Reply.error(529, headers={"retry-after-ms": "1"}))
    client = anthropic.AsyncAnthropic(api_key="k", base_url=server.base_url, max_retries=1)
    try:
        message = await client.messages.create(**BODY)
    finally:
        await client.close()
    assert message.content[0].text == "Hello there, fake Claude!"
    assert len(server.requests) == 2
