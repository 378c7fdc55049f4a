"""2. One long stream end to end against the local fake server."""

from __future__ import annotations

import asyncio
import time

from .. import clients
from ..config import Config
from ..payload import FRAMING_EVENTS, SERVER_DELTA_TEXT, server_delta_header
from ..spec import Case, Metric, Params, WorkerResult
from ..timing import repeat_async

WARMUP_DELTAS = 500


def params(cfg: Config) -> Params:
    return {"events": cfg.stream_events, "min_time": cfg.stream_min_time}


def stream_headers(deltas: int) -> dict[str, str]:
    return {"x-fake-deltas": str(deltas), "x-fake-delta-text": server_delta_header()}


async def _run(client: str, p: Params) -> WorkerResult:
    adapter = clients.make(client, p["base_url"])
    try:
        await adapter.stream_text(stream_headers(WARMUP_DELTAS))
        headers = stream_headers(p["events"])
        cpu = time.process_time()
        seconds, text, runs = await repeat_async(
            lambda: adapter.stream_text(headers), p["min_time"]
        )
        cpu = (time.process_time() - cpu) / runs
    finally:
        await adapter.aclose()
    if text != SERVER_DELTA_TEXT * p["events"]:
        raise AssertionError(f"{client}: streamed text differs from what the server sent")
    events = p["events"] + FRAMING_EVENTS
    metrics = {"events_per_s": events / seconds, "cpu_us_per_event": cpu / events * 1e6}
    return {"metrics": metrics, "info": {"streams_timed": runs}}


def run(client: str, p: Params) -> WorkerResult:
    return asyncio.run(_run(client, p))


METRICS = (
    Metric("events_per_s", "events/s end to end", "ev/s", True),
    Metric("cpu_us_per_event", "client CPU per event", "µs", False),
)

CASE = Case(
    name="stream",
    title="2. One long stream end to end",
    metrics=lambda cfg: METRICS,
    params=params,
    run=run,
    needs="server",
    prime=lambda cfg: [stream_headers(cfg.stream_events)],
    notes=(
        "Warm client, one stream of N text deltas from the fake server (its default "
        "~64 KiB writes), consumed with get_final_message() (floor: parse + join); "
        "the fastest of repeated streams in a worker (load from neighbours only slows a run)."
    ),
)
