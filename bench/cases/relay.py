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
from typing import Any

from ..config import Config
from ..procs import REPO
from ..spec import Case, Metric, Params, WorkerResult


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


async def _relayed(
    upstream: str, n: int, headers: dict[str, str]
) -> tuple[dict[str, float], float]:
    """The browsers' view through the relay, and the relay process's CPU seconds."""
    from aiohttp import web

    import rawclaude.web
    from rawclaude import Client

    client = Client(api_key="sk-bench", base_url=upstream, max_connections=n + 8)
    params: dict[str, Any] = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "stamps"}],
        "extra_headers": headers,
    }

    async def chat(request: web.Request) -> web.StreamResponse:
        return await rawclaude.web.sse_response(request, client.messages.stream(**params))

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
        await client.close()
    return seen, cpu


async def _run(p: Params) -> WorkerResult:
    proc, upstream = _start_upstream()
    n = p["browsers"]
    headers = {"x-stamp-deltas": str(p["deltas"]), "x-stamp-interval": str(p["interval"])}
    try:
        await _browsers("direct", upstream, 4, {**headers, "x-stamp-deltas": "3"})  # warm up
        direct = await _browsers("direct", upstream, n, headers)
        relayed, cpu = await _relayed(upstream, n, headers)
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
    return asyncio.run(_run(p))


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
    clients=("rawclaude",),
    notes=(
        "N browsers at once, each streaming D text deltas paced by the upstream. A delta's "
        "age = arrival time - the monotonic time the upstream wrote it (one machine, one "
        "clock). direct: rawclaude clients read the upstream; relay: aiohttp clients read "
        "rawclaude.web.sse_response, which reads the upstream with rawclaude. Added = relay "
        "minus direct, percentile by percentile, measured in the same worker one after the "
        "other. Relay CPU = the relay process's user+system time while the browsers read."
    ),
)
