"""Conversation: history, trimming, cache breakpoints, tools, streaming, JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from rawclaude import (
    Client,
    ConfigurationError,
    ContextBudgetError,
    Conversation,
    MaxIterationsError,
    tool,
)
from rawclaude.agents.history import count_breakpoints, is_turn_start
from rawclaude.agents.runner import ToolCall
from rawclaude.testing import FakeServer, Reply

SYSTEM = "You are a terse assistant. " * 40


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    async with FakeServer() as srv:
        yield srv


@pytest.fixture
async def client(fake: FakeServer) -> AsyncIterator[Client]:
    async with Client("sk-fake", base_url=fake.base_url, max_retries=0) as c:
        yield c


def sent(fake: FakeServer, index: int = -1) -> dict[str, Any]:
    posts = [r for r in fake.requests if r.path == "/v1/messages"]
    body: dict[str, Any] = posts[index].json
    return body


@tool
async def add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


def assert_well_formed(messages: list[dict[str, Any]]) -> None:
    """Starts with a user turn; every tool_use answered in the next message."""
    assert is_turn_start(messages[0])
    for i, message in enumerate(messages):
        blocks = message["content"] if isinstance(message["content"], list) else []
        ids = [b["id"] for b in blocks if b.get("type") == "tool_use"]
        if ids:
            answer = messages[i + 1]["content"]
            assert [b["tool_use_id"] for b in answer[: len(ids)]] == ids


async def test_send_keeps_the_history(fake: FakeServer, client: Client) -> None:
    conv = Conversation(client, model="claude-x", system="Be brief.", max_tokens=100)
    reply = await conv.send("hello there")
    assert reply.content[0].text == "hello there"  # type: ignore[union-attr]
    await conv.send([{"type": "text", "text": "again"}])
    body = sent(fake)
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["max_tokens"] == 100 and body["model"] == "claude-x"
    assert len(conv.messages) == 4 and count_breakpoints(conv.messages) == 0
    assert len(conv.usages) == 2 and conv.usage.output_tokens == sum(
        u.output_tokens for u in conv.usages
    )


async def test_cache_breakpoints_and_usage_show_reads(fake: FakeServer, client: Client) -> None:
    conv = Conversation(client, model="claude-x", system=SYSTEM, tools=[add])
    await conv.send("first question " * 20)
    first = sent(fake)
    assert first["system"] == [
        {"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}
    ]
    assert first["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert first["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    await conv.send("second question")
    second = sent(fake)
    marked = [i for i, m in enumerate(second["messages"]) if count_breakpoints(m)]
    assert marked == [0, 2]  # the newest user message and the one before it
    assert count_breakpoints(second) == 4
    one, two = conv.usages
    assert one.cache_creation_input_tokens and not one.cache_read_input_tokens
    assert two.cache_read_input_tokens and two.cache_read_input_tokens >= (
        one.cache_creation_input_tokens or 0
    )
    assert count_breakpoints(conv.messages) == 0  # markers live on request copies only
    await conv.send("third question")
    three = conv.usages[-1]
    # The prefix up to the previous request's newest message is read back whole,
    # though its string content was marked (a block) then and is not now.
    assert three.cache_read_input_tokens > two.cache_read_input_tokens  # type: ignore[operator]
    assert all(isinstance(m["content"], list) for m in sent(fake)["messages"])


async def test_ttl_option_and_existing_breakpoints_count(fake: FakeServer, client: Client) -> None:
    conv = Conversation(client, model="claude-x", system=SYSTEM, cache_ttl="1h")
    own = {"type": "ephemeral", "ttl": "1h"}
    blocks = [
        {"type": "text", "text": "a", "cache_control": own},
        {"type": "text", "text": "b", "cache_control": own},
        {"type": "text", "text": "c", "cache_control": own},
        {"type": "text", "text": "d"},
    ]
    await conv.send(blocks)
    body = sent(fake)
    assert count_breakpoints(body) == 4
    assert body["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert "cache_control" not in body["messages"][0]["content"][-1]
    await Conversation(client, model="claude-x", cache=False, system="s").send("x")
    assert count_breakpoints(sent(fake)) == 0 and sent(fake)["system"] == "s"


def long_history(turns: int) -> list[dict[str, Any]]:
    """Turns of text and of tool round trips, alternating."""
    out: list[dict[str, Any]] = []
    for t in range(turns):
        out.append({"role": "user", "content": f"question {t} " + "x" * 200})
        if t % 2:
            use = {"type": "tool_use", "id": f"toolu_{t}", "name": "add", "input": {"a": t, "b": 1}}
            out.append({"role": "assistant", "content": [use]})
            result = {"type": "tool_result", "tool_use_id": f"toolu_{t}", "content": "y" * 300}
            out.append({"role": "user", "content": [result]})
        out.append({"role": "assistant", "content": [{"type": "text", "text": "z" * 200}]})
    return out


@pytest.mark.parametrize("exact", [False, True])
async def test_trimming_drops_whole_turns_from_the_front(
    fake: FakeServer, client: Client, exact: bool
) -> None:
    history = long_history(12)
    conv = Conversation(
        client, model="claude-x", messages=history, max_input_tokens=900, exact=exact, cache=False
    )
    await conv.send("newest")
    body = sent(fake)
    assert_well_formed(body["messages"])
    assert body["messages"][-1]["content"] == "newest"
    assert len(body["messages"]) < len(history)
    assert fake.requests[-1].json == body
    counted = [r for r in fake.requests if r.path == "/v1/messages/count_tokens"]
    assert bool(counted) is exact
    # The reply's input tokens (the fake counts 4 bytes a token) fit the budget...
    assert conv.usages[-1].input_tokens + (conv.usages[-1].cache_creation_input_tokens or 0) <= 900
    assert conv.messages == [*body["messages"], conv.messages[-1]]  # the history is trimmed too
    assert conv.messages[-1]["role"] == "assistant"
    # Cut to trim_to of the budget, so the next turn keeps the same prefix.
    before = body["messages"][0]
    await conv.send("and again")
    assert sent(fake)["messages"][0]["content"] == before["content"]


async def test_keep_first_turn_and_never_start_with_assistant(
    fake: FakeServer, client: Client
) -> None:
    history = long_history(10)
    conv = Conversation(
        client,
        model="claude-x",
        messages=history,
        max_input_tokens=700,
        keep_first_turn=True,
        cache=False,
    )
    await conv.send("latest")
    body = sent(fake)
    first = body["messages"][0]
    assert first["role"] == "user" and first["content"][0]["text"] == history[0]["content"]
    assert len(first["content"]) == 2  # the first turn joined with the oldest kept one
    assert_well_formed(body["messages"])
    assert conv.messages[0] == history[0]


async def test_newest_turn_over_budget_raises_and_sends_nothing(
    fake: FakeServer, client: Client
) -> None:
    conv = Conversation(client, model="claude-x", max_input_tokens=50)
    with pytest.raises(ContextBudgetError, match="max_input_tokens=50") as info:
        await conv.send("w" * 1000)
    assert info.value.budget == 50 and info.value.needed > 50
    assert fake.requests == [] and conv.messages == []


async def test_tools_run_through_the_runner(fake: FakeServer, client: Client) -> None:
    fake.queue(Reply.tool_use("add", {"a": 2, "b": 3}), Reply.text("It is 5."))
    conv = Conversation(client, model="claude-x", tools=[add])
    reply = await conv.send("What is 2+3?")
    assert reply.content[0].text == "It is 5."  # type: ignore[union-attr]
    assert [m["role"] for m in conv.messages] == ["user", "assistant", "user", "assistant"]
    assert conv.messages[2]["content"][0]["content"] == "5"
    assert conv.last_runner is not None and conv.last_runner.calls[0].content == "5"
    assert_well_formed(conv.messages)


async def test_max_iterations_then_next_send_answers_open_calls(
    fake: FakeServer, client: Client
) -> None:
    fake.queue(
        Reply.tool_use("add", {"a": 1, "b": 1}, id="toolu_a"),
        Reply.tool_use("add", {"a": 2, "b": 2}, id="toolu_b"),
    )
    conv = Conversation(client, model="claude-x", tools=[add], max_iterations=2)
    with pytest.raises(MaxIterationsError):
        await conv.send("loop")
    assert conv.messages[-1]["role"] == "assistant"
    await conv.send("stop now")  # the fake refuses unanswered tool_use ids (400)
    last_user = sent(fake)["messages"][-1]["content"]
    assert last_user[0]["tool_use_id"] == "toolu_b" and last_user[0]["is_error"] is True
    assert last_user[-1] == {
        "type": "text",
        "text": "stop now",
        "cache_control": {"type": "ephemeral"},
    }


async def test_stream_and_early_exit(fake: FakeServer, client: Client) -> None:
    conv = Conversation(client, model="claude-x")
    stream = conv.stream("stream this please")
    pieces = [t async for t in stream.text_stream]
    assert "".join(pieces) == "stream this please" and len(pieces) == 3
    reply = await stream.get_final_message()
    assert reply.content[0].text == "stream this please"  # type: ignore[union-attr]
    assert len(conv.messages) == 2
    async with conv.stream("never finished") as s:
        async for _ in s:
            break
    assert len(conv.messages) == 2  # an abandoned send changes nothing


async def test_stream_with_tools_yields_calls_and_keeps_the_history(
    fake: FakeServer, client: Client
) -> None:
    fake.queue(Reply.tool_use("add", {"a": 4, "b": 5}, text="Adding."), Reply.text("9."))
    conv = Conversation(client, model="claude-x", tools=[add])
    async with conv.stream("4+5?") as stream:
        events = [e async for e in stream]
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [c.content for c in calls] == ["9"]
    assert stream.reply is not None and stream.reply.content[0].text == "9."  # type: ignore[union-attr]
    assert [m["role"] for m in conv.messages] == ["user", "assistant", "user", "assistant"]
    assert all(r.json["stream"] is True for r in fake.requests)


async def test_failed_send_changes_nothing(fake: FakeServer, client: Client) -> None:
    conv = Conversation(client, model="claude-x")
    fake.queue(Reply.error(400, message="nope"))
    with pytest.raises(Exception, match="nope"):
        await conv.send("hi")
    assert conv.messages == [] and conv.usages == []


async def test_json_round_trip(fake: FakeServer, client: Client) -> None:
    conv = Conversation(client, model="claude-x", system="sys", id="conv-1")
    await conv.send("remember me")
    again = Conversation.from_json(client, conv.to_json(), tools=[add])
    assert (again.id, again.model, again.system) == ("conv-1", "claude-x", "sys")
    assert again.messages == conv.messages and again.tools == [add]
    with pytest.raises(ConfigurationError, match="not a saved conversation"):
        Conversation.from_json(client, b"{}")


def test_argument_mistakes(client: Client) -> None:
    with pytest.raises(ConfigurationError, match="max_input_tokens"):
        Conversation(client, model="m", max_input_tokens=0)
    with pytest.raises(ConfigurationError, match="cache_ttl"):
        Conversation(client, model="m", cache_ttl="10m")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="trim_to"):
        Conversation(client, model="m", trim_to=0)
    with pytest.raises(ConfigurationError, match="max_iterations"):
        Conversation(client, model="m", max_iterations=0)
    with pytest.raises(ConfigurationError, match="start with a user message"):
        Conversation(client, model="m", messages=[{"role": "assistant", "content": "x"}])
    with pytest.raises(ConfigurationError, match="content"):
        Conversation(client, model="m").stream("")
