"""``python -m bench.stamp_upstream``: a Messages-API SSE upstream whose text is timestamps.

Each text delta is ``"<time.monotonic_ns() when written>;"``, so a reader in
another process (CLOCK_MONOTONIC is system-wide on Linux) knows each delta's
age when it arrives. ``x-stamp-deltas`` and ``x-stamp-interval`` (seconds) say
how many and how far apart; each stream starts at a random phase of the
interval, so many streams do not tick in lockstep. Prints its base URL once
listening; runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time

from aiohttp import web

_START = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_stamp",'
    b'"type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-6",'
    b'"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
    b'"content_block":{"type":"text","text":""}}\n\n'
)
_DELTA = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"%d;"}}\n\n'
)
_STOP = (
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn",'
    b'"stop_sequence":null},"usage":{"output_tokens":%d}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


async def messages(request: web.Request) -> web.StreamResponse:
    await request.read()
    deltas = int(request.headers["x-stamp-deltas"])
    interval = float(request.headers["x-stamp-interval"])
    resp = web.StreamResponse(
        headers={"content-type": "text/event-stream", "request-id": "req_stamp"}
    )
    await resp.prepare(request)
    await resp.write(_START)
    next_at = time.monotonic() + random.uniform(0, interval)
    for _ in range(deltas):
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await resp.write(_DELTA % time.monotonic_ns())
    await resp.write(_STOP % deltas)
    await resp.write_eof()
    return resp


async def main() -> None:
    app = web.Application()
    app.router.add_post("/v1/messages", messages)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(f"http://127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
