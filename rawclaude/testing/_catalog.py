"""The Models API of the fake: ``GET /v1/models`` and ``GET /v1/models/{model_id}``.

Per the "List Models" reference: newest models first, paged as ``_pages``
describes (``limit``, ``after_id``, ``before_id``). A model object has
``type: "model"``, ``id``, ``display_name`` and ``created_at`` (RFC 3339).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._checks import ApiError
from ._pages import page_of

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
        return page_of(self._models, query)
