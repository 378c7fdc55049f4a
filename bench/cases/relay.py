"""17. The browser relay: latency it adds per event, 200 browsers at once.

Three processes: the stamping upstream (bench.stamp_upstream), this worker
(the relay: an aiohttp.web app whose handler returns ``rawclaude.web.sse_response``
over a rawclaude stream from the upstream) and the browsers (bench.browsers,
N aiohttp clients parsing SSE). Each text delta carries the monotonic time it
was written upstream, so its age on arrival is exact. The same N streams read
straight from the upstream by rawclaude (no relay) give the reference; the
relay's added latency is relay minus direct, paired in one worker.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..config import Config
from ..procs import REPO
from ..spec import Case, Metric, Params, WorkerResult

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Close = Callable[[], Awaitable[None]]


def _start_upstream() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.stamp_upstream"], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


async def _browsers(mode: str, url: str, n: int, headers: dict[str, str]) -> dict[str, float]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.browsers",
        mode,
        url,
        str(n),
        json.dumps(headers),
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    out, _ = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"bench.browsers {mode} exited {proc.returncode}")
    result: dict[str, float] = json.loads(out)
    return result


_BODY: dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 4096,
    "messages": [{"role": "user", "content": "stamps"}],
}


def _rawclaude_handler(upstream: str, n: int, headers: dict[str, str]) -> tuple[Handler, Close]:
    import rawclaude.web
    from rawclaude import Client

    client = Client(api_key="sk-bench", base_url=upstream, max_connections=n + 8)
    params = {**_BODY, "extra_headers": headers}

    async def chat(request: web.Request) -> web.StreamResponse:
        return await rawclaude.web.sse_response(request, client.messages.stream(**params))

    return chat, client.close


def _floor_handler(upstream: str, n: int, headers: dict[str, str]) -> tuple[Handler, Close]:
    """The cheapest relay: the floor's parse (bench/floor.py), one text event per delta,
    no heartbeat, no disconnect watch, no multi-line framing, no error event."""
    import aiohttp

    from ..floor import FloorParser

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=n + 8))
    body = json.dumps({**_BODY, "stream": True}).encode()
    send = {"x-api-key": "sk-bench", "anthropic-version": "2023-06-01", **headers}

    async def chat(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        parser = FloorParser()
        async with session.post(upstream + "/v1/messages", data=body, headers=send) as up:
            async for chunk in up.content.iter_any():
                done = len(parser.pieces)
                parser.feed(chunk)
                new = parser.pieces[done:]
                if new:
                    await resp.write(
                        b"".join([b"event: text\ndata: " + t.encode() + b"\n\n" for t in new])
                    )
        await resp.write(b"event: done\ndata: {}\n\n")
        return resp

    return chat, session.close


async def _relayed(
    client: str, upstream: str, n: int, headers: dict[str, str]
) -> tuple[dict[str, float], float]:
    """The browsers' view through the relay, and the relay process's CPU seconds."""
    make = _rawclaude_handler if client == "rawclaude" else _floor_handler
    chat, close = make(upstream, n, headers)
    app = web.Application()
    app.router.add_get("/chat", chat)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
    port = runner.addresses[0][1]
    try:
        cpu = time.process_time()
        seen = await _browsers("sse", f"http://127.0.0.1:{port}/chat", n, headers)
        cpu = time.process_time() - cpu
    finally:
        await runner.cleanup()
        await close()
    return seen, cpu


async def _run(client: str, p: Params) -> WorkerResult:
    proc, upstream = _start_upstream()
    n = p["browsers"]
    headers = {"x-stamp-deltas": str(p["deltas"]), "x-stamp-interval": str(p["interval"])}
    try:
        await _browsers("direct", upstream, 4, {**headers, "x-stamp-deltas": "3"})  # warm up
        direct = await _browsers("direct", upstream, n, headers)
        relayed, cpu = await _relayed(client, upstream, n, headers)
    finally:
        proc.terminate()
        proc.wait()
    expected = n * p["deltas"]
    if direct["deltas"] != expected or relayed["deltas"] != expected:
        raise AssertionError(f"deltas lost: {direct['deltas']}, {relayed['deltas']} of {expected}")
    metrics = {
        "direct_p50_ms": direct["p50_ms"],
        "direct_p99_ms": direct["p99_ms"],
        "relay_p50_ms": relayed["p50_ms"],
        "relay_p99_ms": relayed["p99_ms"],
        "added_p50_ms": relayed["p50_ms"] - direct["p50_ms"],
        "added_p99_ms": relayed["p99_ms"] - direct["p99_ms"],
        "relay_cpu_us_per_event": cpu / expected * 1e6,
    }
    return {"metrics": metrics}


def run(client: str, p: Params) -> WorkerResult:
    return asyncio.run(_run(client, p))


def params(cfg: Config) -> Params:
    return {
        "browsers": cfg.relay_browsers,
        "deltas": max(1, round(cfg.relay_rate * cfg.relay_seconds)),
        "interval": 1.0 / cfg.relay_rate,
    }


METRICS = (
    Metric("added_p50_ms", "added by the relay, p50 (relay - direct)", "ms", False),
    Metric("added_p99_ms", "added by the relay, p99 (relay - direct)", "ms", False),
    Metric("relay_p50_ms", "delta age at the browser via the relay, p50", "ms", False),
    Metric("relay_p99_ms", "delta age at the browser via the relay, p99", "ms", False),
    Metric("direct_p50_ms", "delta age at a rawclaude client, direct, p50", "ms", False),
    Metric("direct_p99_ms", "delta age at a rawclaude client, direct, p99", "ms", False),
    Metric("relay_cpu_us_per_event", "relay process CPU per text delta", "µs", False),
)

CASE = Case(
    name="relay",
    title="17. Browser relay: added latency per event",
    metrics=lambda cfg: METRICS,
    params=params,
    run=run,
    clients=("rawclaude", "floor"),
    notes=(
        "N browsers at once, each streaming D text deltas paced by the upstream. A delta's "
        "age = arrival time - the monotonic time the upstream wrote it (one machine, one "
        "clock). direct: rawclaude clients read the upstream; relay: aiohttp clients read "
        "rawclaude.web.sse_response, which reads the upstream with rawclaude. Added = relay "
        "minus direct, percentile by percentile, measured in the same worker one after the "
        "other. Relay CPU = the relay process's user+system time while the browsers read. "
        "floor = the cheapest relay (bench/floor.py's parse, one event per delta, nothing "
        "else: no heartbeat, no disconnect watch, no multi-line framing, no error event)."
    ),
)
