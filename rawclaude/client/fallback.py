"""Fallback models: when a call's model fails, the same call with the next one.

``Client(fallback_models=[...])``, per call ``messages.create(...,
fallback_models=[...])`` (``[]`` turns the client's off for that call), or
the :class:`Fallbacks` middleware with its own triggers. A model moves on
when it fails with an overload or another 5xx *after its retries*, or when
its circuit is open (:class:`~rawclaude.CircuitOpenError`); a 4xx never
moves (the request, not the model, is wrong). The response's ``model`` says
which one answered; hooks get one :class:`~rawclaude.CallRecord` per model
tried and ``on_fallback(event)`` for each move.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..wire.errors import CircuitOpenError, ConfigurationError, InternalServerError
from .call import Call

__all__ = ["DEFAULT_TRIGGERS", "FallbackEvent", "Fallbacks", "check_fallback_models", "run"]

log = logging.getLogger("rawclaude")

Proceed = Callable[[Call], Awaitable[Any]]

#: What moves a call to the next model: an overload / 5xx after retries, an open circuit.
DEFAULT_TRIGGERS: tuple[type[BaseException], ...] = (InternalServerError, CircuitOpenError)


#: The calls that move: those that generate a message.
_MOVABLE = frozenset(("messages.create", "messages.stream"))


@dataclass(frozen=True, slots=True)
class FallbackEvent:
    """A call moved from one model to the next (what hooks' ``on_fallback`` get)."""

    from_model: str | None
    to_model: str
    error: BaseException
    kind: str = "messages.create"


def check_fallback_models(name: str, models: Any) -> tuple[str, ...]:
    """A list of model ids, or a ConfigurationError naming ``name``."""
    if models is None:
        return ()
    if isinstance(models, str) or not isinstance(models, Sequence):
        raise ConfigurationError(f"{name} must be a list of model ids, got {models!r:.60}")
    if not all(isinstance(m, str) and m for m in models):
        raise ConfigurationError(f"{name} must be a list of non-empty model ids")
    return tuple(models)


async def run(
    call: Call,
    proceed: Proceed,
    models: Sequence[str],
    *,
    on: tuple[type[BaseException], ...] = DEFAULT_TRIGGERS,
    on_fallback: Callable[[FallbackEvent], Any] | None = None,
) -> Any:
    """``proceed(call)``, then with each of ``models`` in turn while it fails with ``on``."""
    if call.model is None or call.params is None or call.kind not in _MOVABLE:
        return await proceed(call)  # not a message to generate (count_tokens, lists, ...)
    chain = [call.model, *(m for m in models if m != call.model)]
    for i, model in enumerate(chain):
        current = call if i == 0 else call.with_model(model)
        try:
            return await proceed(current)
        except on as exc:
            if i + 1 == len(chain):
                raise
            _moved(call, FallbackEvent(model, chain[i + 1], exc, call.kind), on_fallback)
    raise AssertionError("unreachable")  # pragma: no cover


def _moved(
    call: Call, event: FallbackEvent, on_fallback: Callable[[FallbackEvent], Any] | None
) -> None:
    log.warning("rawclaude: %s failed (%s); falling back to %s",
                event.from_model, type(event.error).__name__, event.to_model)  # fmt: skip
    call.hooks.emit_fallback(event)
    if on_fallback is not None:
        try:
            on_fallback(event)
        except Exception:
            log.warning("rawclaude: on_fallback raised; ignored", exc_info=True)


class Fallbacks:
    """Middleware: try the next of ``models`` when one fails with one of ``on``."""

    def __init__(
        self,
        models: Sequence[str],
        *,
        on: tuple[type[BaseException], ...] = DEFAULT_TRIGGERS,
        on_fallback: Callable[[FallbackEvent], Any] | None = None,
    ) -> None:
        self.models = check_fallback_models("models", models)
        self.on = on
        self.on_fallback = on_fallback

    async def __call__(self, call: Call, proceed: Proceed) -> Any:
        return await run(call, proceed, self.models, on=self.on, on_fallback=self.on_fallback)
