"""A tiny scripted aiohttp server on 127.0.0.1 for the client's HTTP-contract tests.

Each request pops the next reply from a queue (an aiohttp handler); when the
queue is empty it answers with a minimal valid Message. Every request is
recorded with its headers and raw body. The fuller stand-in for the API,
``rawclaude.testing.FakeServer``, is tested and used elsewhere; this one
exists so that the foundation tests control every byte on the wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def message_json(text: str = "hi", **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    body.update(over)
    return body


def ok(body: dict[str, Any] | None = None, *, request_id: str = "req_ok") -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            body or message_json(), headers={"request-id": request_id}, dumps=_dumps
        )

    return handler


def error(
    status: int,
    error_type: str = "api_error",
    message: str = "boom",
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    content_type: str = "application/json",
) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        body = raw
        if body is None:
            body = orjson.dumps(
                {
                    "type": "error",
                    "error": {"type": error_type, "message": message},
                    "request_id": "req_err",
                }
            )
        hdrs = {"request-id": "req_err", **(headers or {})}
        return web.Response(status=status, body=body, headers=hdrs, content_type=content_type)

    return handler


def hang(seconds: float = 30.0) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.json_response(message_json())

    return handler


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class ScriptedServer:
    replies: list[Handler] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    base_url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            Recorded(
                request.method,
                request.path_qs,
                {k.lower(): v for k, v in request.headers.items()},
                await request.read(),
            )
        )
        handler = self.replies.pop(0) if self.replies else ok()
        return await handler(request)

    def queue(self, *handlers: Handler) -> None:
        self.replies.extend(handlers)


async def start(server: ScriptedServer) -> web.AppRunner:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.base_url = f"http://127.0.0.1:{port}"
    return runner


def sse(event: dict[str, Any]) -> bytes:
    """One event as the API frames it: ``event: TYPE`` then ``data: JSON``."""
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def text_stream_events(
    pieces: list[str], *, output_tokens: int | None = None, msg_id: str = "msg_s"
) -> list[dict[str, Any]]:
    """The API's event sequence for one text block made of ``pieces``."""
    start = message_json(id=msg_id, content=[], stop_reason=None)
    start["usage"] = {"input_tokens": 7, "output_tokens": 1}
    return [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        *(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": p},
            }
            for p in pieces
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": output_tokens if output_tokens is not None else len(pieces)},
        },
        {"type": "message_stop"},
    ]


def stream(
    chunks: list[bytes],
    *,
    delay: float = 0.0,
    drop: bool = False,
    request_id: str = "req_stream",
    status: int = 200,
) -> Handler:
    """Write ``chunks`` as they are (so tests choose the byte boundaries).

    ``delay`` sleeps before each chunk; ``drop`` aborts the connection after
    the last chunk instead of ending the chunked body properly.
    """

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            status=status,
            headers={"content-type": "text/event-stream", "request-id": request_id},
        )
        await resp.prepare(request)
        for chunk in chunks:
            if delay:
                await asyncio.sleep(delay)
            await resp.write(chunk)
        if drop:
            assert request.transport is not None
            request.transport.abort()
            return resp
        await resp.write_eof()
        return resp

    return handler


def stream_events(events: list[dict[str, Any]], **kw: Any) -> Handler:
    return stream([sse(e) for e in events], **kw)


def stall(before: bytes = b"", seconds: float = 3.0, after: bytes = b"") -> Handler:
    """An SSE response that sends ``before``, goes silent for ``seconds``, then ``after``."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        if before:
            await resp.write(before)
        await asyncio.sleep(seconds)
        if after:
            await resp.write(after)
        return resp

    return handler
