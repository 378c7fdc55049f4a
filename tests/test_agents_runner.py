"""ToolRunner against the fake server: concurrency, ordering, errors, limits, streaming."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from scripted_server import ScriptedServer, message_json, ok

from rawclaude import Client, ConfigurationError, MaxIterationsError, tool
from rawclaude.agents.runner import ToolCall, ToolRunner, tool_runner
from rawclaude.testing import FakeServer, Reply
from rawclaude.types import Message, ServerToolUseBlock, TextDelta, WebSearchToolResultBlock

USER = [{"role": "user", "content": "What is the weather?"}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    async with FakeServer() as srv:
        yield srv


@pytest.fixture
async def client(fake: FakeServer) -> AsyncIterator[Client]:
    async with Client("sk-fake", base_url=fake.base_url, max_retries=0) as c:
        yield c


def runner(client: Client, tools: list[Any], **kw: Any) -> ToolRunner:
    return tool_runner(
        client, tools=tools, model="claude-x", max_tokens=256, messages=list(USER), **kw
    )


@tool
async def weather(city: str) -> dict[str, Any]:
    """The weather in a city."""
    return {"city": city, "sky": "sunny"}


async def test_two_turn_loop_sends_results_and_records_everything(
    fake: FakeServer, client: Client
) -> None:
    fake.queue(Reply.tool_use("weather", {"city": "Paris"}, text="Checking."), Reply.text("Sunny."))
    r = runner(client, [weather])
    seen = [m async for m in r]
    assert [m.stop_reason for m in seen] == ["tool_use", "end_turn"]
    assert r.status == "completed"
    assert (await r.until_done()).content[0].text == "Sunny."  # type: ignore[union-attr]
    second = fake.requests[1].json
    assert second["tools"] == [weather.definition]
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]
    [result] = second["messages"][2]["content"]
    tool_id = seen[0].content[1].id  # type: ignore[union-attr]
    assert result == {
        "type": "tool_result",
        "tool_use_id": tool_id,
        "content": '{"city":"Paris","sky":"sunny"}',
    }
    [call] = r.calls
    assert (call.name, call.input, call.is_error) == ("weather", {"city": "Paris"}, False)
    assert call.duration >= 0
    assert [len(t.messages) for t in r.turns] == [1, 3]
    assert len(r.messages) == 4 and r.messages[-1]["role"] == "assistant"
    total = seen[0].usage.input_tokens + seen[1].usage.input_tokens
    assert r.usage.input_tokens == total
    assert r.usage.output_tokens == sum(m.usage.output_tokens for m in seen)


async def test_tools_of_a_turn_run_concurrently_and_results_keep_id_order(
    fake: FakeServer, client: Client
) -> None:
    gate = asyncio.Event()
    running: list[str] = []

    @tool
    async def wait(name: str, delay: float) -> str:
        """Waits until every call of the turn has started."""
        running.append(name)
        if len(running) == 3:
            gate.set()
        await asyncio.wait_for(gate.wait(), 5)  # deadlocks if run one after another
        await asyncio.sleep(delay)
        return name

    reply = Reply.tool_uses(
        [
            ("wait", {"name": "a", "delay": 0.03}),
            ("wait", {"name": "b", "delay": 0}),
            ("wait", {"name": "c", "delay": 0.01}),
        ]
    )
    fake.queue(reply, Reply.text("done"))
    r = runner(client, [wait])
    events = [e async for e in r.events()]
    finished = [e.content for e in events if isinstance(e, ToolCall)]
    assert finished == ["b", "c", "a"]  # as each finished
    results = fake.requests[1].json["messages"][2]["content"]
    assert [b["tool_use_id"] for b in results] == reply.tool_use_ids
    assert [b["content"] for b in results] == ["a", "b", "c"]
    assert [c.content for c in r.calls] == ["a", "b", "c"]


async def test_max_parallel_tools_caps_concurrency(fake: FakeServer, client: Client) -> None:
    now = peak = 0

    @tool
    async def busy(n: int) -> int:
        """Counts how many run at once."""
        nonlocal now, peak
        now += 1
        peak = max(peak, now)
        await asyncio.sleep(0.01)
        now -= 1
        return n

    fake.queue(Reply.tool_uses([("busy", {"n": i}) for i in range(6)]), Reply.text("ok"))
    r = runner(client, [busy], max_parallel_tools=2)
    await r.until_done()
    assert peak == 2 and [c.content for c in r.calls] == [str(i) for i in range(6)]


async def test_timeout_unknown_tool_bad_input_become_error_results(
    fake: FakeServer, client: Client
) -> None:
    @tool
    async def sleepy() -> str:
        """Never finishes in time."""
        await asyncio.sleep(10)
        return "late"

    fake.queue(
        Reply.tool_uses([("sleepy", {}), ("nope", {"x": 1}), ("weather", {"town": "Rome"})]),
        Reply.text("sorry"),
    )
    r = runner(client, [sleepy, weather], tool_timeout=0.05)
    await r.until_done()
    timed_out, unknown, bad = r.calls
    assert timed_out.is_error and timed_out.content == "Tool 'sleepy' timed out after 0.05 s"
    assert unknown.is_error and "Unknown tool 'nope'" in str(unknown.content)
    assert "sleepy, weather" in str(unknown.content)
    assert bad.is_error and "unknown field `town`" in str(bad.content)
    sent = fake.requests[1].json["messages"][2]["content"]
    assert all(b["is_error"] is True for b in sent)


async def test_pause_turn_is_resent_as_is(fake: FakeServer, client: Client) -> None:
    fake.queue(Reply.pause_turn("Searching"), Reply.text("Found it."))
    r = runner(client, [weather])
    final = await r.until_done()
    assert final.stop_reason == "end_turn" and len(fake.requests) == 2
    resent = fake.requests[1].json["messages"]
    assert resent[-1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Searching", "citations": None}],
    }


async def test_max_iterations_stops_with_a_status_and_a_typed_error(
    fake: FakeServer, client: Client
) -> None:
    calls = 0

    @tool
    async def again() -> str:
        """Always asked for again."""
        nonlocal calls
        calls += 1
        return "more"

    fake.queue(*[Reply.tool_use("again", {}, id=f"toolu_{i}") for i in range(5)])
    r = runner(client, [again], max_iterations=3)
    with pytest.raises(MaxIterationsError, match="max_iterations=3") as info:
        await r.until_done()
    assert r.status == "max_iterations" and len(fake.requests) == 3
    assert calls == 2  # the last turn's tools are not run: no request would use them
    assert info.value.message is r.last_message and r.last_message is not None
    assert r.last_message.stop_reason == "tool_use"


async def test_cancelling_the_runner_cancels_running_tools(
    fake: FakeServer, client: Client
) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    @tool
    async def forever() -> str:
        """Runs until cancelled."""
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    fake.queue(Reply.tool_uses([("forever", {}), ("forever", {})]))
    r = runner(client, [forever])
    task = asyncio.ensure_future(r.until_done())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set() and r.status == "cancelled"


async def test_breaking_out_of_events_cancels_running_tools(
    fake: FakeServer, client: Client
) -> None:
    cancelled = 0

    @tool
    async def slow(n: int) -> int:
        """Slow unless n is 0."""
        nonlocal cancelled
        try:
            await asyncio.sleep(0 if n == 0 else 30)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return n

    fake.queue(Reply.tool_uses([("slow", {"n": 0}), ("slow", {"n": 1})]))
    r = runner(client, [slow])
    events = r.events()
    async for event in events:
        if isinstance(event, ToolCall):
            break
    await events.aclose()  # type: ignore[attr-defined]
    assert cancelled == 1 and r.status == "cancelled"


async def test_streaming_variant_yields_deltas_then_tool_calls_then_next_turn(
    fake: FakeServer, client: Client
) -> None:
    fake.queue(
        Reply.tool_use("weather", {"city": "Oslo"}, text="Let me look."), Reply.text("Cold.")
    )
    r = runner(client, [weather])
    kinds: list[str] = []
    async for event in r.events():
        if isinstance(event, ToolCall):
            kinds.append("call")
        elif isinstance(event, Message):
            kinds.append("message")
        elif getattr(event, "type", "") == "content_block_delta" and isinstance(
            event.delta,
            TextDelta,  # type: ignore[union-attr]
        ):
            kinds.append("text")
    first_call = kinds.index("call")
    assert "text" in kinds[:first_call] and kinds[first_call - 1] == "message"
    assert kinds[first_call + 1 :].count("text") >= 1 and kinds[-1] == "message"
    assert fake.requests[0].json["stream"] is True and r.status == "completed"
    assert r.calls[0].input == {"city": "Oslo"}


async def test_server_tool_blocks_pass_through_untouched(server: ScriptedServer) -> None:
    server_blocks = [
        {
            "type": "server_tool_use",
            "id": "srvtoolu_1",
            "name": "web_search",
            "input": {"query": "q"},
        },
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_1",
            "content": [
                {
                    "type": "web_search_result",
                    "url": "https://e.x",
                    "title": "E",
                    "encrypted_content": "abc",
                    "page_age": None,
                }
            ],
        },
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Lima"}},
    ]
    server.queue(
        ok(message_json(content=server_blocks, stop_reason="tool_use")), ok(message_json("fine"))
    )
    web_search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}
    async with Client("sk-x", base_url=server.base_url, max_retries=0) as c:
        r = runner(c, [weather, web_search])
        first, _ = [m async for m in r]
    assert isinstance(first.content[0], ServerToolUseBlock)
    assert isinstance(first.content[1], WebSearchToolResultBlock)
    second = server.requests[1].json()
    assert second["tools"] == [weather.definition, web_search]
    echoed = second["messages"][1]["content"]
    assert echoed[:2] == [{k: v for k, v in b.items()} for b in server_blocks[:2]]
    assert [b["tool_use_id"] for b in second["messages"][2]["content"]] == ["toolu_1"]
    assert [c.name for c in r.calls] == ["weather"]


async def test_argument_mistakes_are_configuration_errors(client: Client) -> None:
    with pytest.raises(ConfigurationError, match="max_iterations"):
        runner(client, [weather], max_iterations=0)
    with pytest.raises(ConfigurationError, match="max_parallel_tools"):
        runner(client, [weather], max_parallel_tools=0)
    with pytest.raises(ConfigurationError, match="tool_timeout"):
        runner(client, [weather], tool_timeout=0)
    with pytest.raises(ConfigurationError, match="two tools are named 'weather'"):
        runner(client, [weather, weather])
    with pytest.raises(ConfigurationError, match="stream"):
        runner(client, [weather], stream=True)
    with pytest.raises(ConfigurationError, match="model="):
        ToolRunner(client, tools=[], max_tokens=1, messages=USER)
    r = runner(client, [weather])
    await r.until_done()
    with pytest.raises(RuntimeError, match="runs once"):
        async for _ in r:
            pass


async def test_api_error_ends_the_run_as_failed(fake: FakeServer, client: Client) -> None:
    fake.queue(Reply.error(400, message="bad"))
    r = runner(client, [weather])
    with pytest.raises(Exception, match="bad"):
        await r.until_done()
    assert r.status == "failed" and r.error is not None
