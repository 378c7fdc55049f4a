"""A chat page that relays Claude's answers to the browser through rawclaude.

    python examples/relay_chat/app.py            # against a local fake server: no key
    python examples/relay_chat/app.py --api      # the Claude API (ANTHROPIC_API_KEY)

then open http://127.0.0.1:8080. The browser asks ``GET /chat?messages=[...]``
with ``EventSource``; the handler opens a stream and returns
``rawclaude.web.sse_response``, which relays it as server-sent events and closes
the upstream stream (its connection and limiter slot) when the page goes away.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from aiohttp import web

import rawclaude
import rawclaude.web

CLIENT = web.AppKey("client", rawclaude.Client)
MODEL = web.AppKey("model", str)
PAGE = Path(__file__).with_name("index.html")
MAX_TURNS = 100


def parse_messages(raw: str) -> list[dict[str, Any]]:
    """The conversation the page sends: alternating user/assistant text turns."""
    try:
        messages = json.loads(raw)
    except ValueError:
        raise web.HTTPBadRequest(text="messages: not JSON") from None
    ok = (
        isinstance(messages, list)
        and 0 < len(messages) <= MAX_TURNS
        and all(
            isinstance(m, dict)
            and m.get("role") == ("user" if i % 2 == 0 else "assistant")
            and isinstance(m.get("content"), str)
            and m["content"].strip()
            for i, m in enumerate(messages)
        )
        and messages[-1]["role"] == "user"
    )
    if not ok:
        raise web.HTTPBadRequest(text="messages: alternating user/assistant text, user last")
    return [{"role": m["role"], "content": m["content"]} for m in messages]


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE)


async def chat(request: web.Request) -> web.StreamResponse:
    messages = parse_messages(request.query.get("messages", ""))
    client = request.app[CLIENT]
    stream = client.messages.stream(model=request.app[MODEL], max_tokens=1024, messages=messages)
    return await rawclaude.web.sse_response(request, stream)


def make_app(client: rawclaude.Client, model: str = "claude-sonnet-4-6") -> web.Application:
    app = web.Application()
    app[CLIENT] = client
    app[MODEL] = model
    app.router.add_get("/", index)
    app.router.add_get("/chat", chat)
    return app


async def serve(args: argparse.Namespace) -> None:
    from rawclaude.testing import FakeServer, Reply

    limiter = rawclaude.RateLimiter(max_concurrency=64)
    # The fake answers slowly enough to watch the text arrive.
    fake = FakeServer(default_reply=Reply.echo().with_delays(between_events=0.08), record=False)
    if args.api:
        client = rawclaude.Client(limiter=limiter)
    else:
        await fake.start()
        client = rawclaude.Client(api_key="fake", base_url=fake.base_url, limiter=limiter)
    # handler_cancellation: a browser that leaves cancels its handler at once.
    runner = web.AppRunner(make_app(client, args.model), handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    print(f"chat page on http://{args.host}:{args.port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await client.close()
        await fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--api", action="store_true", help="use the Claude API, not the fake")
    parser.add_argument("--model", default="claude-sonnet-4-6")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops the server
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
