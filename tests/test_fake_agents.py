"""rawclaude.testing: agent scripting, structured outputs, prompt cache, max_tokens, models.

Stream and non-stream answers are checked to agree wherever both apply.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Literal

import aiohttp
import anthropic
import msgspec
import pytest

from rawclaude.testing import FakeServer, Reply

HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
MODEL = "claude-sonnet-4-6"


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    async with FakeServer() as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=HEADERS) as client:
        yield client


def body(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 256, "messages": messages, **extra}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


async def post(session: aiohttp.ClientSession, server: FakeServer, payload: Any) -> tuple[int, Any]:
    async with session.post(server.base_url + "/v1/messages", json=payload) as response:
        return response.status, json.loads(await response.read())


async def stream(
    session: aiohttp.ClientSession, server: FakeServer, payload: Any
) -> dict[str, Any]:
    """The Message a stream adds up to (text and tool_use blocks), with its usage."""
    async with session.post(
        server.base_url + "/v1/messages", json={**payload, "stream": True}
    ) as response:
        raw = await response.read()
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for frame in raw.split(b"\n\n"):
        if not frame.strip():
            continue
        data = json.loads(frame.split(b"data: ", 1)[1])
        if data["type"] == "message_start":
            message = data["message"]
        elif data["type"] == "content_block_start":
            message["content"].append(data["content_block"])
        elif data["type"] == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            else:
                partial[data["index"]] = partial.get(data["index"], "") + delta["partial_json"]
        elif data["type"] == "message_delta":
            message["stop_reason"] = data["delta"]["stop_reason"]
            message["usage"]["output_tokens"] = data["usage"]["output_tokens"]
    for index, text in partial.items():
        message["content"][index]["input"] = json.loads(text)
    return message


def same_answer(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["content"] == b["content"]
    assert a["stop_reason"] == b["stop_reason"]
    assert a["usage"]["output_tokens"] == b["usage"]["output_tokens"]


# -- agent scripting: several tool calls, the tool_result check, pause_turn -------------


async def test_several_tool_uses_then_results_checked(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    reply = Reply.tool_uses([("search", {"q": "a"}), ("search", {"q": "a"})], text="Looking.")
    server.queue(reply, reply)
    _, first = await post(session, server, body([user("find a")]))
    streamed = await stream(session, server, body([user("find a")]))
    same_answer(first, streamed)
    assert first["stop_reason"] == "tool_use"
    ids = [b["id"] for b in first["content"] if b["type"] == "tool_use"]
    assert ids == reply.tool_use_ids and len(set(ids)) == 2
    assert all(tool_id.startswith("toolu_") for tool_id in ids)
    history = [user("find a"), {"role": "assistant", "content": first["content"]}]

    def results(*tool_ids: str) -> dict[str, Any]:
        blocks = [{"type": "tool_result", "tool_use_id": i, "content": "ok"} for i in tool_ids]
        return {"role": "user", "content": blocks}

    status, error = await post(session, server, body([*history, results(ids[0])]))
    assert status == 400 and ids[1] in error["error"]["message"]
    status, error = await post(session, server, body([*history, results(*ids, "toolu_x")]))
    assert status == 400 and "toolu_x" in error["error"]["message"]
    later = {"role": "user", "content": [{"type": "text", "text": "hm"}, *results(*ids)["content"]]}
    status, error = await post(session, server, body([*history, later]))
    assert status == 400 and "first" in error["error"]["message"]
    status, error = await post(session, server, body([*history, user("no results")]))
    assert status == 400 and ids[0] in error["error"]["message"]
    status, answer = await post(session, server, body([*history, results(*reversed(ids))]))
    assert status == 200 and answer["content"] == [{"type": "text", "text": "OK"}]


async def test_tool_result_check_can_be_turned_off(session: aiohttp.ClientSession) -> None:
    async with FakeServer(check_tool_results=False) as fake:
        tool_turn = {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}}],
        }
        status, _ = await post(session, fake, body([user("a"), tool_turn, user("b")]))
    assert status == 200


async def test_pause_turn_and_refusal(server: FakeServer, session: aiohttp.ClientSession) -> None:
    cases = ((Reply.pause_turn("Working"), "pause_turn"), (Reply.refusal(), "refusal"))
    for reply, reason in cases:
        server.queue(reply, reply)
        _, plain = await post(session, server, body([user("go")]))
        same_answer(plain, await stream(session, server, body([user("go")])))
        assert plain["stop_reason"] == reason


# -- structured outputs -----------------------------------------------------------------


class Address(msgspec.Struct):
    street: str
    zip_code: int


class Person(msgspec.Struct):
    name: str
    age: int
    score: float
    active: bool
    tags: list[str]
    kind: Literal["admin", "user"]
    home: Address
    nickname: str | None
    friends: list[Address]


async def test_structured_output_conforms_to_the_schema(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    schema = msgspec.json.schema(Person)  # $ref into $defs, enum, nullable (anyOf)
    schema["$defs"]["Address"]["properties"]["zip_code"]["minimum"] = 10000
    request = body(
        [user("who?")], output_config={"format": {"type": "json_schema", "schema": schema}}
    )
    _, plain = await post(session, server, request)
    same_answer(plain, await stream(session, server, request))
    person = msgspec.json.decode(plain["content"][0]["text"], type=Person)  # validates
    assert person.kind == "admin" and person.home.zip_code == 10000


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"c": {"const": 3}}, "required": ["c"]},
        {"type": "array", "items": {"type": "string", "minLength": 2}, "minItems": 2},
        {"anyOf": [{"type": "null"}, {"type": "integer"}]},
        {"type": "integer", "exclusiveMinimum": 4, "maximum": 9},
        {"allOf": [{"properties": {"a": {"type": "boolean"}}, "required": ["a"]}]},
    ],
)
async def test_structured_output_small_schemas(
    server: FakeServer, session: aiohttp.ClientSession, schema: dict[str, Any]
) -> None:
    fmt = {"type": "json_schema", "schema": schema}
    _, plain = await post(session, server, body([user("x")], output_config={"format": fmt}))
    value = json.loads(plain["content"][0]["text"])
    assert value in ({"c": 3}, ["aa", "aa"], None, 5, {"a": False})


# -- prompt cache -----------------------------------------------------------------------

CACHED = {"type": "ephemeral"}
SYSTEM = [{"type": "text", "text": "You are a careful assistant. " * 40, "cache_control": CACHED}]


async def test_prompt_cache_creation_read_and_expiry(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    request = body([user("question one")], system=SYSTEM)
    _, first = await post(session, server, request)
    usage = first["usage"]
    assert usage["cache_read_input_tokens"] == 0
    assert usage["cache_creation_input_tokens"] > 0
    assert usage["cache_creation"] == {
        "ephemeral_5m_input_tokens": usage["cache_creation_input_tokens"],
        "ephemeral_1h_input_tokens": 0,
    }
    total = usage["input_tokens"] + usage["cache_creation_input_tokens"]
    async with session.post(
        server.base_url + "/v1/messages/count_tokens", json={"model": MODEL, **request}
    ) as response:
        assert (await response.json())["input_tokens"] == total
    server.advance_time(299)
    streamed = await stream(session, server, request)
    assert streamed["usage"]["cache_read_input_tokens"] == usage["cache_creation_input_tokens"]
    assert streamed["usage"]["cache_creation_input_tokens"] == 0
    assert streamed["usage"]["input_tokens"] == usage["input_tokens"]
    server.advance_time(301)  # the read refreshed the entry at 299 s; now past it
    _, expired = await post(session, server, request)
    assert expired["usage"]["cache_read_input_tokens"] == 0
    assert expired["usage"]["cache_creation_input_tokens"] > 0


async def test_prompt_cache_longest_prefix_and_1h(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    system = [{**SYSTEM[0], "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    turn = {"role": "user", "content": [{"type": "text", "text": "long doc " * 50}]}
    turn["content"][0]["cache_control"] = CACHED
    _, warm = await post(session, server, body([user("hi")], system=system))
    server.advance_time(600)  # the 1h system prefix survives, nothing else was cached
    _, second = await post(session, server, body([turn], system=system))
    usage = second["usage"]
    assert usage["cache_read_input_tokens"] == warm["usage"]["cache_creation_input_tokens"]
    assert usage["cache_creation"]["ephemeral_1h_input_tokens"] == 0
    assert usage["cache_creation"]["ephemeral_5m_input_tokens"] > 0


async def test_prompt_cache_rules(server: FakeServer, session: aiohttp.ClientSession) -> None:
    blocks = [{"type": "text", "text": f"b{i}", "cache_control": CACHED} for i in range(5)]
    status, error = await post(session, server, body([{"role": "user", "content": blocks}]))
    assert status == 400 and "maximum of 4" in error["error"]["message"]
    late_1h = [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    first = [{"type": "text", "text": "t", "cache_control": CACHED}]
    status, _ = await post(
        session, server, body([{"role": "user", "content": late_1h}], system=first)
    )
    assert status == 400
    _, plain = await post(session, server, body([user("no cache here")]))
    assert set(plain["usage"]) == {"input_tokens", "output_tokens"}


# -- max_tokens -------------------------------------------------------------------------


async def test_max_tokens_truncates_alike_in_both_forms(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    request = body([user("one two three four five")], max_tokens=3)
    _, plain = await post(session, server, request)
    same_answer(plain, await stream(session, server, request))
    assert plain["stop_reason"] == "max_tokens"
    assert plain["content"] == [{"type": "text", "text": "one two three "}]
    assert plain["usage"]["output_tokens"] == 3
    tool = Reply.tool_uses([("t", {"k": "v" * 40})], text="a b")
    server.queue(tool)
    _, cut = await post(session, server, body([user("x")], max_tokens=3))
    assert cut["content"] == [{"type": "text", "text": "a b"}]  # no half tool_use block
    assert cut["stop_reason"] == "max_tokens"


# -- models pagination through the SDK --------------------------------------------------


async def test_sdk_models_pagination() -> None:
    models = [f"claude-fake-{i:02d}" for i in range(25)]
    async with FakeServer(models=models) as fake:
        sdk = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test", max_retries=0)
        page = await sdk.models.list(limit=10)
        assert [m.id for m in page.data] == models[:10] and page.has_more
        walked = [m.id async for m in sdk.models.list(limit=10)]
        assert walked == models
        back = await sdk.models.list(limit=5, before_id=models[10])
        assert [m.id for m in back.data] == models[5:10] and back.has_more
        await sdk.close()
