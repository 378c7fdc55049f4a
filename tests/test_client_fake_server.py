"""rawclaude against its own fake server, for every scripted fault.

The fake server does not import the client, so each side checks the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rawclaude import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    Client,
    InternalServerError,
    NotFoundError,
    OverloadedError,
    RateLimitError,
    Timeout,
)
from rawclaude.policy.retry import RetryPolicy
from rawclaude.testing import FakeServer, RateLimit, Reply
from rawclaude.wire.models import TextBlock, ThinkingBlock, ToolUseBlock

MSG = [
    {
        "role": "user",
        "content": [{"type": "text", "text": "echo"}, {"type": "text", "text": "this please"}],
    }
]


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    async with FakeServer() as srv:
        yield srv


@pytest.fixture
async def client(server: FakeServer) -> AsyncIterator[Client]:
    c = Client("sk-fake", base_url=server.base_url)
    c.retry_policy = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.01)
    yield c
    await c.close()


async def create(client: Client, **kw: Any) -> Any:
    return await client.messages.create(model="claude-x", max_tokens=64, messages=MSG, **kw)


def stream(client: Client, **kw: Any) -> Any:
    return client.messages.stream(model="claude-x", max_tokens=64, messages=MSG, **kw)


async def test_default_echo_create_and_stream_agree(server: FakeServer, client: Client) -> None:
    made = await create(client)
    async with stream(client) as s:
        pieces = [t async for t in s.text_stream]
        streamed = await s.get_final_message()
    assert made.content == [TextBlock(text="echo this please")]
    assert "".join(pieces) == "echo this please" and len(pieces) == 3
    assert streamed.content == made.content
    assert streamed.usage.output_tokens == made.usage.output_tokens == 3
    assert streamed.usage.input_tokens == made.usage.input_tokens > 0
    assert streamed.stop_reason == made.stop_reason == "end_turn"
    assert made.request_id and streamed.request_id and made.request_id != streamed.request_id
    sent = server.requests[0]
    assert sent.headers["x-api-key"] == "***"
    assert sent.headers["anthropic-version"] == "2026-10-21"


async def test_tool_use_and_thinking(server: FakeServer, client: Client) -> None:
    tool_input = {"city": "São Paulo", "note": 'a "quoted" \\ value', "n": [1, 2.5, None]}
    server.queue(
        Reply.tool_use("weather", tool_input, chunk_size=3, text="Let me check."),
        Reply.thinking("hmm, ponder", "Answer.", signature="c2ln"),
    )
    async with stream(client) as s:
        msg = await s.get_final_message()
    assert msg.stop_reason == "tool_use"
    tool = msg.content[-1]
    assert isinstance(tool, ToolUseBlock) and tool.name == "weather" and tool.input == tool_input
    thought = await create(client)
    assert isinstance(thought.content[0], ThinkingBlock)
    assert thought.content[0].signature == "c2ln"
    assert thought.content[1] == TextBlock(text="Answer.")


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, BadRequestError), (404, NotFoundError), (429, RateLimitError), (529, OverloadedError)],
)
async def test_http_errors(server: FakeServer, client: Client, status: int, cls: type) -> None:
    server.queue(*[Reply.error(status, headers={"retry-after-ms": "1"})] * 3)
    with pytest.raises(cls) as info:
        await create(client)
    assert info.value.status_code == status and info.value.request_id
    retried = status in (429, 529)
    assert len(server.requests) == (3 if retried else 1)


async def test_x_should_retry_and_retry_after(server: FakeServer, client: Client) -> None:
    server.queue(
        Reply.error(400, headers={"x-should-retry": "true", "retry-after-ms": "5"}),
        Reply.error(529, headers={"x-should-retry": "false"}),
    )
    with pytest.raises(OverloadedError):
        await create(client)
    assert len(server.requests) == 2


async def test_proxy_html_502_is_typed(server: FakeServer, client: Client) -> None:
    server.queue(*[Reply.raw()] * 3)
    with pytest.raises(InternalServerError) as info:
        await create(client)
    assert info.value.status_code == 502 and info.value.error_type is None
    assert "502" in str(info.value)


async def test_missing_auth_is_401_from_the_server(server: FakeServer) -> None:
    async with Client(
        "k", base_url=server.base_url, default_headers={"x-api-key": ""}, max_retries=0
    ) as c:
        with pytest.raises(AuthenticationError):
            await c.messages.create(model="m", max_tokens=5, messages=MSG)


async def test_error_event_mid_stream(server: FakeServer, client: Client) -> None:
    server.queue(Reply.text("one two three four").with_error_event(after=5))
    async with stream(client) as s:
        with pytest.raises(OverloadedError) as info:
            await s.get_final_message()
    assert info.value.in_stream and len(server.requests) == 1


async def test_error_event_before_content_is_retried(server: FakeServer, client: Client) -> None:
    server.queue(Reply.text("x y").with_error_event(after=2, error_type="overloaded_error"))
    async with stream(client) as s:
        assert await s.get_final_text() == "echo this please"
    assert len(server.requests) == 2


async def test_drop_after_content_raises(server: FakeServer, client: Client) -> None:
    server.queue(Reply.text("a b c d e").with_drop(after=5))
    async with stream(client) as s:
        with pytest.raises(APIConnectionError):
            await s.get_final_message()


async def test_drop_before_content_is_retried(server: FakeServer, client: Client) -> None:
    server.queue(Reply.text("a b").with_drop(after=1))
    async with stream(client) as s:
        assert await s.get_final_text() == "echo this please"
    assert len(server.requests) == 2


async def test_delays_and_idle_timeout(server: FakeServer, client: Client) -> None:
    server.queue(Reply.text("slow words here").with_delays(first_event=0.05, between_events=0.01))
    async with stream(client) as s:
        assert await s.get_final_text() == "slow words here"
    # Silent before any content: a timeout there is retried (3 attempts), then raised.
    server.queue(*[Reply.text("never finishes").with_delays(between_events=2.0)] * 3)
    with pytest.raises(APITimeoutError):
        async with stream(client, timeout=Timeout(stream_idle=0.2)) as s:
            await s.get_final_message()
    assert len(server.requests) == 1 + 3


async def test_hang_hits_total_timeout(server: FakeServer, client: Client) -> None:
    server.queue(*[Reply.hang()] * 3)
    with pytest.raises(APITimeoutError):
        await create(client, timeout=0.2)


async def test_rate_limit_headers_reach_the_client_state() -> None:
    limits = RateLimit(requests=100, output_tokens=5000)
    async with FakeServer(ratelimit=limits) as srv, Client("k", base_url=srv.base_url) as c:
        await c.messages.create(model="m", max_tokens=5, messages=MSG)
        await c.messages.create(model="m", max_tokens=5, messages=MSG)
        state = c.rate_limit_state
    assert state is not None
    assert state.requests.limit == 100 and state.requests.remaining == 98
    assert state.output_tokens.limit == 5000
    assert state.requests.reset is not None


async def test_count_tokens_and_models(server: FakeServer, client: Client) -> None:
    counted = await client.messages.count_tokens(model="claude-x", messages=MSG)
    made = await create(client)
    assert counted.input_tokens == made.usage.input_tokens
    listed = await client.models.list(limit=2)
    assert listed.data and len(listed.data) <= 2
    one = await client.models.retrieve(listed.data[0].id)
    assert one.id == listed.data[0].id
    with pytest.raises(NotFoundError):
        await client.models.retrieve("no-such-model")


def test_pytest_fixture_from_a_sync_test(claude_server: FakeServer) -> None:
    async def run() -> str:
        async with Client("k", base_url=claude_server.base_url) as c:
            msg = await c.messages.create(model="m", max_tokens=5, messages=MSG)
        block = msg.content[0]
        assert isinstance(block, TextBlock)
        return block.text

    assert asyncio.run(run()) == "echo this please"
    assert claude_server.requests[0].path == "/v1/messages"
