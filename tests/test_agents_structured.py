"""parse / parse_stream: the schema the API accepts, typed results, typed failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import msgspec
import pytest

from rawclaude import (
    Client,
    ConfigurationError,
    OutputRefusedError,
    OutputTruncatedError,
    OutputValidationError,
    StructuredOutputError,
)
from rawclaude.agents.structured import ParsedMessage, api_schema, parse, parse_stream
from rawclaude.testing import FakeServer, Reply

USER = [{"role": "user", "content": "Extract the order."}]


class Item(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=20, description="Product name")]
    qty: Annotated[int, msgspec.Meta(ge=1)]


class Order(msgspec.Struct):
    items: Annotated[list[Item], msgspec.Meta(min_length=1)]
    status: Literal["open", "paid"]
    note: str | None = None


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    async with FakeServer() as srv:
        yield srv


@pytest.fixture
async def client(fake: FakeServer) -> AsyncIterator[Client]:
    async with Client("sk-fake", base_url=fake.base_url, max_retries=0) as c:
        yield c


def ask(**kw: Any) -> dict[str, Any]:
    return {"model": "claude-x", "max_tokens": 512, "messages": USER, **kw}


def test_schema_conversion_follows_the_api_subset() -> None:
    schema = api_schema(msgspec.json.schema(Order))
    assert "$ref" not in schema and schema["title"] == "Order"
    assert schema["additionalProperties"] is False
    item = schema["$defs"]["Item"]
    assert item["additionalProperties"] is False
    assert item["properties"]["name"] == {
        "type": "string",
        "description": "Product name (minLength: 1; maxLength: 20)",
    }
    assert item["properties"]["qty"] == {"type": "integer", "description": "(minimum: 1)"}
    assert schema["properties"]["items"]["minItems"] == 1  # 0 and 1 are supported
    raw = {
        "type": "object",
        "properties": {
            "tags": {
                "type": "array",
                "items": {"type": "string", "format": "color"},
                "minItems": 3,
            },
            "when": {"type": "string", "format": "date-time"},
        },
    }
    out = api_schema(raw)
    assert out["additionalProperties"] is False and "additionalProperties" not in raw
    tags = out["properties"]["tags"]
    assert tags["description"] == "(minItems: 3)" and "minItems" not in tags
    assert tags["items"] == {"type": "string", "description": "(format: color)"}
    assert out["properties"]["when"]["format"] == "date-time"


class Node(msgspec.Struct):
    children: list[Node]


class Loose(msgspec.Struct):
    extra: dict[str, int]


class Simple(msgspec.Struct):
    city: str
    days: int
    unit: Literal["c", "f"]


def test_schemas_the_api_cannot_take_are_refused_locally() -> None:
    with pytest.raises(ConfigurationError, match="recursive"):
        api_schema(msgspec.json.schema(Node))
    with pytest.raises(ConfigurationError, match=r"\$\.extra is a free-form object"):
        api_schema(msgspec.json.schema(Loose))


async def test_parse_sends_the_format_and_decodes_the_struct(
    fake: FakeServer, client: Client
) -> None:
    fake.queue(Reply.text('{"items": [{"name": "tea", "qty": 2}], "status": "paid"}'))
    parsed = await parse(client, output_format=Order, **ask(output_config={"effort": "low"}))
    assert isinstance(parsed, ParsedMessage)
    assert parsed.parsed_output == Order(items=[Item("tea", 2)], status="paid")
    assert parsed.stop_reason == "end_turn" and parsed.message.content == parsed.content
    sent = fake.requests[0].json["output_config"]
    assert sent["effort"] == "low"
    assert sent["format"] == {
        "type": "json_schema",
        "schema": api_schema(msgspec.json.schema(Order)),
    }


async def test_the_fake_servers_schema_reply_round_trips(fake: FakeServer, client: Client) -> None:
    # Unscripted, the fake answers with the smallest JSON valid under the schema we sent.
    parsed = await parse(client, output_format=Simple, **ask())
    assert parsed.parsed_output == Simple(city="", days=0, unit="c")
    # Order's minLength went into a description, which the fake does not read: the
    # constraint is still checked locally.
    with pytest.raises(OutputValidationError, match=r"length >= 1 - at `\$.items\[0\].name`"):
        await parse(client, output_format=Order, **ask())
    raw = await parse(
        client,
        output_format={
            "type": "object",
            "properties": {"a": {"type": "integer"}},
            "required": ["a"],
        },
        **ask(),
    )
    assert raw.parsed_output == {"a": 0}


async def test_refusal_and_max_tokens_keep_the_message_and_stop_reason(
    fake: FakeServer, client: Client
) -> None:
    fake.queue(Reply.refusal("I can't help with that."))
    with pytest.raises(OutputRefusedError) as refused:
        await parse(client, output_format=Order, **ask())
    assert refused.value.stop_reason == "refusal"
    assert refused.value.message.stop_reason == "refusal"
    assert refused.value.text == "I can't help with that."
    fake.queue(
        Reply.text('{"items": [{"name": "a long product name", "qty": 1}], "status": "open"}')
    )
    with pytest.raises(OutputTruncatedError) as cut:
        await parse(client, output_format=Order, **ask(max_tokens=3))
    assert cut.value.stop_reason == "max_tokens" and isinstance(cut.value, StructuredOutputError)
    assert cut.value.text and not cut.value.text.endswith("}")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Sure! Here it is.", "malformed"),
        ('{"items": [], "status": "paid"}', "Expected `array` of length >= 1"),
        ('{"items": [{"name": "", "qty": 1}], "status": "paid"}', "length >= 1"),
        ('{"items": [{"name": "x", "qty": 0}], "status": "paid"}', ">= 1 - at `$.items[0].qty`"),
    ],
)
async def test_output_that_does_not_validate_raises_with_the_text(
    fake: FakeServer, client: Client, text: str, says: str
) -> None:
    fake.queue(Reply.text(text))
    with pytest.raises(OutputValidationError, match="does not match the schema") as info:
        await parse(client, output_format=Order, **ask())
    assert info.value.text == text and says in str(info.value)
    assert info.value.stop_reason == "end_turn"


async def test_parse_stream_parses_at_the_end(fake: FakeServer, client: Client) -> None:
    body = '{"items": [{"name": "jam", "qty": 3}], "status": "open", "note": "hi"}'
    fake.queue(Reply.text(body))
    async with parse_stream(client, output_format=Order, **ask()) as stream:
        pieces = [t async for t in stream.text_stream]
        parsed = await stream.get_final_message()
    assert "".join(pieces) == body and len(pieces) > 1
    assert parsed.parsed_output == Order([Item("jam", 3)], "open", "hi")
    assert fake.requests[0].json["stream"] is True
    fake.queue(Reply.refusal())
    async with parse_stream(client, output_format=Order, **ask()) as stream:
        events = [e async for e in stream]
        with pytest.raises(OutputRefusedError):
            await stream.get_final_message()
    assert events[-1].type == "message_stop"


async def test_caller_mistakes(client: Client) -> None:
    with pytest.raises(ConfigurationError, match=r"output_config\.format"):
        await parse(client, output_format=Order, **ask(output_config={"format": {}}))
    with pytest.raises(ConfigurationError, match="output_format"):
        await parse(client, output_format=object, **ask())
