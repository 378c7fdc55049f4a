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

Every way out -- the end, ``break``, an exception, task cancellation --
releases the response and the limiter slot exactly once; a response that was
not read to its end is closed, not returned half-read to the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from ..io import transport as _transport
from ..policy.ratelimit import NOTHING_USED, usage_for_limiter
from ..policy.timeouts import Timeout
from ..wire.accumulate import MessageAccumulator
from ..wire.errors import APIConnectionError, APIError, APIStatusError, error_class_for_type
from ..wire.events import (
    ContentBlockDeltaEvent,
    ErrorEvent,
    MessageDeltaEvent,
    MessageStopEvent,
    StreamEvent,
    TextDelta,
    _KnownEvent,
    decode_event,
)
from ..wire.models import Message, TextBlock
from ..wire.sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEParser

if TYPE_CHECKING:
    import aiohttp

    from ..io.limiter import Reservation
    from .client import Client, PreparedRequest

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

    def __init__(self, client: Client, request: PreparedRequest, timeout: Timeout) -> None:
        self._client = client
        self._request = request
        self._timeout = timeout
        self._resp: aiohttp.ClientResponse | None = None
        self._reservation: Reservation | None = None
        self._iterator: AsyncIterator[StreamEvent] | None = None
        self._released = True
        self._reset(DEFAULT_MAX_EVENT_SIZE)

    def _reset(self, max_event_size: int) -> None:
        """The per-attempt state: a retried stream starts from nothing."""
        self._parser = SSEParser(max_event_size)
        self._acc = MessageAccumulator()
        self._pending: list[StreamEvent] = []
        self._pending_raw: list[ServerSentEvent] = []
        self._failure: APIError | None = None
        #: The ``request-id`` of the response being streamed.
        self.request_id: str | None = None

    @classmethod
    async def open(
        cls, client: Client, request: PreparedRequest, timeout: Timeout
    ) -> MessageStream:
        """Connect and read up to the first content event, retrying as the policy allows."""
        stream = cls(client, request, timeout)
        await client._retrying(stream._attempt)
        return stream

    def __repr__(self) -> str:
        state = "done" if self._acc.finished else ("closed" if self._released else "open")
        return f"<MessageStream request_id={self.request_id!r} {state}>"

    # -- one attempt -----------------------------------------------------------

    async def _attempt(self) -> None:
        self._reset(self._client.max_event_size)
        self._reservation = await self._client._reserve(self._request)
        self._released = False
        try:
            self._resp = await self._client._open(self._request, self._timeout, stream=True)
            self.request_id = self._resp.headers.get("request-id")
            await self._read_prelude(self._resp)
        except BaseException as exc:
            await self._fail(exc)
            raise

    async def _read_prelude(self, resp: aiohttp.ClientResponse) -> None:
        while True:
            chunk = await _transport.read_chunk(resp, self._timeout)
            if not chunk:
                raise self._truncated("before any content")
            events = self._parser.feed(chunk)
            for i, sse in enumerate(events):
                event = self._decode(sse.data)
                self._pending.append(event)
                if isinstance(event, _CONTENT_EVENTS):
                    # What follows the first content event is handled as if it
                    # arrived later: an error there is raised, not retried.
                    self._pending_raw = events[i + 1 :]
                    return

    def _decode(self, data: bytes) -> StreamEvent:
        event = decode_event(data)
        if event.__class__ is ErrorEvent:
            raise self._event_error(event, data)
        self._acc.feed(event)
        return event

    def _decode_batch(self, sses: list[ServerSentEvent]) -> list[StreamEvent]:
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
            joined = b"[" + b",".join([e.data for e in sses]) + b"]"
            events: list[StreamEvent] = _EVENT_LIST_DECODER.decode(joined)  # type: ignore[assignment]
        except msgspec.DecodeError:
            return self._decode_each(sses)
        if len(events) != len(sses):
            return self._decode_each(sses)
        feed = self._acc.feed
        event = None
        try:
            for event in events:
                if event.__class__ is ErrorEvent:
                    break
                feed(event)
            else:
                return events
            done = _index(events, event)
            self._failure = self._event_error(event, sses[done].data)
        except APIError as exc:
            done = _index(events, event)
            self._failure = exc
        return events[:done]

    def _decode_each(self, sses: list[ServerSentEvent]) -> list[StreamEvent]:
        """The careful path: one event at a time, unknown types and typed errors."""
        out: list[StreamEvent] = []
        try:
            for sse in sses:
                out.append(self._decode(sse.data))
        except APIError as exc:
            self._failure = exc
        return out

    def _event_error(self, event: ErrorEvent, data: bytes) -> APIStatusError:
        error_type = event.error.type
        cls, status = error_class_for_type(error_type)
        return cls(
            event.error.message,
            status_code=status,
            request_id=self.request_id or event.request_id,
            error_type=error_type,
            body=orjson.loads(data),  # all of it, fields we do not model included
            in_stream=True,
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
            if self._pending:  # the prelude, and what came with it
                batch, self._pending = self._pending, []
                raw, self._pending_raw = self._pending_raw, []
                return batch + self._decode_batch(raw)
            batch = await self._read_batch()
            if not batch and self._resp is not None:
                # Complete: the batch with message_stop went out already; now
                # give the connection back (never delaying those events).
                await self._finish(self._resp)
            return batch
        except BaseException as exc:
            await self._fail(exc)
            raise

    async def _read_batch(self) -> list[StreamEvent]:
        if self._failure is not None:
            raise self._failure
        if self._acc.finished:
            return []
        resp = self._resp
        if resp is None:
            raise self._truncated("because it was closed early")
        feed, timeout = self._parser.feed, self._timeout
        while True:
            chunk = await _transport.read_chunk(resp, timeout)
            if not chunk:
                raise self._truncated("mid-message")
            sses = feed(chunk)
            if sses:
                batch = self._decode_batch(sses)
                if not batch and self._failure is not None:
                    raise self._failure
                return batch

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    async def _batches(self) -> AsyncIterator[list[StreamEvent]]:
        next_batch = self._next_batch
        while batch := await next_batch():
            yield batch

    async def _events(self) -> AsyncIterator[StreamEvent]:
        try:
            async for batch in self._batches():
                for event in batch:
                    yield event
        finally:
            # Runs on close() and also when an abandoned stream is garbage
            # collected (asyncio finalizes async generators): the response
            # and the limiter slot are given back even if nobody closed it.
            await self._release(complete=False)

    async def _fail(self, exc: BaseException) -> None:
        """Release everything; remember API errors so later reads raise them again."""
        used = None
        if isinstance(exc, APIError):
            if exc.request_id is None:
                exc.request_id = self.request_id
            self._failure = exc
            if isinstance(exc, APIStatusError) and not exc.in_stream:
                used = NOTHING_USED  # an error status: the API generated nothing
        await self._release(complete=False, used=used)

    async def _finish(self, resp: aiohttp.ClientResponse) -> None:
        """Read the little left after ``message_stop`` so the connection can be reused.

        Bounded in bytes and in time: a peer that holds the end of the body
        gets its connection closed instead of delaying the caller.
        """
        try:
            await asyncio.wait_for(self._drain(resp), _DRAIN_TIMEOUT)
        except (APIError, asyncio.TimeoutError):
            resp.close()
        await self._release(complete=True)

    async def _drain(self, resp: aiohttp.ClientResponse) -> None:
        drained = 0
        while drained <= _DRAIN_LIMIT:
            rest = await _transport.read_chunk(resp, self._timeout)
            if not rest:
                return
            drained += len(rest)
        resp.close()

    async def _release(self, *, complete: bool, used: dict[str, int | None] | None = None) -> None:
        """Give back the response and the limiter slot, once.

        ``used`` overrides what the limiter is told was used; by default the
        final usage when complete, else unknown (nothing refunded).
        """
        if self._released:
            return
        self._released = True
        resp, self._resp = self._resp, None
        if resp is not None:
            if complete:
                resp.release()
            else:
                resp.close()
        reservation, self._reservation = self._reservation, None
        if reservation is not None:
            if used is None:
                used = usage_for_limiter(self._acc.usage() if complete else None)
            await reservation.release(**used)

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """The text of each ``text_delta``, as it arrives."""
        return self._texts()

    async def _texts(self) -> AsyncIterator[str]:
        async for batch in self._batches():
            for event in batch:
                if event.__class__ is ContentBlockDeltaEvent:
                    delta = event.delta
                    if delta.__class__ is TextDelta:
                        yield delta.text

    async def until_done(self) -> None:
        """Consume the rest of the stream (raising what it raises)."""
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

    @property
    def current_message_snapshot(self) -> Message:
        """The message as accumulated so far (open blocks with their text so far)."""
        return self._acc.message()

    async def close(self) -> None:
        """Abandon the stream (idempotent): the response is closed, not reused."""
        iterator = self._iterator
        if iterator is not None and hasattr(iterator, "aclose"):
            await iterator.aclose()
        await self._release(complete=False)

    async def __aenter__(self) -> MessageStream:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()


class MessageStreamManager:
    """What ``client.messages.stream(...)`` returns: ``async with ... as stream``."""

    def __init__(self, client: Client, request: PreparedRequest, timeout: Timeout) -> None:
        self._client = client
        self._request = request
        self._timeout = timeout
        self._stream: MessageStream | None = None

    async def start(self) -> MessageStream:
        """Open the stream without ``async with``; the caller closes it."""
        return await MessageStream.open(self._client, self._request, self._timeout)

    async def __aenter__(self) -> MessageStream:
        self._stream = await self.start()
        return self._stream

    async def __aexit__(self, *exc_info: Any) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.close()


def _index(events: list[StreamEvent], event: object) -> int:
    """Position of ``event`` (by identity) in ``events``; only on error paths."""
    return next(i for i, e in enumerate(events) if e is event)
