"""``sse_response``: relay a Claude stream from an aiohttp.web handler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING

from aiohttp import web

from ..client.relay import relay
from ..wire.errors import ConfigurationError
from ._headers import SSE_HEADERS
from ._race import close_all, first_of

if TYPE_CHECKING:
    from ..client.relay import StreamOpener
    from ..client.stream import MessageStream

__all__ = ["sse_response"]


async def sse_response(
    request: web.Request,
    stream: MessageStream | StreamOpener,
    *,
    heartbeat: float | None = 15.0,
    headers: Mapping[str, str] | None = None,
    disconnect_poll: float = 0.5,
) -> web.StreamResponse:
    """Answer ``request`` with ``stream`` relayed as server-sent events (see ``rawclaude.relay``).

    The upstream stream is closed as soon as the browser goes away: at once
    when the server cancels handlers on disconnect (``web.run_app(app,
    handler_cancellation=True)``), else when a write fails or when the
    connection is seen closed, checked every ``disconnect_poll`` seconds
    (aiohttp tells a handler of a GET nothing else).
    """
    if not disconnect_poll > 0:
        raise ConfigurationError(f"disconnect_poll must be > 0 seconds, got {disconnect_poll!r}")
    chunks = relay(stream, heartbeat=heartbeat)
    resp = web.StreamResponse(headers={**SSE_HEADERS, **(headers or {})})
    try:
        await resp.prepare(request)
        await first_of(_write(chunks, resp), _gone(request, disconnect_poll))
        if not _closed(request):
            await resp.write_eof()
    except ConnectionError:
        pass  # the browser went away: nothing to answer, the upstream is closed below
    finally:
        await close_all(chunks, stream)
    return resp


async def _write(chunks: AsyncGenerator[bytes, None], resp: web.StreamResponse) -> None:
    try:
        async for chunk in chunks:
            await resp.write(chunk)
    except ConnectionError:
        return  # aiohttp raises ClientConnectionResetError once the peer is gone


async def _gone(request: web.Request, every: float) -> None:
    # Polled: aiohttp sets no event a handler could wait on when a GET's peer leaves.
    while not _closed(request):  # noqa: ASYNC110
        await asyncio.sleep(every)


def _closed(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()
