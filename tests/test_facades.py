"""The official SDK's names for the layer-3 helpers: client.messages.tool_runner,
client.messages.parse and client.messages.parse_stream (issue 10 via issue 8)."""

from __future__ import annotations

import subprocess
import sys

import msgspec

import rawclaude
from rawclaude import Client
from rawclaude.testing import FakeServer, Reply

USER = [{"role": "user", "content": "Go."}]


class Answer(msgspec.Struct):
    city: str
    sunny: bool


async def test_messages_parse_and_parse_stream_decode_into_the_struct() -> None:
    async with FakeServer() as server, Client("k", base_url=server.base_url) as client:
        parsed = await client.messages.parse(
            output_format=Answer, model="m", max_tokens=256, messages=USER
        )
        assert isinstance(parsed.parsed_output, Answer)
        async with client.messages.parse_stream(
            output_format=Answer, model="m", max_tokens=256, messages=USER
        ) as stream:
            final = await stream.get_final_message()
        assert isinstance(final.parsed_output, Answer)
    sent = server.requests[0].json["output_config"]["format"]
    assert sent["type"] == "json_schema" and sent["schema"]["additionalProperties"] is False


async def test_messages_tool_runner_runs_the_loop() -> None:
    @rawclaude.tool
    def weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    async with FakeServer() as server, Client("k", base_url=server.base_url) as client:
        server.queue(Reply.tool_use("weather", {"city": "Paris"}), Reply.text("It is sunny."))
        runner = client.messages.tool_runner(
            tools=[weather], model="m", max_tokens=256, messages=USER
        )
        final = await runner.until_done()
    assert final.content[0].text == "It is sunny."  # type: ignore[union-attr]
    assert runner.calls[0].content == "sunny in Paris"


def test_the_facades_do_not_load_the_agents_layer_at_import() -> None:
    code = (
        "import sys, rawclaude; c = rawclaude.Client('k'); "
        "print(any(m.startswith('rawclaude.agents') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
