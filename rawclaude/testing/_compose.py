"""From a request body and a ``Reply`` to what the answer says. Pure, no aiohttp.

Shared by ``POST /v1/messages`` and Message Batches results, so a batch
request gets exactly the answer the same body would get on its own:

1. ``validate``: the checks that come before any reply is chosen (the tool_use /
   tool_result pairing, the prompt-cache breakpoints).
2. ``resolve``: an echo reply becomes content (JSON conforming to the schema when
   the request asks for structured outputs), then ``max_tokens`` cuts it.
3. ``usage_for``: input tokens, and the prompt-cache fields when the request has
   breakpoints.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from ._blocks import Block, TextBlock, ThinkingBlock, text_block
from ._cache import Breakpoint, PromptCache, breakpoints
from ._checks import ApiError
from ._render import Content
from ._reply import Reply
from ._schema import instance_of
from ._toolcheck import check_tool_results
from ._wire import estimate_input_tokens, last_user_text

# The default reply to a last user message without any text (e.g. tool results).
EMPTY_ECHO = "OK"
_JSON_PIECE = 16


def validate(body: dict[str, Any], *, tool_results: bool) -> list[Breakpoint] | ApiError:
    """The request's cache breakpoints, or the 400 the API would give first."""
    if tool_results:
        error = check_tool_results(body["messages"])
        if error is not None:
            return error
    return breakpoints(body, estimate_input_tokens(body))


def output_schema(body: dict[str, Any]) -> Any:
    """The JSON schema of ``output_config.format`` ("Structured outputs"), if any."""
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if fmt is None:
        fmt = body.get("output_format")  # the earlier beta spelling
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return fmt.get("schema", {})
    return None


def structured_content(schema: Any) -> Content:
    text = orjson.dumps(instance_of(schema)).decode()
    pieces = [text[i : i + _JSON_PIECE] for i in range(0, len(text), _JSON_PIECE)]
    return Content((text_block(deltas=pieces),))


def resolve(reply: Reply, body: dict[str, Any], echo: Content | None, *, cut: bool) -> Reply:
    """``reply`` with its content decided; ``echo`` is the echo content to use, if any."""
    if reply.kind == "echo":
        schema = output_schema(body)
        content = structured_content(schema) if schema is not None else echo
        reply = dataclasses.replace(reply, kind="message", content=content)
    if cut and reply.content is not None and reply.content.output_tokens is None:
        limit = body.get("max_tokens")
        if isinstance(limit, int) and reply.content.rendered().output_tokens > limit:
            reply = dataclasses.replace(reply, content=truncate(reply.content, limit))
    return reply


def echo_text(body: dict[str, Any]) -> str:
    return last_user_text(body["messages"]) or EMPTY_ECHO


def truncate(content: Content, max_tokens: int) -> Content:
    """The content cut to ``max_tokens`` deltas (one output token each), stop_reason max_tokens.

    Text and thinking blocks are cut between deltas; a tool_use block that does
    not fit whole is left out, so every kept block is well-formed.
    """
    kept: list[Block] = []
    budget = max_tokens
    for block in content.blocks:
        size = len(block.delta_objects())
        if size <= budget:
            kept.append(block)
            budget -= size
            continue
        if isinstance(block, TextBlock) and budget > 0:
            kept.append(TextBlock(block.deltas[:budget]))
        elif isinstance(block, ThinkingBlock) and budget > 1:
            kept.append(dataclasses.replace(block, deltas=block.deltas[: budget - 1]))
        break
    return Content(tuple(kept), "max_tokens")


def usage_for(
    body: dict[str, Any], reply: Reply, points: list[Breakpoint], cache: PromptCache
) -> tuple[int, dict[str, Any]]:
    """(input_tokens, extra usage fields) for a message answer."""
    total = estimate_input_tokens(body)
    if not points:
        return (total if reply.input_tokens is None else reply.input_tokens), {}
    uncached, fields = cache.use(points, total)
    return (uncached if reply.input_tokens is None else reply.input_tokens), fields
