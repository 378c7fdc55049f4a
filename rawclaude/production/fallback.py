"""Fallback models and routing, as pipeline middleware.

``Client(middleware=[Fallbacks(["claude-sonnet-4-6", "claude-haiku-4-5"])])``: when the
model asked for fails with an overload or another 5xx *after its retries*, or
its circuit is open, the same call is run again with the next model. The
response's ``model`` says which one answered; every attempt reaches the hooks
(one record per model tried) and ``on_fallback`` sees each move. Per call:
``client.with_options(middleware=[Fallbacks([...])])`` (a cheap copy).

``Router(route)``: ``route(params) -> model | None`` picks the model before the
call is sent (a cheap model for short prompts, say); None keeps the caller's.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..client.call import Call
from ..client.resources import encode_json
from ..wire.errors import CircuitOpenError, ConfigurationError, InternalServerError

__all__ = ["FallbackEvent", "Fallbacks", "Router", "with_model"]

log = logging.getLogger("rawclaude")

Proceed = Callable[[Call], Awaitable[Any]]

#: What moves a call to the next model: an overload / 5xx after retries, an open circuit.
DEFAULT_TRIGGERS: tuple[type[BaseException], ...] = (InternalServerError, CircuitOpenError)


@dataclass(frozen=True, slots=True)
class FallbackEvent:
    from_model: str | None
    to_model: str
    error: BaseException


def with_model(call: Call, model: str) -> Call:
    """The same call for another model (the body encoded anew)."""
    params = {**(call.params or {}), "model": model}
    return call.with_params(params, encode_json(params))


def _models(models: Sequence[str]) -> tuple[str, ...]:
    if isinstance(models, str) or not all(isinstance(m, str) and m for m in models):
        raise ConfigurationError("fallback models must be a list of model ids")
    return tuple(models)


class Fallbacks:
    """Try the next model when one fails with one of ``on`` (see the module docs)."""

    def __init__(
        self,
        models: Sequence[str],
        *,
        on: tuple[type[BaseException], ...] = DEFAULT_TRIGGERS,
        on_fallback: Callable[[FallbackEvent], Any] | None = None,
    ) -> None:
        self.models = _models(models)
        self.on = on
        self.on_fallback = on_fallback

    async def __call__(self, call: Call, proceed: Proceed) -> Any:
        if call.params is None or call.model is None:
            return await proceed(call)  # not a Messages call
        chain = [call.model, *(m for m in self.models if m != call.model)]
        for i, model in enumerate(chain):
            current = call if i == 0 else with_model(call, model)
            try:
                return await proceed(current)
            except self.on as exc:
                if i + 1 == len(chain):
                    raise
                self._moved(FallbackEvent(model, chain[i + 1], exc))
        raise AssertionError("unreachable")  # pragma: no cover

    def _moved(self, event: FallbackEvent) -> None:
        log.warning("rawclaude: %s failed (%s); falling back to %s",
                    event.from_model, type(event.error).__name__, event.to_model)  # fmt: skip
        if self.on_fallback is not None:
            try:
                self.on_fallback(event)
            except Exception:
                log.warning("rawclaude: on_fallback raised; ignored", exc_info=True)


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
            call = with_model(call, model)
        return await proceed(call)
