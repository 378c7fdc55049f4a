"""Pure rules over a conversation's message list: turns, trimming, cache breakpoints.

A *turn* starts at a user message that carries no ``tool_result`` block and
runs up to the next such message: the user's text, the assistant's reply and
every tool_use / tool_result round trip in between. Trimming drops whole
turns from the front, so a ``tool_use`` never loses its ``tool_result`` (the
API refuses that, "How to implement tool use") and the history always starts
with a user message.

Prompt caching ("Prompt caching"): a ``cache_control`` marker on a block caches
the prefix up to and including it, in the order tools, system, messages; at
most 4 markers per request; ``ttl`` is "5m" (default) or "1h". The markers are
placed on copies: the stored history never carries them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import orjson

__all__ = [
    "MAX_BREAKPOINTS",
    "CacheTTL",
    "blocks_form",
    "cache_control",
    "count_breakpoints",
    "estimate_tokens",
    "is_turn_start",
    "mark_last_block",
    "merge_leading_users",
    "pending_tool_results",
    "turn_starts",
    "with_user_message",
]

#: "Prompt caching": up to 4 cache breakpoints per request.
MAX_BREAKPOINTS = 4
CacheTTL = Literal["5m", "1h"]
#: Bytes per token of the cheap estimate (English text and JSON average near 4).
_BYTES_PER_TOKEN = 4


def cache_control(ttl: CacheTTL) -> dict[str, str]:
    """The marker: 5 minutes is the API's default TTL, so it is left implicit."""
    return {"type": "ephemeral"} if ttl == "5m" else {"type": "ephemeral", "ttl": ttl}


def estimate_tokens(value: Any) -> int:
    """A cheap token estimate: one token per 4 bytes of the value's JSON."""
    return len(orjson.dumps(value)) // _BYTES_PER_TOKEN + 1


def _blocks(message: dict[str, Any]) -> list[Any]:
    content = message.get("content")
    return content if isinstance(content, list) else []


def is_turn_start(message: dict[str, Any]) -> bool:
    """A user message that answers no tool call: where a turn may begin."""
    if message.get("role") != "user":
        return False
    return not any(isinstance(b, dict) and b.get("type") == "tool_result" for b in _blocks(message))


def turn_starts(messages: Sequence[dict[str, Any]]) -> list[int]:
    """Indexes of the messages where a turn begins, in order."""
    return [i for i, m in enumerate(messages) if is_turn_start(m)]


def pending_tool_results(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Error results for the tool calls of a final assistant message nobody answered.

    A loop stopped by ``max_iterations`` (or ``max_tokens``) leaves such calls;
    the next request must answer them before anything else.
    """
    if not messages or messages[-1].get("role") != "assistant":
        return []
    return [
        {
            "type": "tool_result",
            "tool_use_id": block["id"],
            "content": "Not run: the tool loop stopped before this call.",
            "is_error": True,
        }
        for block in _blocks(messages[-1])
        if isinstance(block, dict) and block.get("type") == "tool_use"
    ]


def _as_blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content)


def blocks_form(message: dict[str, Any]) -> dict[str, Any]:
    """``message`` with a string content as one text block (the same to the API)."""
    content = message.get("content")
    if not isinstance(content, str):
        return message
    return {**message, "content": _as_blocks(content)}


def with_user_message(messages: Sequence[dict[str, Any]], content: Any) -> list[dict[str, Any]]:
    """``messages`` plus a user message, answering any pending tool calls first."""
    pending = pending_tool_results(messages)
    if not pending:
        return [*messages, {"role": "user", "content": content}]
    return [*messages, {"role": "user", "content": pending + _as_blocks(content)}]


def merge_leading_users(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join a kept first user message with the user message right after it.

    The API would combine consecutive user turns anyway; one message is plainer.
    """
    if len(messages) < 2 or messages[0].get("role") != "user" or messages[1].get("role") != "user":
        return messages
    joined = _as_blocks(messages[0]["content"]) + _as_blocks(messages[1]["content"])
    return [{"role": "user", "content": joined}, *messages[2:]]


def count_breakpoints(value: Any) -> int:
    """How many ``cache_control`` markers ``value`` (blocks, messages, tools) already has."""
    if isinstance(value, dict):
        own = 1 if "cache_control" in value else 0
        return own + sum(count_breakpoints(v) for k, v in value.items() if k != "cache_control")
    if isinstance(value, list):
        return sum(count_breakpoints(v) for v in value)
    return 0


def _cacheable(block: Any) -> bool:
    if not isinstance(block, dict) or "cache_control" in block:
        return False
    if block.get("type") in ("thinking", "redacted_thinking"):
        return False  # "Prompt caching": thinking blocks cannot be marked directly
    return not (block.get("type") == "text" and not block.get("text"))


def mark_last_block(message: dict[str, Any], marker: dict[str, str]) -> dict[str, Any] | None:
    """A copy of ``message`` with ``marker`` on its last block; None if it cannot take one."""
    blocks = _as_blocks(message.get("content", []))
    if not blocks or not _cacheable(blocks[-1]):
        return None
    blocks[-1] = {**blocks[-1], "cache_control": marker}
    return {**message, "content": blocks}


def mark_system(system: Any, marker: dict[str, str]) -> list[Any] | None:
    """The system prompt as blocks with ``marker`` on the last; None if it cannot take one."""
    if system is None:
        return None
    marked = mark_last_block({"content": system}, marker)
    return None if marked is None else list(marked["content"])
