"""12. Batch results: 100,000 realistic results read from a results_url.

Every client reads the results the way its users would: rawclaude with
``client.messages.batches.results(id)``, the SDK with
``await client.messages.batches.results(id)``, the floor with bare aiohttp,
a split on LF and msgspec (bench/batch_floor.py). Each counts the results
and sums their output tokens (so every result is really decoded and
touched), and the three must agree.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache

from .. import batch_floor, rss
from ..batch_payload import result_lines
from ..clients import API_KEY
from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult

WARMUP = 1_000
MIB = 1024 * 1024
Reader = Callable[[str], Awaitable[tuple[int, int]]]


@lru_cache(maxsize=4)
def longest_line(count: int) -> int:
    return max(map(len, result_lines(count)))


def params(cfg: Config) -> Params:
    count = cfg.batch_results
    return {"count": count, "longest_line": longest_line(count), "pairs": cfg.batch_pairs}


def _reader(client: str, base_url: str) -> tuple[Reader, Callable[[], Awaitable[None]]]:
    """(read(batch_id) -> (results, output tokens), close) for one client."""
    if client == "rawclaude":
        import rawclaude

        raw = rawclaude.Client(API_KEY, base_url=base_url, max_retries=0)

        async def read_raw(batch_id: str) -> tuple[int, int]:
            count = tokens = 0
            async for item in raw.messages.batches.results(batch_id):
                count += 1
                message = item.message
                if message is not None:
                    tokens += message.usage.output_tokens
            return count, tokens

        return read_raw, raw.close
    if client == "sdk":
        import anthropic

        sdk = anthropic.AsyncAnthropic(api_key=API_KEY, base_url=base_url, max_retries=0)

        async def read_sdk(batch_id: str) -> tuple[int, int]:
            count = tokens = 0
            async for item in await sdk.messages.batches.results(batch_id):
                count += 1
                if item.result.type == "succeeded":
                    tokens += item.result.message.usage.output_tokens
            return count, tokens

        return read_sdk, sdk.close

    async def read_floor(batch_id: str) -> tuple[int, int]:
        return await batch_floor.read_results(base_url, batch_id, API_KEY)

    async def nothing() -> None:
        return None

    return read_floor, nothing


async def _timed(read: Reader, batch_id: str) -> tuple[float, tuple[int, int], int]:
    """(seconds, what was read, peak RSS growth in KiB) of one read."""
    before = rss.reset_peak()
    start = time.perf_counter()
    got = await read(batch_id)
    seconds = time.perf_counter() - start
    return seconds, got, rss.peak_kib() - before


async def _run(client: str, p: Params) -> WorkerResult:
    read, close = _reader(client, p["base_url"])
    floor, _ = _reader("floor", p["base_url"])
    batch_id = f"msgbatch_n{p['count']}"
    try:
        await read(f"msgbatch_n{WARMUP}")
        seconds, got, growth = await _timed(read, batch_id)
        ratios = []
        if client == "rawclaude":
            # Paired in this process, run against neighbouring run: the shared
            # machine's speed drifts too much for ratios across processes.
            await floor(f"msgbatch_n{WARMUP}")
            for _ in range(p["pairs"]):
                mine, again, _ = await _timed(read, batch_id)
                theirs, floor_got, _ = await _timed(floor, batch_id)
                if again != got or floor_got != got:
                    raise AssertionError("rawclaude and the floor read different results")
                seconds = min(seconds, mine)
                ratios.append(theirs / mine)
    finally:
        await close()
    if got[0] != p["count"]:
        raise AssertionError(f"{client}: read {got[0]} results, expected {p['count']}")
    metrics = {
        "results_per_s": p["count"] / seconds,
        "rss_growth_mib": growth / 1024,
    }
    if ratios:
        metrics["vs_floor"] = statistics.median(ratios)
    return {"metrics": metrics, "info": {"output_tokens": got[1]}}


def run(client: str, p: Params) -> WorkerResult:
    return asyncio.run(_run(client, p))


METRICS = (
    Metric("results_per_s", "results/s", "res/s", True),
    Metric("rss_growth_mib", "peak RSS growth while reading", "MiB", False),
    Metric("vs_floor", "results/s vs floor, paired in process", "x", True),
)

CASE = Case(
    name="batch_results",
    title="12. Batch results: 100,000 realistic results",
    metrics=lambda cfg: METRICS,
    params=params,
    run=run,
    needs="results",
    notes=(
        "A results server process (bench/results_server.py) serves an ended batch and its "
        "JSONL in 64 KiB writes: 98% short Haiku classifications, 2% answers of 2-12 KB, "
        "a few errored/canceled/expired. Each client reads every result and sums output "
        "tokens. Peak RSS growth: VmHWM reset before the read, minus RSS then. rawclaude's "
        "worker also runs the floor, read against read, for the paired ratio."
    ),
)
