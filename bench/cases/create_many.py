"""15. ``create_many`` of 250,000 small requests: peak RSS growth vs one batch body.

The requests come from a generator; rawclaude encodes them straight into the
body of the batch being built and sends it when full (100,000 requests), so
the goal is a peak RSS growth of at most twice the largest batch body. The
bench server parses each body and drops it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

from .. import rss
from ..batch_payload import LABELS, MODEL
from ..clients import API_KEY
from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult

MIB = 1024 * 1024


def params(cfg: Config) -> Params:
    return {"requests": cfg.create_many_requests}


def requests(count: int) -> Iterator[dict[str, Any]]:
    """Small ticket-triage requests, made one at a time (never all in memory)."""
    for i in range(count):
        text = f"Ticket #{i}: I was charged twice for my plan, please refund one. ({LABELS[i % 7]})"
        yield {
            "custom_id": f"ticket-{i:07d}",
            "params": {
                "model": MODEL,
                "max_tokens": 16,
                "system": "Answer with one label.",
                "messages": [{"role": "user", "content": text}],
            },
        }


def _largest_body(count: int) -> int:
    from rawclaude.wire.batch_requests import encode_batches
    from rawclaude.wire.headers import DEFAULT_API_VERSION

    return max(len(b.body) for b in encode_batches(requests(count), DEFAULT_API_VERSION))


async def _run(p: Params) -> tuple[float, int, int]:
    import rawclaude

    async with rawclaude.Client(API_KEY, base_url=p["base_url"], max_retries=0) as client:
        await client.messages.batches.create_many(requests(10))
        before = rss.reset_peak()
        start = time.perf_counter()
        made = await client.messages.batches.create_many(requests(p["requests"]))
        seconds = time.perf_counter() - start
        growth = rss.peak_kib() - before
    return seconds, sum(b.request_counts.processing for b in made), growth


def run(client: str, p: Params) -> WorkerResult:
    seconds, sent, growth = asyncio.run(_run(p))
    if sent != p["requests"]:
        raise AssertionError(f"sent {sent} requests, expected {p['requests']}")
    largest = _largest_body(p["requests"])
    metrics = {
        "rss_growth_mib": growth / 1024,
        "largest_batch_mib": largest / MIB,
        "growth_vs_batch": growth * 1024 / largest,
        "requests_per_s": sent / seconds,
    }
    return {"metrics": metrics, "info": {"batches": -(-sent // 100_000)}}


METRICS = (
    Metric("rss_growth_mib", "peak RSS growth during create_many", "MiB", False),
    Metric("largest_batch_mib", "largest batch body", "MiB", False),
    Metric("growth_vs_batch", "peak growth / largest batch body", "x", False),
    Metric("requests_per_s", "requests checked, encoded and sent per second", "req/s", True),
)

CASE = Case(
    name="create_many",
    title="15. create_many of 250,000 small requests",
    metrics=lambda cfg: METRICS,
    params=params,
    run=run,
    clients=("rawclaude",),
    needs="results",
    notes=(
        "A generator of small classification requests; batches of 100,000 sent to the bench "
        "server (parsed, dropped). Peak RSS growth from a VmHWM reset before the call."
    ),
)
