"""Cursor pagination shared by the Models, Message Batches and Files lists. Pure.

Per the "List Models", "List Message Batches" and "List Files" references: items
come newest first; ``limit`` (1..1000, default 20) and the cursors ``after_id``
/ ``before_id`` select the page, which is ``{"data", "has_more", "first_id",
"last_id"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._checks import ApiError

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


def parse_limit(raw: str | None) -> int | ApiError:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        return ApiError(400, "invalid_request_error", f"limit: must be between 1 and {MAX_LIMIT}")
    return limit


def page_of(
    items: Sequence[Mapping[str, Any]], query: Mapping[str, str]
) -> dict[str, Any] | ApiError:
    """The page of ``items`` (newest first, each with an ``id``) that ``query`` asks for."""
    limit = parse_limit(query.get("limit"))
    if isinstance(limit, ApiError):
        return limit
    index = {item["id"]: i for i, item in enumerate(items)}
    start, stop = 0, len(items)
    if "after_id" in query:
        start = index.get(query["after_id"], -2) + 1
    if "before_id" in query:
        stop = index.get(query["before_id"], -1)
    if start < 0 or stop < 0:
        return ApiError(400, "invalid_request_error", "unknown pagination cursor")
    backwards = "before_id" in query and "after_id" not in query
    if backwards:
        # Paging backwards returns the items just before the cursor.
        start = max(start, stop - limit)
    data = list(items[start:stop][:limit])
    return {
        "data": data,
        "has_more": (start > 0) if backwards else start + len(data) < stop,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }
