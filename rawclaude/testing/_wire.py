"""Wire-format helpers of the fake server: pure functions, no IO, no aiohttp.

Everything here is rebuilt from the public API documentation on purpose, never
imported from the rawclaude client, so that a misunderstanding in one of them
cannot hide the same misunderstanding in the other.

Sources (docs.claude.com / platform.claude.com):
- "Streaming Messages": each event is ``event: NAME`` + ``data: JSON`` + a blank
  line; ``message_start`` carries a Message with empty ``content``; usage in
  ``message_delta`` is cumulative.
- "Errors": ``{"type": "error", "error": {"type", "message"}, "request_id"}``
  and a ``request-id`` header (``req_...``) on every response.
- "Rate limits": ``anthropic-ratelimit-*-reset`` values are RFC 3339 times.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import orjson

# "Errors" doc: the error type each documented HTTP status uses.
ERROR_TYPE_BY_STATUS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

# The reverse direction, for an error scripted as a mid-stream event but served
# to a non-streaming request (which can only fail with an HTTP status).
STATUS_BY_ERROR_TYPE: dict[str, int] = {v: k for k, v in ERROR_TYPE_BY_STATUS.items()}

DEFAULT_ERROR_MESSAGES: dict[str, str] = {
    "invalid_request_error": "Invalid request",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low",
    "permission_error": "Your API key does not have permission to use this resource",
    "not_found_error": "Not found",
    "request_too_large": "Request exceeds the maximum allowed number of bytes",
    "rate_limit_error": "Rate limit exceeded",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "overloaded_error": "Overloaded",
}

# A word and the whitespace that follows it (leading whitespace stays with the
# first word), so the pieces concatenate back to the exact text.
_WORD = re.compile(r"\s*\S+\s*|\s+")


def error_type_for_status(status: int) -> str:
    """The documented error type for ``status``; other 4xx/5xx fall back as the doc says."""
    if status in ERROR_TYPE_BY_STATUS:
        return ERROR_TYPE_BY_STATUS[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def status_for_error_type(error_type: str) -> int:
    return STATUS_BY_ERROR_TYPE.get(error_type, 500)


def error_object(
    error_type: str, message: str, request_id: str | None = None, error_code: str | None = None
) -> dict[str, Any]:
    """The documented error shape; ``request_id`` is at the top level and the
    fine-grained reason, when there is one, in ``error.details.error_code``."""
    error: dict[str, Any] = {"type": error_type, "message": message}
    if error_code is not None:
        error["details"] = {"error_code": error_code}
    payload: dict[str, Any] = {"type": "error", "error": error}
    if request_id is not None:
        payload["request_id"] = request_id
    return payload


def error_body(
    error_type: str, message: str, request_id: str | None, error_code: str | None = None
) -> bytes:
    return orjson.dumps(error_object(error_type, message, request_id, error_code))


def sse_frame(event: str, data: Any) -> bytes:
    """One server-sent event as the API frames it: named event, one data line."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def error_event_frame(error_type: str, message: str) -> bytes:
    """The ``error`` event the API may send after HTTP 200 ("Streaming Messages")."""
    return sse_frame("error", {"type": "error", "error": {"type": error_type, "message": message}})


def usage_object(
    input_tokens: int, output_tokens: int, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``usage``: the two counts, plus the prompt-cache fields when the request used caching."""
    return {"input_tokens": input_tokens, "output_tokens": output_tokens, **(extra or {})}


def message_start_frame(message_id: str, model: str, usage: dict[str, Any]) -> bytes:
    """``message_start``: the Message with empty content and initial usage."""
    message = message_object(message_id, model, [], None, usage)
    return sse_frame("message_start", {"type": "message_start", "message": message})


def message_object(
    message_id: str,
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    usage: dict[str, Any],
) -> dict[str, Any]:
    """The Message object (non-streaming answers and batch results)."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "content": content,
        "model": model,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def message_json(
    message_id: str,
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str,
    usage: dict[str, Any],
) -> bytes:
    """The non-streaming Message object, assembled from the same content."""
    return orjson.dumps(message_object(message_id, model, content, stop_reason, usage))


def split_words(text: str) -> list[str]:
    """Word-sized pieces that join back to ``text`` exactly ("" gives no pieces)."""
    return _WORD.findall(text)


def estimate_input_tokens(body: dict[str, Any]) -> int:
    """A deterministic stand-in for token counting: one token per 4 bytes.

    Counted over the canonical JSON (sorted keys) of ``system``, ``messages`` and
    ``tools`` only, so ``/v1/messages`` and ``/v1/messages/count_tokens`` agree
    for the same prompt whatever else the two bodies carry.
    """
    prompt = {key: body[key] for key in ("system", "messages", "tools") if key in body}
    size = len(orjson.dumps(prompt, option=orjson.OPT_SORT_KEYS))
    return max(1, (size + 3) // 4)


def last_user_text(messages: list[Any]) -> str:
    """The text of the last user message: a string, or its text blocks joined by a space."""
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            texts = [
                block["text"]
                for block in content
                if isinstance(block, dict)
                and block.get("type") == "text"
                and isinstance(block.get("text"), str)
            ]
            return " ".join(texts)
        return ""
    return ""


def rfc3339(timestamp: float) -> str:
    """UTC time in RFC 3339, as the ``anthropic-ratelimit-*-reset`` headers carry it."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_ms(timestamp: float) -> str:
    """UTC time in RFC 3339 with milliseconds, as object timestamps (``created_at``) carry it."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
