"""``SSEResponse``: relay a Claude stream from a Starlette or FastAPI endpoint.

A ``StreamingResponse`` (so FastAPI takes it as a return value) whose sending is
``SSEApp``'s: Starlette's own closes nothing when ``send`` fails under ASGI 2.4
and notices a browser that left only at the next write, so a silent upstream
would hold its connection until the next heartbeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ..client.relay import relay
from ._asgi import serve
from ._headers import SSE_HEADERS

if TYPE_CHECKING:
    from ..client.relay import StreamOpener
    from ..client.stream import MessageStream

__all__ = ["SSEResponse"]


class SSEResponse(StreamingResponse):
    """``return SSEResponse(client.messages.stream(...))`` from an endpoint."""

    def __init__(
        self,
        stream: MessageStream | StreamOpener,
        *,
        heartbeat: float | None = 15.0,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self._stream = stream
        self._chunks = relay(stream, heartbeat=heartbeat)
        merged = {**SSE_HEADERS, **(headers or {})}
        media_type = merged.pop("content-type")
        super().__init__(self._chunks, headers=merged, media_type=media_type, background=background)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await serve(self._chunks, self._stream, self.raw_headers, receive, send)
        if self.background is not None:
            await self.background()
