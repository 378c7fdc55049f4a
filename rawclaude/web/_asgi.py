"""``SSEApp``: relay a Claude stream as an ASGI application (one response).

Per the ASGI HTTP spec (asgi.readthedocs.io, "HTTP & WebSocket ASGI Message
Format"): ``http.response.start``, then ``http.response.body`` messages with
``more_body``; the server reports the browser leaving as an ``http.disconnect``
from ``receive()`` and, from spec 2.4 on, may also raise ``OSError`` from
``send()``. Both are watched, so a silent upstream is closed at once too.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from ..client.relay import relay
from ._headers import SSE_HEADERS
from ._race import close_all, first_of

if TYPE_CHECKING:
    from ..client.relay import StreamOpener
    from ..client.stream import MessageStream

__all__ = ["SSEApp", "serve"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class SSEApp:
    """An ASGI app that answers one HTTP request with ``stream`` relayed as SSE."""

    def __init__(
        self,
        stream: MessageStream | StreamOpener,
        *,
        heartbeat: float | None = 15.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._stream = stream
        self._chunks = relay(stream, heartbeat=heartbeat)
        self._headers = raw_headers({**SSE_HEADERS, **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await serve(self._chunks, self._stream, self._headers, receive, send)


def raw_headers(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


async def serve(
    chunks: AsyncGenerator[bytes, None],
    stream: object,
    headers: list[tuple[bytes, bytes]],
    receive: Receive,
    send: Send,
) -> None:
    """Send the response; close the relay and the upstream stream on every way out."""
    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        gone = await _race(chunks, receive, send)
        if not gone:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:
        pass  # the browser went away (ASGI 2.4): nothing to answer
    finally:
        await close_all(chunks, stream)


async def _race(chunks: AsyncGenerator[bytes, None], receive: Receive, send: Send) -> bool:
    """True when the browser left before the end."""
    gone = False

    async def write() -> None:
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def watch() -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        gone = True

    await first_of(write(), watch())
    return gone
