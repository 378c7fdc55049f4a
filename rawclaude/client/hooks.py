"""Hooks: what the pipeline tells observers, as typed records.

Two moments of every call (``create``, a stream, ``request()``) are observable:

* :class:`RequestRecord` -- an attempt is about to be sent (one per attempt,
  retries included);
* :class:`CallRecord` -- the call is finished, once, whatever the outcome: the
  result was decoded, the stream was read to its end, closed early or
  abandoned, or the call failed. This is the pipeline's one completion point.

A hook is any object with an ``on_request(record)``, ``on_complete(record)``
and/or ``on_fallback(event)`` method (the last: a call moved to its next
fallback model; subclass :class:`Hook` to get no-op defaults). Hooks are called inline
and must be quick; one that raises is logged on the ``rawclaude.hooks`` logger
and never breaks the call. Records never hold a credential.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

from ..wire.errors import ConfigurationError
from ..wire.models import Usage
from ..wire.usage import TokenUsage, call_tokens

__all__ = ["CallKind", "CallRecord", "Hook", "HookSet", "RequestRecord", "hook_failed"]

log = logging.getLogger("rawclaude.hooks")

#: What a call is: ``"messages.create"``, ``"messages.stream"``,
#: ``"messages.count_tokens"``, ``"models.list"``, ``"request"`` (the raw path), ...
CallKind = str

_NO_TAGS: Mapping[str, str] = {}


class RequestRecord(msgspec.Struct, gc=False):
    """One attempt, just before it is sent.

    Build one with keywords; the pipeline passes its fields in order (one is
    made for every attempt, and msgspec matches positions faster).
    """

    kind: CallKind
    method: str
    url: str
    #: 0 for the first attempt, 1 for the first retry, ...
    attempt: int
    model: str | None = None
    tags: Mapping[str, str] = _NO_TAGS


class CallRecord(msgspec.Struct):
    """One finished call (the pipeline's completion point).

    Build one with keywords; the pipeline passes its fields in order (msgspec
    matches seventeen keywords in several times the time of seventeen positions).
    """

    kind: CallKind
    method: str
    url: str
    model: str | None
    #: True when the call delivered its result (for a stream: read to message_stop).
    ok: bool
    #: The HTTP status of the last response, None when none arrived.
    status: int | None
    #: Attempts sent (retries included); 0 when admission refused the call.
    attempts: int
    #: Seconds from the call's start to its end (for a stream: until it was released).
    latency: float
    #: Seconds from the call's start to the first content event of a stream.
    ttft: float | None = None
    #: Final usage, or for a stream closed early the last usage it reported.
    usage: Usage | None = None
    request_id: str | None = None
    #: The exception that ended the call, if any (a RawClaudeError, or
    #: CancelledError / a caller's exception that interrupted a stream).
    error: BaseException | None = None
    #: For a stream: how it ended ("complete", "closed", "abandoned", "error").
    end: str | None = None
    tags: Mapping[str, str] = _NO_TAGS
    #: Wall-clock Unix time the call started.
    started_at: float = 0.0
    #: The request parameters sent (Messages calls; after request stages such as
    #: redaction), for hooks that log content.
    request: Mapping[str, Any] | None = None
    #: The decoded result of a ``create``; for a stream read to its end, the final
    #: message when some hook of the call has ``content = True`` (it is built for them).
    response: Any = None

    @property
    def tokens(self) -> TokenUsage | None:
        """:attr:`usage` by billing category (what the meter and the log price),
        computed when first asked for and shared by the call's observers."""
        return call_tokens(self.usage)

    @property
    def error_type(self) -> str | None:
        """The class name of :attr:`error`, for logs and metrics."""
        return None if self.error is None else type(self.error).__name__


class Hook:
    """Base class with no-op methods; override either or both."""

    def on_request(self, record: RequestRecord) -> None:
        """An attempt is about to be sent."""

    def on_complete(self, record: CallRecord) -> None:
        """A call finished (success or error)."""

    def on_fallback(self, event: Any) -> None:
        """A call moved to its next fallback model (a :class:`~rawclaude.FallbackEvent`)."""


class HookSet:
    """The bound methods of a sequence of hooks, split by moment, built once.

    The pipeline calls ``request`` and ``complete`` itself (a loop at each of
    its two moments, no call per moment), each in a ``try`` that passes what a
    method raises to :func:`hook_failed`.
    """

    __slots__ = ("complete", "content", "fallback", "hooks", "request")

    def __init__(self, hooks: Sequence[Any] = ()) -> None:
        self.hooks: tuple[Any, ...] = tuple(hooks)
        for hook in self.hooks:
            if not any(callable(getattr(hook, name, None)) for name in _MOMENTS):
                raise ConfigurationError(
                    f"hooks: {hook!r} has none of on_request(), on_complete(), on_fallback()"
                )
        self.request = _methods(self.hooks, "on_request")
        self.complete = _methods(self.hooks, "on_complete")
        self.fallback = _methods(self.hooks, "on_fallback")
        #: Some hook looks at message content (``content = True``): a stream's
        #: final message is built for its CallRecord.
        self.content = any(getattr(h, "content", False) is True for h in self.hooks)

    def __bool__(self) -> bool:
        return bool(self.hooks)

    def plus(self, more: Sequence[Any] | None) -> HookSet:
        """These hooks followed by ``more`` (a call's own)."""
        if not more:
            return self
        return HookSet((*self.hooks, *more))

    def emit_fallback(self, event: Any) -> None:
        for method in self.fallback:
            try:
                method(event)
            except Exception:  # a hook never breaks the call
                hook_failed(method)


_MOMENTS = ("on_request", "on_complete", "on_fallback")


def _methods(hooks: tuple[Any, ...], name: str) -> tuple[Callable[[Any], None], ...]:
    # A Hook subclass's inherited no-op is left out: the pipeline builds no
    # RequestRecord for a set of hooks none of which looks at one.
    noop = getattr(Hook, name)
    found = (getattr(h, name, None) for h in hooks if getattr(type(h), name, None) is not noop)
    return tuple(m for m in found if callable(m))


def hook_failed(method: Callable[[Any], None]) -> None:
    """A hook raised: log it (with its traceback) and go on; it never breaks the call."""
    log.warning("rawclaude: hook %r raised; ignored", method, exc_info=True)


#: The empty hook set (shared; immutable).
NO_HOOKS = HookSet()
