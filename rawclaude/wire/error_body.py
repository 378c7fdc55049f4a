"""Typed errors from what a server sent (layer 0, pure): an error response, an
``error`` event inside a 200 stream.

An error body is decoded once, by msgspec, into plain builtins; the typed
fields are read from that. msgspec (not orjson) because it accepts every JSON
number (``1e400``, a 400-digit integer) and string the API could send, and
because every way decoding can fail -- bad JSON, nesting deep enough to raise
``RecursionError`` -- must still end in the typed error of the status, never
in an exception from a JSON library (docs: "Errors": ``{"type": "error",
"error": {"type": ..., "message": ..., "details": {"error_code": ...}},
"request_id": ...}``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import msgspec

from .errors import (
    SPEND_LIMIT_ERROR_CODES,
    APIResponseValidationError,
    APIStatusError,
    SpendLimitError,
    error_class_for_type,
    printable,
    status_error_class,
)

__all__ = ["decode_json", "error_from_event", "error_from_response", "try_decode_json"]

_DECODER = msgspec.json.Decoder()
_INVALID: Any = object()
#: How much of a non-JSON error body the message quotes.
_SNIPPET = 300


def try_decode_json(data: bytes | str) -> Any:
    """``data`` as JSON builtins, or the sentinel ``_INVALID`` when it is not JSON we can hold.

    msgspec first; the standard library's parser for what msgspec refuses but is
    JSON all the same (``1e400``, an escaped lone surrogate). Error paths only.
    """
    try:
        return _DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return _INVALID


def decode_json(data: bytes | str, what: str) -> Any:
    """``data`` as JSON builtins; ``APIResponseValidationError`` (with the bytes) if not."""
    try:
        return _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise APIResponseValidationError(f"invalid JSON in {what}: {exc}", data=data) from None
    except RecursionError:
        raise APIResponseValidationError(f"{what} is nested too deeply", data=data) from None


def _fields(body: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """(type, message, error_code, request_id) of an API error object, where present."""
    if not isinstance(body, dict):
        return None, None, None, None
    error = body.get("error")
    if not isinstance(error, dict):
        return None, None, None, None
    kind, message = error.get("type"), error.get("message")
    details = error.get("details")
    code = details.get("error_code") if isinstance(details, dict) else None
    rid = body.get("request_id")
    return (
        kind if isinstance(kind, str) else None,
        message if isinstance(message, str) else "",
        code if isinstance(code, str) else None,
        rid if isinstance(rid, str) else None,
    )


def _class_for(cls: type[APIStatusError], code: str | None) -> type[APIStatusError]:
    if code in SPEND_LIMIT_ERROR_CODES:
        return SpendLimitError
    return cls


def error_from_response(
    status: int,
    reason: str | None,
    headers: Mapping[str, str],
    data: bytes,
    *,
    truncated: bool = False,
) -> APIStatusError:
    """The typed error of an HTTP error response, readable whatever its body is.

    ``truncated``: ``data`` is only the start of a body longer than the error
    body cap (it is then never valid JSON, and is quoted as text).
    """
    body = _INVALID if truncated else try_decode_json(data)
    kind, message, code, body_rid = _fields(body)
    request_id = headers.get("request-id") or body_rid
    if kind is None:
        snippet = data[:_SNIPPET].decode("utf-8", "replace").strip()
        message = f"HTTP {status} {reason or ''}".rstrip()
        if snippet:
            message += f": {snippet}"
        if truncated:
            message += " [body cut at the error body cap]"
        body = data.decode("utf-8", "replace") if data else None
    cls = _class_for(status_error_class(status), code)
    return cls(
        message or "",
        status_code=status,
        request_id=request_id,
        error_type=kind,
        error_code=code,
        body=body,
        headers={k.lower(): printable(v) for k, v in headers.items()},
    )


def error_from_event(
    error_type: str | None, message: str, data: bytes | str, request_id: str | None
) -> APIStatusError:
    """The typed error of an ``error`` event inside a 200 stream."""
    body = try_decode_json(data)
    _, _, code, body_rid = _fields(body)
    cls, status = error_class_for_type(error_type)
    return _class_for(cls, code)(
        message,
        status_code=status,
        request_id=request_id or body_rid,
        error_type=error_type,
        error_code=code,
        body=None if body is _INVALID else body,
        in_stream=True,
    )
