"""Fallback models and routing, as pipeline middleware.

``Fallbacks`` lives in :mod:`rawclaude.client.fallback` (``Client(fallback_models=
[...])`` and the per-call argument use it); it is re-exported here beside the router.

``Router(route)``: ``route(params) -> model | None`` picks the model before the
call is sent (a cheap model for short prompts, say); None keeps the caller's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..client.call import Call
from ..client.fallback import DEFAULT_TRIGGERS, FallbackEvent, Fallbacks
from ..wire.errors import ConfigurationError

__all__ = ["DEFAULT_TRIGGERS", "FallbackEvent", "Fallbacks", "Router"]

Proceed = Callable[[Call], Awaitable[Any]]


class Router:
    """Choose the model per call: ``route(params) -> model | None``."""

    def __init__(self, route: Callable[[dict[str, Any]], str | None]) -> None:
        if not callable(route):
            raise ConfigurationError("route must be a callable params -> model")
        self.route = route

    async def __call__(self, call: Call, proceed: Proceed) -> Any:
        if call.params is None:
            return await proceed(call)
        model = self.route(call.params)
        if model is not None and model != call.model:
            if not isinstance(model, str) or not model:
                raise ConfigurationError(f"route returned {model!r}, not a model id")
            call = call.with_model(model)
        return await proceed(call)
