"""The ready SSE handlers: aiohttp.web, a raw ASGI app and Starlette's StreamingResponse.

The browser is an aiohttp client (aiohttp.web) or an ASGI server's two
callables driven by hand (ASGI): the release of the upstream stream is read
from the limiter's in_flight, on the server side.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

import rawclaude.web
from rawclaude import Client, RateLimiter
from rawclaude.testing import FakeServer, Reply
from rawclaude.web import SSE_HEADERS, SSEApp, sse_response
from rawclaude.wire.sse import SSEParser

KEY = "sk-ant-web-test"
PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "two\nlines"}],
}
DEADLINE = 10.0  # generous: a release takes one poll interval at most


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    async with FakeServer(api_key=KEY) as server:
        yield server


@pytest.fixture
def limiter() -> RateLimiter:
    return RateLimiter(max_concurrency=8)


@pytest.fixture
async def client(fake: FakeServer, limiter: RateLimiter) -> AsyncIterator[Client]:
    async with Client(api_key=KEY, base_url=fake.base_url, limiter=limiter) as c:
        yield c


def _events(body: bytes) -> list[tuple[str, str]]:
    return [(e.event, e.text) for e in SSEParser().feed(body)]


async def _until(condition: Callable[[], bool]) -> None:
    """Wait for a server-side fact (the limiter has no event to wait on), with a deadline."""

    async def poll() -> None:
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), DEADLINE)


# -- aiohttp.web -------------------------------------------------------------------------


async def _serve(client: Client, *, cancel: bool, heartbeat: float | None = 15.0) -> web.AppRunner:
    async def chat(request: web.Request) -> web.StreamResponse:
        return await sse_response(
            request, client.messages.stream(**PARAMS), heartbeat=heartbeat, disconnect_poll=0.05
        )

    app = web.Application()
    app.router.add_get("/chat", chat)
    runner = web.AppRunner(app, handler_cancellation=cancel)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def _url(runner: web.AppRunner) -> str:
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}/chat"


async def test_aiohttp_handler_relays_the_answer_with_the_sse_headers(client: Client) -> None:
    runner = await _serve(client, cancel=False)
    try:
        async with aiohttp.ClientSession() as browser, browser.get(_url(runner)) as resp:
            body = await resp.read()
            headers = resp.headers
    finally:
        await runner.cleanup()
    for name, value in SSE_HEADERS.items():
        assert headers[name] == value
    events = _events(body)
    assert events[0][0] == "start" and events[-1][0] == "done"
    assert "".join(d for n, d in events if n == "text") == "two\nlines"


@pytest.mark.parametrize("cancel", [False, True], ids=["polled", "handler_cancellation"])
async def test_aiohttp_browser_leaving_a_silent_stream_releases_it(
    client: Client, fake: FakeServer, limiter: RateLimiter, cancel: bool
) -> None:
    fake.queue(Reply.text("never sent").with_delays(first_event=60))
    runner = await _serve(client, cancel=cancel, heartbeat=None)  # no write can notice
    try:
        async with aiohttp.ClientSession() as browser:
            resp = await browser.get(_url(runner))
            assert resp.status == 200
            await _until(lambda: limiter.in_flight == 1)  # the upstream request is out
            resp.close()  # the browser tab goes away
        await _until(lambda: limiter.in_flight == 0)
    finally:
        await runner.cleanup()


# -- ASGI -------------------------------------------------------------------------------


class Browser:
    """An ASGI server's side of one request: receive() and send()."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.send_raises: BaseException | None = None
        self.inbox.put_nowait({"type": "http.request", "body": b"", "more_body": False})

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def send(self, message: Any) -> None:
        if self.send_raises is not None and message["type"] == "http.response.body":
            raise self.send_raises
        self.sent.append(dict(message))

    def leave(self) -> None:
        self.inbox.put_nowait({"type": "http.disconnect"})

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    @property
    def headers(self) -> dict[str, str]:
        start = self.sent[0]
        assert start["type"] == "http.response.start" and start["status"] == 200
        return {k.decode(): v.decode() for k, v in start["headers"]}


ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _asgi_raw(client: Client, heartbeat: float | None) -> ASGIApp:
    return SSEApp(client.messages.stream(**PARAMS), heartbeat=heartbeat)


def _asgi_starlette(client: Client, heartbeat: float | None) -> ASGIApp:
    return rawclaude.web.SSEResponse(client.messages.stream(**PARAMS), heartbeat=heartbeat)


MAKERS = pytest.mark.parametrize("make", [_asgi_raw, _asgi_starlette], ids=["raw", "starlette"])
SCOPE = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "method": "GET"}


@MAKERS
async def test_asgi_relays_the_answer_and_ends_the_body(
    client: Client, make: Callable[[Client, float | None], ASGIApp]
) -> None:
    browser = Browser()
    await make(client, 15.0)(SCOPE, browser.receive, browser.send)
    assert browser.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert browser.headers["cache-control"] == "no-cache"
    assert browser.headers["x-accel-buffering"] == "no"
    assert browser.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    events = _events(browser.body)
    assert events[0][0] == "start" and events[-1][0] == "done"
    assert orjson.loads(events[-1][1])["stop_reason"] == "end_turn"


@MAKERS
async def test_asgi_disconnect_closes_a_silent_upstream_at_once(
    client: Client,
    fake: FakeServer,
    limiter: RateLimiter,
    make: Callable[[Client, float | None], ASGIApp],
) -> None:
    fake.queue(Reply.text("a b c").with_delays(first_event=60))
    browser = Browser()
    app = asyncio.create_task(make(client, None)(SCOPE, browser.receive, browser.send))
    await _until(lambda: limiter.in_flight == 1)  # the upstream request is out, and silent
    browser.leave()
    await asyncio.wait_for(app, DEADLINE)  # returns on the disconnect, not after the 60 s
    assert limiter.in_flight == 0
    assert [m["type"] for m in browser.sent] == ["http.response.start"]  # nothing after


@MAKERS
async def test_asgi_send_raising_oserror_releases_the_upstream(
    client: Client, limiter: RateLimiter, make: Callable[[Client, float | None], ASGIApp]
) -> None:
    browser = Browser()
    browser.send_raises = OSError("client disconnected")  # ASGI 2.4 servers do this
    await make(client, 15.0)(SCOPE, browser.receive, browser.send)
    assert limiter.in_flight == 0
