"""The API's tool-use pairing rule, checked on every request. Pure.

"How to implement tool use": each ``tool_use`` block of an assistant turn must
have a ``tool_result`` block (same ``tool_use_id``) in the very next message,
which is a user message, and the tool results come first in its content. The
API answers 400 ``invalid_request_error`` otherwise, naming the ids.
"""

from __future__ import annotations

from typing import Any

from ._checks import ApiError


def _blocks(message: Any) -> list[Any]:
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, list) else []


def _tool_use_ids(message: Any) -> list[str]:
    return [
        str(block.get("id"))
        for block in _blocks(message)
        if isinstance(block, dict) and block.get("type") == "tool_use"
    ]


def _invalid(index: int, message: str) -> ApiError:
    return ApiError(400, "invalid_request_error", f"messages.{index}: {message}")


def _check_answer(index: int, expected: list[str], answer: Any) -> ApiError | None:
    """``answer`` (messages[index]) must open with a tool_result for each expected id."""
    if not isinstance(answer, dict) or answer.get("role") != "user":
        names = ", ".join(expected)
        return _invalid(
            index,
            f"tool_use ids were found without tool_result blocks immediately after: {names}. "
            "Each tool_use block must have a corresponding tool_result block in the next message.",
        )
    leading: list[str] = []
    for block in _blocks(answer):
        if not (isinstance(block, dict) and block.get("type") == "tool_result"):
            break
        leading.append(str(block.get("tool_use_id")))
    rest = _blocks(answer)[len(leading) :]
    later = [b for b in rest if isinstance(b, dict) and b.get("type") == "tool_result"]
    if later:
        return _invalid(index, "tool_result blocks must come first in the message content")
    unexpected = [tool_id for tool_id in leading if tool_id not in expected]
    if unexpected:
        return _invalid(
            index,
            f"unexpected tool_use_id found in tool_result blocks: {', '.join(unexpected)}. "
            "Each tool_result block must have a corresponding tool_use block in the previous "
            "message.",
        )
    missing = [tool_id for tool_id in expected if tool_id not in leading]
    if missing:
        return _invalid(
            index,
            f"tool_use ids were found without tool_result blocks immediately after: "
            f"{', '.join(missing)}. Each tool_use block must have a corresponding tool_result "
            "block in the next message.",
        )
    return None


def check_tool_results(messages: list[Any]) -> ApiError | None:
    """The first broken tool_use / tool_result pairing in ``messages``, if any.

    An assistant turn with tool_use as the LAST message is a prefill and has no
    answer yet; it is not checked.
    """
    for index, message in enumerate(messages[:-1]):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        expected = _tool_use_ids(message)
        if expected:
            error = _check_answer(index + 1, expected, messages[index + 1])
            if error is not None:
                return error
    return None
