"""The request checks the real API makes before it does any work. Pure functions.

- Auth ("Getting started" / "Authentication"): an ``x-api-key`` header, or
  ``Authorization: Bearer TOKEN``; otherwise 401 ``authentication_error``.
- Versioning ("Versions"): an ``anthropic-version`` header is required on every
  request; any value is accepted here, so clients of every version can connect.
- Messages and count_tokens bodies: ``model`` and a non-empty ``messages`` list,
  plus ``max_tokens`` for Messages; otherwise 400 ``invalid_request_error``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson


class ApiError(NamedTuple):
    """An error answer, before it is rendered with the request's id.

    ``error_code`` is the fine-grained reason the API puts in
    ``error.details.error_code`` (e.g. ``storage_quota_exceeded``); None: no details.
    """

    status: int
    error_type: str
    message: str
    error_code: str | None = None


def _invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_request_error", message)


def presented_credential(headers: Mapping[str, str]) -> str | None:
    """The API key or bearer token the request carries, if any."""
    key = headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def check_auth(headers: Mapping[str, str], expected: str | None) -> ApiError | None:
    credential = presented_credential(headers)
    if credential is None:
        return ApiError(401, "authentication_error", "x-api-key header is required")
    # Constant-time compare: a habit worth keeping even in a fake.
    if expected is not None and not hmac.compare_digest(credential, expected):
        return ApiError(401, "authentication_error", "invalid x-api-key")
    return None


def check_version(headers: Mapping[str, str]) -> ApiError | None:
    if not headers.get("anthropic-version", "").strip():
        return _invalid("anthropic-version: header is required")
    return None


def parse_json_body(raw: bytes) -> tuple[Any, ApiError | None]:
    """The parsed body, or the 400 the API gives for a body that is not a JSON object."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, _invalid(f"There was an error parsing the body: {exc}")
    if not isinstance(body, dict):
        return body, _invalid("The request body must be a JSON object")
    return body, None


def check_message_fields(body: dict[str, Any], *, need_max_tokens: bool) -> ApiError | None:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _invalid("model: Field required")
    if need_max_tokens:
        max_tokens = body.get("max_tokens")
        if max_tokens is None:
            return _invalid("max_tokens: Field required")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            return _invalid("max_tokens: Input should be a valid integer greater than 0")
    return _check_messages(body.get("messages"))


def _check_messages(messages: Any) -> ApiError | None:
    if messages is None:
        return _invalid("messages: Field required")
    if not isinstance(messages, list):
        return _invalid("messages: Input should be a valid list")
    if not messages:
        return _invalid("messages: at least one message is required")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return _invalid(f"messages.{index}.role: Input should be 'user' or 'assistant'")
        if "content" not in message:
            return _invalid(f"messages.{index}.content: Field required")
    return None
