"""The Models API of the fake: ``GET /v1/models`` and ``GET /v1/models/{model_id}``.

Per the "List Models" reference: newest models first; a page is
``{"data": [...], "has_more", "first_id", "last_id"}``; ``limit`` (1..1000,
default 20) and the cursors ``after_id`` / ``before_id`` select the page. A
model object has ``type: "model"``, ``id``, ``display_name`` and ``created_at``
(RFC 3339).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._checks import ApiError

DEFAULT_MODELS: tuple[dict[str, Any], ...] = (
    {
        "id": "claude-opus-4-6",
        "display_name": "Claude Opus 4.6",
        "created_at": "2026-02-05T00:00:00Z",
    },
    {
        "id": "claude-sonnet-4-6",
        "display_name": "Claude Sonnet 4.6",
        "created_at": "2026-02-17T00:00:00Z",
    },
    {
        "id": "claude-haiku-4-5-20251001",
        "display_name": "Claude Haiku 4.5",
        "created_at": "2025-10-01T00:00:00Z",
    },
)


def model_object(entry: str | Mapping[str, Any]) -> dict[str, Any]:
    """A full model object from an id or a partial mapping."""
    fields: dict[str, Any] = {"id": entry} if isinstance(entry, str) else dict(entry)
    if "id" not in fields:
        raise ValueError("a model entry needs an id")
    model = {
        "type": "model",
        "id": fields["id"],
        "display_name": fields["id"],
        "created_at": "2025-01-01T00:00:00Z",
        "lifecycle": "active",
        "max_input_tokens": 200_000,
        "max_tokens": 64_000,
    }
    model.update(fields)
    return model


class Catalog:
    def __init__(self, entries: Sequence[str | Mapping[str, Any]] | None = None) -> None:
        source = DEFAULT_MODELS if entries is None else entries
        self._models = [model_object(entry) for entry in source]
        self._index = {model["id"]: i for i, model in enumerate(self._models)}

    def get(self, model_id: str) -> dict[str, Any] | ApiError:
        if model_id not in self._index:
            return ApiError(404, "not_found_error", f"model: {model_id}")
        return self._models[self._index[model_id]]

    def page(self, query: Mapping[str, str]) -> dict[str, Any] | ApiError:
        limit = _limit(query.get("limit"))
        if isinstance(limit, ApiError):
            return limit
        start, stop = 0, len(self._models)
        if "after_id" in query:
            start = self._cursor(query["after_id"]) + 1
        if "before_id" in query:
            stop = self._cursor(query["before_id"])
        if start < 0 or stop < 0:
            return ApiError(400, "invalid_request_error", "unknown pagination cursor")
        if "before_id" in query and "after_id" not in query:
            # Paging backwards returns the items just before the cursor.
            start = max(start, stop - limit)
        data = self._models[start:stop][:limit]
        return {
            "data": data,
            "has_more": start + len(data) < stop or ("before_id" in query and start > 0),
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }

    def _cursor(self, model_id: str) -> int:
        return self._index.get(model_id, -2)


def _limit(raw: str | None) -> int | ApiError:
    if raw is None:
        return 20
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 1000:
        return ApiError(400, "invalid_request_error", "limit: must be between 1 and 1000")
    return limit
