"""@rawclaude.tool: schema from the signature and docstring, validation, results, errors."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Annotated, Any, Literal

import msgspec
import pytest

import rawclaude
from rawclaude import ConfigurationError, ToolError
from rawclaude.agents.tools import Tool, ToolResult, tool, tool_result_content
from rawclaude.types import TextBlock


class Point(msgspec.Struct):
    x: int
    y: Annotated[float, msgspec.Meta(ge=0)] = 0.0


@tool
def plot(
    points: list[Point],
    color: Literal["red", "blue"] = "red",
    label: str | None = None,
    scale: float = 1.0,
    tags: dict[str, int] = {"a": 1},  # noqa: B006 - a default the tool copies per call
    closed: bool = False,
) -> dict[str, Any]:
    """Plot some points.

    Draws them in order.

    Args:
        points: The points to draw,
            in drawing order.
        color: Line colour.
        label (str): A caption.

    Returns:
        A summary.
    """
    tags["seen"] = len(points)
    return {"n": len(points), "color": color, "label": label, "scale": scale, "tags": tags}


def test_definition_from_signature_and_docstring() -> None:
    d = plot.definition
    assert d["name"] == "plot"
    assert d["description"] == "Plot some points.\n\nDraws them in order."
    schema = d["input_schema"]
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["required"] == ["points"]
    props = schema["properties"]
    assert props["points"]["description"] == "The points to draw, in drawing order."
    assert props["points"]["items"] == {"$ref": "#/$defs/Point"}
    assert props["color"] == {
        "description": "Line colour.",
        "enum": ["blue", "red"],
        "default": "red",
    }
    assert props["label"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert props["label"]["description"] == "A caption."
    assert props["scale"] == {"type": "number", "default": 1.0}
    assert props["closed"] == {"type": "boolean", "default": False}
    assert props["tags"]["additionalProperties"] == {"type": "integer"}
    assert schema["$defs"]["Point"]["properties"]["y"]["minimum"] == 0
    assert "title" not in schema


def test_sphinx_params_and_overrides() -> None:
    @tool(name="lookup-v2", description="Look a word up.")
    async def lookup(word: str, limit: int = 3) -> str:
        """Ignored.

        :param word: the word
        :param int limit: how many
        """
        return word

    assert lookup.name == "lookup-v2"
    assert lookup.definition["description"] == "Look a word up."
    props = lookup.input_schema["properties"]
    assert props["word"]["description"] == "the word"
    assert props["limit"]["description"] == "how many"
    assert isinstance(lookup, Tool) and rawclaude.tool is tool


async def test_valid_input_is_decoded_into_the_types() -> None:
    result = await plot.run({"points": [{"x": 1, "y": 2.5}, {"x": 3}], "color": "blue"})
    assert result == ToolResult(
        '{"n":2,"color":"blue","label":null,"scale":1.0,"tags":{"a":1,"seen":2}}'
    )
    again = await plot.run({"points": []})  # the dict default is fresh each call
    assert msgspec.json.decode(again.content)["tags"] == {"a": 1, "seen": 0}


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({}, "missing required field `points`"),
        ({"points": [{"x": "one"}]}, "Expected `int`, got `str` - at `$.points[0].x`"),
        ({"points": [{"x": 1, "y": -1}]}, ">= 0.0 - at `$.points[0].y`"),
        ({"points": [], "color": "green"}, "Invalid enum value 'green' - at `$.color`"),
        ({"points": [], "extra": 1}, "unknown field `extra`"),
        ("not an object", "Expected `object`, got `str`"),
    ],
)
async def test_invalid_input_is_an_error_result_that_says_why(bad: Any, says: str) -> None:
    result = await plot.run(bad)
    assert result.is_error
    assert isinstance(result.content, str) and says in result.content
    assert result.content.startswith("Invalid input for tool 'plot'")


async def test_tool_error_and_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cr3t-local"

    @tool
    async def chooses(kind: str) -> str:
        """Fails on purpose."""
        token = secret  # a local that must not reach the model
        if kind == "tool":
            raise ToolError([{"type": "text", "text": "no such user"}])
        raise KeyError(f"missing {kind} ({len(token)})")

    chosen = await chooses.run({"kind": "tool"})
    assert chosen == ToolResult([{"type": "text", "text": "no such user"}], is_error=True)
    with caplog.at_level(logging.WARNING, logger="rawclaude.tools"):
        crashed = await chooses.run({"kind": "x"})
    assert crashed == ToolResult("KeyError: 'missing x (12)'", is_error=True)
    assert "Traceback" not in crashed.content and secret not in crashed.content
    assert any("chooses" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_results_str_json_blocks_and_unencodable() -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "AA=="},
    }
    assert tool_result_content("plain") == "plain"
    assert tool_result_content({"a": [1, None]}) == '{"a":[1,null]}'
    assert tool_result_content(Point(1)) == '{"x":1,"y":0.0}'
    assert tool_result_content(None) == "null"
    assert tool_result_content([]) == "[]"
    assert tool_result_content(image) == [image]
    assert tool_result_content([{"type": "text", "text": "a"}, image]) == [
        {"type": "text", "text": "a"},
        image,
    ]
    assert tool_result_content(TextBlock(text="t")) == [{"type": "text", "text": "t"}]

    @tool
    def odd() -> object:
        """Returns something JSON cannot hold."""
        return object()

    result = await odd.run({})
    assert result.is_error and "cannot be encoded as JSON" in str(result.content)


async def test_sync_tools_run_in_a_thread_unless_told_not_to() -> None:
    @tool
    def where() -> str:
        """Thread name."""
        return threading.current_thread().name

    @tool(thread=False)
    def here() -> str:
        """Thread name."""
        return threading.current_thread().name

    assert (await where.run({})).content != threading.current_thread().name
    assert (await here.run({})).content == threading.current_thread().name
    assert where() == threading.current_thread().name  # still a plain function


async def test_cancellation_propagates() -> None:
    started = asyncio.Event()

    @tool
    async def slow() -> str:
        """Sleeps."""
        started.set()
        await asyncio.sleep(10)
        return "never"

    task = asyncio.ensure_future(slow.run({}))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_definition_mistakes_are_configuration_errors() -> None:
    def untyped(x):  # type: ignore[no-untyped-def]
        """No annotation."""

    def star(*args: int) -> None:
        """Star args."""

    with pytest.raises(ConfigurationError, match="'x' needs a type annotation"):
        tool(untyped)
    with pytest.raises(ConfigurationError, match="'args' must be a plain"):
        tool(star)
    with pytest.raises(ConfigurationError, match="tool name 'has space'"):
        tool(name="has space")(star)
