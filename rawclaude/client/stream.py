"""MessageStream: drives the SSE parser, the event decoder and the accumulator
over one streaming response.

Retries that understand streams: an attempt is not done when the HTTP status
is 200, but when the first *content* event (a delta, ``message_delta`` or
``message_stop``) has arrived. Until then the events are held back (the
"prelude": ``message_start``, ``content_block_start``, ``ping``; a few
hundred bytes that arrive together) so that a connection drop, an early EOF or
a retryable ``error`` event in that window can be retried under the client's
policy without the caller ever seeing an event twice. After content has been
delivered, a failure is raised, never replayed.

The response and every admission ticket belong to a
:class:`~rawclaude.client.lease.StreamLease`, released exactly once on every way
out: the end, ``close()`` (also from another task while one iterates), an
exception, task cancellation, or -- never closed -- garbage collection (with a
``ResourceWarning``). A response not read to its end is closed, not returned
half-read to the pool. The iterators are plain objects over one shared buffer
(no async generators: closing one that another task is running fails, and a
``break`` out of one would otherwise strand its events).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import msgspec

from ..io import transport as _transport
from ..wire.accumulate import MessageAccumulator
from ..wire.error_body import error_from_event
from ..wire.errors import APIConnectionError, APIError, APIStatusError
from ..wire.events import (
    ContentBlockDeltaEvent,
    ErrorEvent,
    MessageDeltaEvent,
    MessageStopEvent,
    PingEvent,
    StreamEvent,
    TextDelta,
    _KnownEvent,
    decode_event,
)
from ..wire.models import Message, TextBlock
from ..wire.sse import DEFAULT_MAX_EVENT_SIZE, SSEParser
from .call import Call, Outcome
from .lease import StreamLease

if TYPE_CHECKING:
    import aiohttp


__all__ = ["MessageStream", "MessageStreamManager"]

#: Decodes a JSON array of events: one chunk's payloads joined with commas.
_EVENT_LIST_DECODER = msgspec.json.Decoder(list[_KnownEvent])

_CONTENT_EVENTS = (ContentBlockDeltaEvent, MessageDeltaEvent, MessageStopEvent)
#: Bytes we read past ``message_stop`` to return a connection to the pool warm.
_DRAIN_LIMIT = 64 * 1024
#: ... and how long we wait for the end of the body after ``message_stop``.
_DRAIN_TIMEOUT = 0.25


class MessageStream:
    """One streamed message: ``async for event in stream``, ``text_stream``,
    ``await get_final_message()``, ``await get_final_text()``."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._timeout = call.timeout
        self._lease: StreamLease | None = None
        self._closed = False
        self._reset(DEFAULT_MAX_EVENT_SIZE)

    def _reset(self, max_event_size: int) -> None:
        """The per-attempt state: a retried stream starts from nothing."""
        self._parser = SSEParser(max_event_size)
        self._acc = MessageAccumulator()
        #: Events decoded but not yet handed out, shared by every iterator.
        self._buf: list[StreamEvent] = []
        self._pos = 0
        #: Payloads that came with the prelude's last chunk, not yet decoded.
        self._pending_raw: list[bytes] = []
        self._failure: APIError | None = None
        #: The ``request-id`` of the response being streamed.
        self.request_id: str | None = None

    @classmethod
    async def open(cls, call: Call) -> MessageStream:
        """Connect and read up to the first content event, retrying as the policy allows."""
        stream = cls(call)
        return await call.pipeline.open_stream(call, stream._start)

    def __repr__(self) -> str:
        lease = self._lease
        released = lease is None or lease.released
        state = "done" if self._acc.finished else ("closed" if released else "open")
        return f"<MessageStream request_id={self.request_id!r} {state}>"

    @property
    def released(self) -> bool:
        """Whether the response and the admission tickets have been given back."""
        return self._lease is None or self._lease.released

    # -- one attempt -----------------------------------------------------------

    async def _start(self, lease: StreamLease) -> MessageStream:
        """Read one attempt's prelude; raising makes the pipeline retry (or give up)."""
        self._reset(self._call.pipeline.max_event_size)
        self._lease = lease
        self.request_id = lease.request_id
        try:
            await self._read_prelude(lease)
        except APIError as exc:
            if exc.request_id is None:
                exc.request_id = self.request_id
            self._failure = exc
            raise
        return self

    async def _read_prelude(self, lease: StreamLease) -> None:
        resp = lease.response
        assert resp is not None
        buf = self._buf
        while True:
            chunk = await _transport.read_chunk(resp, self._timeout)
            if not chunk:
                raise self._truncated("before any content")
            datas = self._parser.feed_data(chunk)
            for i, data in enumerate(datas):
                event = self._decode(data)
                if event.__class__ is PingEvent and buf and buf[-1].__class__ is PingEvent:
                    continue  # a long wait is all pings: one in a row is held, not a million
                buf.append(event)
                if isinstance(event, _CONTENT_EVENTS):
                    lease.first_content()
                    # What follows the first content event is handled as if it
                    # arrived later: an error there is raised, not retried.
                    self._pending_raw = datas[i + 1 :]
                    lease.tracker.usage = self._acc.usage()
                    return

    def _decode(self, data: bytes) -> StreamEvent:
        event = decode_event(data)
        if event.__class__ is ErrorEvent:
            raise self._event_error(event, data)
        self._acc.feed(event)
        return event

    def _decode_batch(self, datas: list[bytes]) -> list[StreamEvent]:
        """Decode and accumulate the events of one chunk (the hot loop).

        The chunk's data payloads are decoded in one msgspec call, as one JSON
        array: one C-level pass instead of a call per event. Anything unusual
        (a type from the future, bad JSON, a payload that is not one JSON
        value) falls back to decoding event by event.

        Never raises an API error: one (an ``error`` event, a stream that
        breaks the protocol) is kept in ``_failure``, raised by the next read,
        and the events before it are returned so they go out first.
        """
        try:
            joined = b"[" + b",".join(datas) + b"]"
            events: list[StreamEvent] = _EVENT_LIST_DECODER.decode(joined)  # type: ignore[assignment]
        except (msgspec.DecodeError, RecursionError):
            return self._decode_each(datas)
        if len(events) != len(datas):
            return self._decode_each(datas)
        done, error = self._acc.feed_many(events)
        if done == len(events):
            return events
        if error is not None:
            self._failure = error
        else:
            self._failure = self._event_error(events[done], datas[done])  # type: ignore[arg-type]
        return events[:done]

    def _decode_each(self, datas: list[bytes]) -> list[StreamEvent]:
        """The careful path: one event at a time, unknown types and typed errors."""
        out: list[StreamEvent] = []
        try:
            for data in datas:
                out.append(self._decode(data))
        except APIError as exc:
            self._failure = exc
        return out

    def _event_error(self, event: ErrorEvent, data: bytes) -> APIStatusError:
        error = event.error
        return error_from_event(
            error.type, error.message, data, self.request_id or event.request_id
        )

    def _truncated(self, where: str) -> APIConnectionError:
        return APIConnectionError(
            f"The stream ended {where}, before message_stop; the message is incomplete.",
            request_id=self.request_id,
        )

    # -- iteration ------------------------------------------------------------

    async def _next_batch(self) -> list[StreamEvent]:
        """The next events, in order; ``[]`` once the message is complete.

        Every consumer (events, ``text_stream``, ``until_done``) pulls from
        here, one chunk's worth at a time, so the accumulator sees each event
        exactly once whoever reads it.
        """
        try:
            if self._pending_raw:  # what came with the prelude's last chunk
                raw, self._pending_raw = self._pending_raw, []
                batch = self._decode_batch(raw)
                if batch or self._failure is None:
                    return batch
            batch = await self._read_batch()
            lease = self._lease
            if lease is not None:
                lease.tracker.usage = self._acc.usage()
                if not batch and not lease.released:
                    # Complete: the batch with message_stop went out already;
                    # now give the connection back (never delaying those events).
                    await self._finish(lease)
            return batch
        except BaseException as exc:
            self._fail(exc)
            raise

    async def _read_batch(self) -> list[StreamEvent]:
        if self._failure is not None:
            raise self._failure
        if self._acc.finished:
            return []
        lease = self._lease
        resp = None if lease is None else lease.response
        if resp is None:
            raise self._truncated("because it was closed early")
        feed, timeout = self._parser.feed_data, self._timeout
        while True:
            chunk = await _transport.read_chunk(resp, timeout)
            if not chunk:
                raise self._truncated("mid-message")
            datas = feed(chunk)
            if datas:
                batch = self._decode_batch(datas)
                if not batch and self._failure is not None:
                    raise self._failure
                return batch

    async def _fill(self) -> bool:
        """Refill the shared buffer; False at the end (or once closed by the caller)."""
        try:
            batch = await self._next_batch()
        except APIConnectionError:
            if self._closed:
                return False  # close() from another task: the iteration just ends
            raise
        self._buf, self._pos = batch, 0
        return bool(batch)

    def __aiter__(self) -> MessageStream:
        return self

    async def __anext__(self) -> StreamEvent:
        pos = self._pos
        if pos < len(self._buf) or await self._fill():
            pos = self._pos
            self._pos = pos + 1
            return self._buf[pos]
        raise StopAsyncIteration

    def _fail(self, exc: BaseException) -> None:
        """Release everything; remember API errors so later reads raise them again."""
        if isinstance(exc, APIError):
            if exc.request_id is None:
                exc.request_id = self.request_id
            if not self._closed:
                self._failure = exc
        lease = self._lease
        if lease is not None:
            lease.fail(exc)

    async def _finish(self, lease: StreamLease) -> None:
        """Read the little left after ``message_stop`` so the connection can be reused.

        Bounded in bytes and in time: a peer that holds the end of the body
        gets its connection closed instead of delaying the caller.
        """
        resp = lease.response
        end = "complete"
        try:
            if resp is not None and not await asyncio.wait_for(self._drain(resp), _DRAIN_TIMEOUT):
                resp.close()
        except (APIError, asyncio.TimeoutError):
            if resp is not None:
                resp.close()
        outcome = Outcome(status=lease.tracker.status, usage=self._acc.usage(), complete=True)
        if self._call.hooks.content:
            lease.tracker.response = self._acc.message()  # for the hooks that log content
        lease.release(outcome, end)

    async def _drain(self, resp: aiohttp.ClientResponse) -> bool:
        """Read to the end of the body; False if it goes on past the drain limit."""
        drained = 0
        while drained <= _DRAIN_LIMIT:
            rest = await _transport.read_chunk(resp, self._timeout)
            if not rest:
                return True
            drained += len(rest)
        return False

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """The text of each ``text_delta``, as it arrives."""
        return _TextStream(self)

    async def until_done(self) -> None:
        """Consume the rest of the stream (raising what it raises)."""
        self._buf, self._pos = [], 0
        while await self._next_batch():
            pass

    async def get_final_message(self) -> Message:
        """The whole message, exactly as a non-streaming call would have returned it."""
        await self.until_done()
        message = self._acc.message()
        message._request_id = self.request_id  # type: ignore[attr-defined]
        return message

    async def get_final_text(self) -> str:
        """The text of all text blocks of the final message, joined.

        Raises ``RuntimeError`` when the message has no text block (as the
        official SDK does), rather than returning an empty string.
        """
        message = await self.get_final_message()
        texts = [b.text for b in message.content if isinstance(b, TextBlock)]
        if not texts:
            raise RuntimeError("the message has no text content block")
        return "".join(texts)

    def sse(self, *, heartbeat: float | None = 15.0) -> AsyncIterator[bytes]:
        """SSE-framed bytes for a browser (``text/event-stream``): text deltas,
        a final event with stop reason and usage, or an error event; a heartbeat
        comment while the upstream is silent. See :func:`rawclaude.relay`."""
        from .relay import relay  # relay builds on this module

        return relay(self, heartbeat=heartbeat)

    @property
    def current_message_snapshot(self) -> Message:
        """The message as accumulated so far (open blocks with their text so far)."""
        return self._acc.message()

    async def close(self) -> None:
        """Abandon the stream (idempotent): the response is closed, not reused.

        Safe from another task while one iterates: that iteration ends.
        """
        self._closed = True
        lease = self._lease
        if lease is not None and not lease.released:
            outcome = Outcome(status=lease.tracker.status, usage=self._acc.usage())
            lease.release(outcome, "closed")

    async def __aenter__(self) -> MessageStream:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()


class _TextStream:
    """``stream.text_stream``: the text deltas, from the stream's shared buffer."""

    __slots__ = ("_stream",)

    def __init__(self, stream: MessageStream) -> None:
        self._stream = stream

    def __aiter__(self) -> _TextStream:
        return self

    async def __anext__(self) -> str:
        stream = self._stream
        while True:
            buf, pos = stream._buf, stream._pos
            n = len(buf)
            while pos < n:
                event = buf[pos]
                pos += 1
                if event.__class__ is ContentBlockDeltaEvent:
                    delta = event.delta
                    if delta.__class__ is TextDelta:
                        stream._pos = pos
                        text: str = delta.text
                        return text
            stream._pos = pos
            if not await stream._fill():
                raise StopAsyncIteration


class MessageStreamManager:
    """What ``client.messages.stream(...)`` returns: ``async with ... as stream``."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._stream: MessageStream | None = None

    async def start(self) -> MessageStream:
        """Open the stream without ``async with``; the caller closes it."""
        return await MessageStream.open(self._call)

    async def __aenter__(self) -> MessageStream:
        self._stream = await self.start()
        return self._stream

    async def __aexit__(self, *exc_info: Any) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.close()
