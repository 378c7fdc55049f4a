"""``relay``: a ``MessageStream`` as server-sent events for a browser's ``EventSource``.

The pattern is "browser -> your backend -> Claude, streamed back as SSE": the
backend holds the API key, the browser gets only the text. What goes out::

    event: start   data: {"id": "msg_...", "model": "...", "request_id": "req_..."}
    event: text    data: <the text, as is: one data line per line>
    : heartbeat    (a comment, while the upstream is silent)
    event: done    data: {"stop_reason": ..., "stop_sequence": ..., "usage": {...}, ...}
    event: error   data: {"type": "RateLimitError", "message": "...", "request_id": ...}

A stream ends with exactly one ``done`` or one ``error``. ``EventSource``
reconnects by itself when a response ends, so a page closes it on either.
Text keeps its line breaks, except that CR and CRLF arrive as LF (the SSE
format cannot carry a CR; WHATWG HTML 9.2.6).

Only the public ``MessageStream`` API is used: its events are iterated.
One task (the pump) reads them into a buffer while the generator waits on
that buffer with a timer, so a heartbeat never cancels or restarts the
upstream read, and everything that arrived together leaves as one write.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator
from typing import Any, Protocol

import msgspec
import orjson

from ..wire.errors import APIError, APIStatusError, ConfigurationError, RawClaudeError
from ..wire.events import (
    ContentBlockDeltaEvent,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    StreamEvent,
    TextDelta,
)
from ..wire.sse_encode import HEARTBEAT, encode_event
from .stream import MessageStream

__all__ = ["StreamOpener", "relay"]

#: Events buffered before the pump stops reading (a browser slower than the API).
_BUFFER_LIMIT = 1024
#: A timer may fire this much before its time (the loop's clock resolution).
_TIMER_SLACK = 0.001


class StreamOpener(Protocol):
    """What ``client.messages.stream(...)`` returns: a stream not opened yet."""

    async def start(self) -> MessageStream: ...


def relay(
    stream: MessageStream | StreamOpener, *, heartbeat: float | None = 15.0
) -> AsyncGenerator[bytes, None]:
    """SSE-framed bytes of ``stream``, for a ``text/event-stream`` response.

    ``stream`` is an open ``MessageStream``, or what ``client.messages.stream(...)``
    returns (then opening it happens here, so a refused request, e.g. a 429 after
    the retries, also reaches the browser as an ``error`` event). ``heartbeat``:
    seconds of upstream silence before each heartbeat comment (None: never).

    The stream is closed when the generator ends, however it ends: call
    ``aclose()`` on it when the browser goes away (the ready handlers of
    ``rawclaude.web`` do), and the connection and limiter slot go back at once.
    Typed errors become the ``error`` event; anything else also gets an
    ``error`` event (without its message, which could hold anything) and is
    then raised.
    """
    if heartbeat is not None and not heartbeat > 0:
        raise ConfigurationError(f"heartbeat must be > 0 seconds or None, got {heartbeat!r}")
    return _relay(stream, heartbeat)


async def _relay(
    stream: MessageStream | StreamOpener, heartbeat: float | None
) -> AsyncGenerator[bytes, None]:
    pump = _Pump(stream)
    frames = _Frames()
    try:
        while True:
            if not await pump.wait(heartbeat):
                yield HEARTBEAT
                continue
            frames.request_id = pump.request_id
            out = frames.encode(pump.take())
            if pump.error is not None:
                out += frames.error(pump.error)
            if out:
                yield out
            if pump.error is not None and not isinstance(pump.error, RawClaudeError):
                raise pump.error
            if pump.finished:
                return
    finally:
        await pump.close()


class _Pump:
    """Reads the stream's events into a buffer, on its own task."""

    def __init__(self, source: MessageStream | StreamOpener) -> None:
        self._loop = asyncio.get_running_loop()
        self._items: deque[StreamEvent] = deque()
        self._stream: MessageStream | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._quiet_since = 0.0
        self._timeout = 0.0
        self.error: BaseException | None = None
        self.finished = False
        self._task = self._loop.create_task(self._run(source))

    @property
    def request_id(self) -> str | None:
        return None if self._stream is None else self._stream.request_id

    async def _run(self, source: MessageStream | StreamOpener) -> None:
        try:
            stream = source if isinstance(source, MessageStream) else await source.start()
            self._stream = stream
            items = self._items
            async for event in stream:
                items.append(event)
                self._wake()
                if len(items) >= _BUFFER_LIMIT:
                    self._room = self._loop.create_future()
                    await self._room
        except Exception as exc:  # handed to the generator: it decides what the browser sees
            self.error = exc
        finally:
            self.finished = True
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout: float | None) -> bool:
        """True when events or the end are there; False after ``timeout`` of silence.

        One timer per relay, not one per wait: it is armed when it is needed and,
        when it fires early (the consumer got events since), re-armed for the
        rest, so a busy stream costs no timer call per event.
        """
        if self._items or self.finished:
            return True
        loop = self._loop
        self._quiet_since = loop.time()
        if timeout is not None:
            self._timeout = timeout
            if self._timer is None:
                self._timer = loop.call_at(self._quiet_since + timeout, self._on_timer)
        self._waiter = waiter = loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None
        return bool(self._items) or self.finished

    def _on_timer(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # the consumer is busy; its next wait() arms the timer again
        due = self._quiet_since + self._timeout
        if self._loop.time() >= due - _TIMER_SLACK:
            waiter.set_result(None)  # silent for the whole heartbeat: time for one
        else:
            self._timer = self._loop.call_at(due, self._on_timer)

    def take(self) -> list[StreamEvent]:
        items = list(self._items)
        self._items.clear()
        room, self._room = self._room, None
        if room is not None and not room.done():
            room.set_result(None)
        return items

    async def close(self) -> None:
        """Stop reading and close the stream: its connection and limiter slot go back."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        task = self._task
        if not task.done():
            task.cancel()
            # Not re-raised: the pump's own cancellation. Ours, if any, is raised
            # by this await (gather propagates the cancellation of its caller).
            await asyncio.gather(task, return_exceptions=True)
        if self._stream is not None:
            await self._stream.close()


class _Frames:
    """Turns stream events into the relay's SSE frames, remembering what ``done`` reports."""

    def __init__(self) -> None:
        #: Set by the relay once the stream is open.
        self.request_id: str | None = None
        self.ended = False
        self._start: dict[str, Any] = {}
        self._usage: dict[str, Any] = {}
        self._delta: dict[str, Any] = {"stop_reason": None, "stop_sequence": None}

    def encode(self, events: list[StreamEvent]) -> bytes:
        out: list[bytes] = []
        text: list[str] = []
        index = -1
        for event in events:
            if isinstance(event, ContentBlockDeltaEvent) and isinstance(event.delta, TextDelta):
                if text and event.index != index:  # one text event per block at most
                    out.append(encode_event("".join(text), event="text"))
                    text = []
                index = event.index
                text.append(event.delta.text)
                continue
            if text:
                out.append(encode_event("".join(text), event="text"))
                text = []
            if isinstance(event, MessageStartEvent):
                out.append(self._on_start(event))
            elif isinstance(event, MessageDeltaEvent):
                self._on_delta(event)
            elif isinstance(event, MessageStopEvent):
                out.append(self._done())
        if text:
            out.append(encode_event("".join(text), event="text"))
        return b"".join(out)

    def _on_start(self, event: MessageStartEvent) -> bytes:
        message = event.message
        self._start = {"id": message.id, "model": message.model, "request_id": self.request_id}
        self._usage = _present(msgspec.to_builtins(message.usage))
        return encode_event(orjson.dumps(self._start), event="start")

    def _on_delta(self, event: MessageDeltaEvent) -> None:
        # message_delta usage is cumulative: its counts replace the earlier ones.
        self._usage.update(_present(msgspec.to_builtins(event.usage)))
        self._delta = {
            "stop_reason": event.delta.stop_reason,
            "stop_sequence": event.delta.stop_sequence,
        }

    def _done(self) -> bytes:
        self.ended = True
        body = {**self._delta, "usage": self._usage, **self._start}
        return encode_event(orjson.dumps(body), event="done")

    def error(self, exc: BaseException) -> bytes:
        """The ``error`` event (nothing once ``done`` went out: one ending only)."""
        if self.ended:
            return b""
        self.ended = True
        request_id = self.request_id
        body: dict[str, Any]
        if isinstance(exc, RawClaudeError):
            # Our messages never hold a credential (rawclaude.wire.errors).
            message = exc.message if isinstance(exc, APIError) else str(exc)
            body = {"type": type(exc).__name__, "message": message}
            if isinstance(exc, APIError):
                request_id = exc.request_id or request_id
            if isinstance(exc, APIStatusError):
                body["status_code"] = exc.status_code
        else:
            body = {"type": "InternalError", "message": "the relay failed (see the server log)"}
        body["request_id"] = request_id
        return encode_event(orjson.dumps(body), event="error")


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}
