"""The floor for batch results: bare aiohttp, split on LF, msgspec into minimal Structs.

No checks, no CR handling, no size cap, no error mapping: what any Python
reader of a results file must at least do. The Structs hold what a caller
uses (custom_id, result type, the text, the token counts).
"""

from __future__ import annotations

import aiohttp
import msgspec


class Block(msgspec.Struct, gc=False):
    type: str
    text: str = ""


class Usage(msgspec.Struct, gc=False):
    input_tokens: int
    output_tokens: int


class Message(msgspec.Struct, gc=False):
    id: str
    model: str
    content: list[Block]
    usage: Usage
    stop_reason: str | None = None


class Result(msgspec.Struct, gc=False):
    type: str
    message: Message | None = None


class Line(msgspec.Struct, gc=False):
    custom_id: str
    result: Result


_LINE = msgspec.json.Decoder(Line)


async def read_results(base_url: str, batch_id: str, api_key: str) -> tuple[int, int]:
    """(results, output tokens summed) of a batch, read the cheapest way."""
    headers = {"x-api-key": api_key, "anthropic-version": "2023-06-01"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{base_url}/v1/messages/batches/{batch_id}") as resp:
            url = (await resp.json())["results_url"]
        count = tokens = 0
        buf = b""
        async with session.get(url) as resp:
            async for chunk in resp.content.iter_any():
                *lines, buf = (buf + chunk).split(b"\n")
                for line in map(_LINE.decode, lines):
                    count += 1
                    if line.result.message is not None:
                        tokens += line.result.message.usage.output_tokens
        if buf:
            line = _LINE.decode(buf)
            count += 1
    return count, tokens
