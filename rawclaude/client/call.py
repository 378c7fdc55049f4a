"""What one call is (built by a resource) and how an attempt ended (seen by stages).

A :class:`Call` is everything the pipeline needs to send a request as often as
the retry policy allows: no credential (that is resolved per attempt), the body
already encoded (or a factory that streams it anew for each attempt).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from ..policy.timeouts import Timeout
from ..wire.errors import ConfigurationError
from ..wire.models import Usage
from ..wire.usage import TokenUsage, call_tokens
from .hooks import NO_HOOKS, CallKind, HookSet

if TYPE_CHECKING:
    from .pipeline import Pipeline

__all__ = ["BodySource", "Call", "Outcome", "encode_json"]

_ENCODER = msgspec.json.Encoder()


def encode_json(body: object, argument: str = "request parameters") -> bytes:
    """``body`` as JSON bytes; a ``ConfigurationError`` naming ``argument`` if it cannot be."""
    try:
        return _ENCODER.encode(body)
    except (TypeError, msgspec.EncodeError) as exc:
        raise ConfigurationError(f"{argument} are not JSON-serializable: {exc}") from None


#: A request body that is streamed: called once per attempt, so a retry sends
#: the whole body again (e.g. a file re-read from its start).
BodySource = Callable[[], AsyncIterable[bytes]]

_NO_TAGS: Mapping[str, str] = {}


class Call:
    """One call: method, URL, headers (without the credential), body, and its options."""

    __slots__ = (
        "body",
        "event_stream",
        "fallback_models",
        "headers",
        "hooks",
        "input_tokens",
        "kind",
        "limited",
        "max_tokens",
        "method",
        "model",
        "params",
        "pipeline",
        "tags",
        "timeout",
        "url",
    )

    def __init__(
        self,
        pipeline: Pipeline,
        kind: CallKind,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | BodySource | None,
        timeout: Timeout,
        *,
        params: dict[str, Any] | None = None,
        model: str | None = None,
        max_tokens: int = 0,
        input_tokens: int = 0,
        limited: bool = False,
        hooks: HookSet = NO_HOOKS,
        tags: Mapping[str, str] | None = None,
        event_stream: bool = False,
        fallback_models: tuple[str, ...] = (),
    ) -> None:
        self.pipeline = pipeline
        self.kind: CallKind = kind
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        #: The request parameters the body was encoded from (Messages calls),
        #: so a stage that re-runs the call (fallbacks) can change the model.
        self.params = params
        self.model = model
        #: What admission reserves: ``max_tokens`` and the estimated input (ints >= 0).
        self.max_tokens = max_tokens
        self.input_tokens = input_tokens
        #: Whether admission stages (limiter, budget, breaker) apply.
        self.limited = limited
        self.hooks = hooks
        self.tags = tags or _NO_TAGS
        #: A 200 must be ``text/event-stream`` (a Messages stream).
        self.event_stream = event_stream
        #: The models to move to, in order, when this one fails (see client.fallback).
        self.fallback_models = fallback_models

    def with_params(self, params: dict[str, Any], body: bytes) -> Call:
        """This call with other parameters and their encoded body (another model)."""
        model = params.get("model")
        return Call(
            self.pipeline,
            self.kind,
            self.method,
            self.url,
            self.headers,
            body,
            self.timeout,
            params=params,
            model=model if isinstance(model, str) else None,
            max_tokens=self.max_tokens,
            input_tokens=self.input_tokens,
            limited=self.limited,
            hooks=self.hooks,
            tags=self.tags,
            event_stream=self.event_stream,
            fallback_models=self.fallback_models,
        )

    def with_model(self, model: str) -> Call:
        """This call for another model (the body encoded anew)."""
        params = {**(self.params or {}), "model": model}
        return self.with_params(params, encode_json(params))

    def __repr__(self) -> str:
        # Never the headers nor the body (megabytes, and user content).
        return f"Call({self.kind} {self.method} {self.url})"


class Outcome(msgspec.Struct):
    """How one attempt ended, as admission stages see it when they are released.

    A Struct: one is built for every attempt that holds a ticket (by keywords;
    the pipeline's hot path passes its fields in order).
    """

    #: HTTP status of the response, None when none arrived.
    status: int | None = None
    #: What the API reported it used (None: unknown).
    usage: Usage | None = None
    error: BaseException | None = None
    #: The result was delivered whole (a stream: read to message_stop).
    complete: bool = False

    @property
    def tokens(self) -> TokenUsage | None:
        """:attr:`usage` by billing category (shared with the call's CallRecord)."""
        return call_tokens(self.usage)

    @property
    def nothing_generated(self) -> bool:
        """An HTTP error status: the API generated (and bills) nothing."""
        status = self.status
        return status is not None and status >= 400 and self.usage is None

    def __repr__(self) -> str:
        err = type(self.error).__name__ if self.error is not None else None
        return f"Outcome(status={self.status}, complete={self.complete}, error={err})"
