"""4b. What the pipeline's stages cost: create at c=64 with stages on vs off.

One worker, two rawclaude clients on the same fake server: a plain one, and one
with a RateLimiter (limits no benchmark can reach, so nothing waits) and a
no-op hook. Windows alternate between them; the ratio of client CPU per
request is taken window against neighbouring window (the machine's speed
drifts), and the median of those ratios is reported.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from .. import clients
from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult

WINDOWS = 6
CONCURRENCY = 64


def params(cfg: Config) -> Params:
    return {"seconds": cfg.create_seconds * 2}


class _NoOpHook:
    def on_request(self, record: Any) -> None:
        pass

    def on_complete(self, record: Any) -> None:
        pass


def _clients(base_url: str) -> tuple[Any, Any]:
    import rawclaude

    plain = rawclaude.Client(clients.API_KEY, base_url=base_url, max_retries=0)
    huge = 1e12
    limiter = rawclaude.RateLimiter(
        requests_per_minute=huge,
        input_tokens_per_minute=huge,
        output_tokens_per_minute=huge,
        max_concurrency=100_000,
    )
    staged = rawclaude.Client(
        clients.API_KEY, base_url=base_url, max_retries=0, limiter=limiter, hooks=[_NoOpHook()]
    )
    return plain, staged


async def _window(client: Any, seconds: float) -> float:
    """Client CPU per request (µs) over one window at the case's concurrency."""
    done = 0
    deadline = time.perf_counter() + seconds
    messages = [{"role": "user", "content": clients.PROMPT}]

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await client.messages.create(model=clients.MODEL, max_tokens=64, messages=messages)
            done += 1

    cpu = time.process_time()
    await asyncio.gather(*(loop() for _ in range(CONCURRENCY)))
    return (time.process_time() - cpu) / max(done, 1) * 1e6


async def _run(p: Params) -> WorkerResult:
    plain, staged = _clients(p["base_url"])
    try:
        for client in (plain, staged):  # warm: connections open, decoders hot
            await _window(client, 0.2)
        ratios, plain_cpu, staged_cpu = [], [], []
        for i in range(WINDOWS):
            order = (plain, staged) if i % 2 == 0 else (staged, plain)
            cpu = {id(c): await _window(c, p["seconds"] / WINDOWS) for c in order}
            plain_cpu.append(cpu[id(plain)])
            staged_cpu.append(cpu[id(staged)])
            ratios.append(cpu[id(staged)] / cpu[id(plain)])
    finally:
        await plain.close()
        await staged.close()
    return {
        "metrics": {
            "cpu_ratio": statistics.median(ratios),
            "plain_cpu_us": min(plain_cpu),
            "staged_cpu_us": min(staged_cpu),
        }
    }


def run(client: str, p: Params) -> WorkerResult:
    return asyncio.run(_run(p))


METRICS = (
    Metric("cpu_ratio", "client CPU per request, stages on ÷ off (paired)", "x", False),
    Metric("plain_cpu_us", "client CPU per request, no stages", "µs", False),
    Metric("staged_cpu_us", "client CPU per request, limiter + no-op hook", "µs", False),
)


def _metrics(cfg: Config) -> tuple[Metric, ...]:
    return METRICS


CASE = Case(
    name="stages",
    title="4b. Pipeline stages: create at c=64, limiter + hook on vs off",
    metrics=_metrics,
    params=params,
    run=run,
    clients=("rawclaude",),
    needs="server",
    reps=lambda cfg: cfg.create_reps,
    notes=(
        "Two rawclaude clients in one worker: plain, and with a RateLimiter (requests, input "
        "and output tokens per minute at 1e12, max_concurrency 100,000: every stage runs, "
        "nothing waits) and one no-op hook (on_request and on_complete). 6 alternating "
        "windows at c=64; the ratio is the median of the neighbouring windows' CPU ratios."
    ),
)
