"""5. Many concurrent slow streams: event-loop lag and CPU per stream."""

from __future__ import annotations

import asyncio
import time

from .. import clients
from ..config import Config
from ..payload import server_delta_header
from ..spec import Case, Metric, Params, WorkerResult
from ..stats import percentile

TICK = 0.005  # the ticker asks to sleep this long and records the overshoot


def params(cfg: Config) -> Params:
    return {
        "streams": cfg.many_streams,
        "deltas": max(1, round(cfg.many_rate * cfg.many_seconds)),
        "event_delay": 1.0 / cfg.many_rate,
    }


async def _ticker(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(TICK)
        lags.append(time.perf_counter() - start - TICK)


async def _run(client: str, p: Params) -> WorkerResult:
    adapter = clients.make(client, p["base_url"])
    headers = {
        "x-fake-deltas": str(p["deltas"]),
        "x-fake-delta-text": server_delta_header(),
        "x-fake-event-delay": str(p["event_delay"]),
    }
    try:
        warm = {**headers, "x-fake-deltas": "3", "x-fake-event-delay": "0"}
        await asyncio.gather(*(adapter.stream_text(warm) for _ in range(8)))
        lags: list[float] = []
        stop = asyncio.Event()
        ticker = asyncio.create_task(_ticker(lags, stop))
        cpu, wall = time.process_time(), time.perf_counter()
        texts = await asyncio.gather(*(adapter.stream_text(headers) for _ in range(p["streams"])))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        stop.set()
        await ticker
    finally:
        await adapter.aclose()
    if len({len(t) for t in texts}) != 1:
        raise AssertionError("streams returned texts of different lengths")
    return {"metrics": _metrics_of(lags, cpu, wall, p)}


def _metrics_of(lags: list[float], cpu: float, wall: float, p: Params) -> dict[str, float]:
    events = p["streams"] * (p["deltas"] + 6)
    return {
        "lag_p50_ms": percentile(lags, 50) * 1e3,
        "lag_p99_ms": percentile(lags, 99) * 1e3,
        "lag_max_ms": max(lags) * 1e3,
        "cpu_ms_per_stream": cpu / p["streams"] * 1e3,
        "cpu_us_per_event": cpu / events * 1e6,
        "wall_s": wall,
    }


def run(client: str, p: Params) -> WorkerResult:
    return asyncio.run(_run(client, p))


METRICS = (
    Metric("lag_p50_ms", "loop lag p50", "ms", False),
    Metric("lag_p99_ms", "loop lag p99", "ms", False),
    Metric("lag_max_ms", "loop lag max", "ms", False),
    Metric("cpu_ms_per_stream", "CPU per stream", "ms", False),
    Metric("cpu_us_per_event", "CPU per event", "µs", False),
    Metric("wall_s", "wall time, all streams", "s", False),
)

CASE = Case(
    name="many",
    title="5. Many concurrent streams",
    metrics=lambda cfg: METRICS,
    params=params,
    run=run,
    needs="server",
    notes=(
        "All streams start together on one warm client; the server paces each at the "
        "configured events/s. A ticker task sleeps 5 ms in a loop and records the "
        "overshoot (loop lag). CPU = this process's user+system time over the streaming "
        "phase, divided by the number of streams (and of events)."
    ),
)
