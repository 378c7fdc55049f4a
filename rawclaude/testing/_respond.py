"""Turning a ``Reply`` into bytes on the wire, faults and delays included.

Only this module and ``_app`` touch aiohttp.web. Every wait here ends early when
the server starts shutting down, so a hanging or slow reply never holds up
``FakeServer`` shutdown.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ._checks import ApiError
from ._render import Rendered, batch
from ._reply import Reply
from ._wire import (
    error_body,
    error_event_frame,
    message_json,
    message_start_frame,
    status_for_error_type,
    usage_object,
)

# aiohttp >= 3.14 warns about plain-string keys in a request's mapping and offers
# RequestKey instead; older versions (rawclaude supports 3.9+) only have strings.
_CONTEXT_KEY: Any = (
    web.RequestKey("rawclaude_fake_context", object)  # type: ignore[attr-defined,unused-ignore]
    if hasattr(web, "RequestKey")
    else "rawclaude_fake_context"
)


@dataclass
class RequestContext:
    """Per-request facts the middleware, the handlers and the prepare hook share."""

    request_id: str
    body: Any = None
    charge: int | None = None  # requests to take from the rate limit; None: no headers
    usage: tuple[int, int] = (0, 0)  # (input, output) tokens to take
    raw: bool = False  # a "proxy" answered: no API headers


def set_context(request: web.Request, context: RequestContext) -> None:
    request[_CONTEXT_KEY] = context


def context_of(request: web.Request) -> RequestContext | None:
    context = request.get(_CONTEXT_KEY)
    return context if isinstance(context, RequestContext) else None


def require_context(request: web.Request) -> RequestContext:
    context = context_of(request)
    assert context is not None, "set by the middleware"
    return context


SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Exchange:
    """What one ``POST /v1/messages`` needs besides the reply itself."""

    request_id: str
    message_id: str
    model: str
    input_tokens: int
    stream: bool
    closing: asyncio.Event
    usage_extra: dict[str, Any] = field(default_factory=dict)  # prompt-cache counts


async def pause(closing: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds``; True when the server began closing meanwhile."""
    if seconds > 0 and not closing.is_set():
        try:
            await asyncio.wait_for(closing.wait(), seconds)
        except asyncio.TimeoutError:
            return False
    return closing.is_set()


def error_response(
    error: ApiError, request_id: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=error.status,
        body=error_body(error.error_type, error.message, request_id, error.error_code),
        content_type="application/json",
        headers=headers,
    )


def abandon(request: web.Request) -> web.Response:
    """Close the connection without (finishing) an answer.

    ``close`` flushes what was already written, so the client sees every event
    sent so far and then a connection that ends mid-body. aiohttp's own
    ``write_eof`` on the returned response then fails quietly (ConnectionError).
    """
    if request.transport is not None:
        request.transport.close()
    return web.Response()


def reply_headers(reply: Reply) -> dict[str, str]:
    headers = dict(reply.headers)
    if reply.ratelimit is not None:
        headers = {**reply.ratelimit.headers(time.time()), **headers}
    return headers


async def answer(request: web.Request, reply: Reply, ex: Exchange) -> web.StreamResponse:
    """Serve ``reply`` (whose content is already resolved) for this exchange."""
    if await pause(ex.closing, reply.delay):
        return abandon(request)
    if reply.kind == "hang":
        await ex.closing.wait()
        return abandon(request)
    headers = reply_headers(reply)
    if reply.kind == "error":
        error = ApiError(reply.status, reply.error_type, reply.error_message)
        return error_response(error, ex.request_id, headers)
    if reply.kind == "raw":
        require_context(request).raw = True
        headers.setdefault("Content-Type", reply.content_type)
        return web.Response(status=reply.status, body=reply.body, headers=headers)
    assert reply.content is not None, "echo replies are resolved before answer()"
    rendered = reply.content.rendered()
    require_context(request).usage = (ex.input_tokens, rendered.output_tokens)
    if ex.stream:
        return await _stream(request, reply, rendered, ex, headers)
    return await _json(request, reply, rendered, ex, headers)


def _fault_limit(reply: Reply) -> int | None:
    limits = [n for n in (reply.error_after, reply.drop_after) if n is not None]
    return min(limits) if limits else None


async def _stream(
    request: web.Request,
    reply: Reply,
    rendered: Rendered,
    ex: Exchange,
    headers: dict[str, str],
) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers={**SSE_HEADERS, **headers})
    try:
        # StreamResponse sends its headers at once: the client has its 200 now,
        # and first_event_delay measures time to the first event only.
        await response.prepare(request)
        if await pause(ex.closing, reply.first_event_delay):
            return abandon(request)
        usage = usage_object(ex.input_tokens, min(1, rendered.output_tokens), ex.usage_extra)
        start = message_start_frame(ex.message_id, ex.model, usage)
        if not await _write_events(response, reply, rendered, start, ex.closing):
            return abandon(request)
    except ConnectionError:  # the client went away; nothing left to tell it
        return response
    return response


async def _write_events(
    response: web.StreamResponse,
    reply: Reply,
    rendered: Rendered,
    start: bytes,
    closing: asyncio.Event,
) -> bool:
    """Write the events the reply allows; False when the connection must be dropped."""
    limit = _fault_limit(reply)
    if limit is None and reply.event_delay == 0:
        # The fast path: the pre-rendered batches, message_start riding on the first.
        chunks = list(rendered.batches)
        chunks[0] = start + chunks[0]
        for chunk in chunks:
            await response.write(chunk)
        return True
    frames = (start, *rendered.frames)[:limit]
    if reply.event_delay == 0:
        for chunk in batch(frames):
            await response.write(chunk)
    else:
        for index, frame in enumerate(frames):
            if index and await pause(closing, reply.event_delay):
                return False
            await response.write(frame)
    if limit is not None and limit == reply.error_after:
        await response.write(error_event_frame(reply.stream_error_type, reply.stream_error_message))
        return True
    return limit is None


async def _json(
    request: web.Request,
    reply: Reply,
    rendered: Rendered,
    ex: Exchange,
    headers: dict[str, str],
) -> web.StreamResponse:
    # Without streaming, the API answers once the whole message is generated.
    events = len(rendered.frames) + 1
    if await pause(ex.closing, reply.first_event_delay + reply.event_delay * events):
        return abandon(request)
    if reply.error_after is not None and reply.error_after < events:
        # A failure the stream would report as an error event becomes an HTTP error.
        kind = reply.stream_error_type
        error = ApiError(status_for_error_type(kind), kind, reply.stream_error_message)
        return error_response(error, ex.request_id, headers)
    usage = usage_object(ex.input_tokens, rendered.output_tokens, ex.usage_extra)
    body = message_json(ex.message_id, ex.model, rendered.content, rendered.stop_reason, usage)
    if reply.drop_after is None:
        return web.Response(body=body, content_type="application/json", headers=headers)
    return await _partial_json(request, body, headers)


async def _partial_json(
    request: web.Request, body: bytes, headers: dict[str, str]
) -> web.StreamResponse:
    """Promise the whole body in Content-Length, send half, then drop the connection."""
    response = web.StreamResponse(status=200, headers=headers)
    response.content_type = "application/json"
    response.content_length = len(body)
    try:
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
    except ConnectionError:
        return response
    return abandon(request)
