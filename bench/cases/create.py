"""4. Non-streaming ``create`` at several concurrency levels, for a fixed time each."""

from __future__ import annotations

import asyncio
import statistics
import time

from .. import clients
from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult
from ..stats import percentile


def params(cfg: Config) -> Params:
    return {"levels": list(cfg.create_levels), "seconds": cfg.create_seconds}


#: Each level's time is cut into this many windows per client.
WINDOWS = 3


async def _level(
    adapter: clients.Adapter,
    concurrency: int,
    seconds: float,
    reference: clients.Adapter | None,
) -> dict[str, float]:
    """Windows of this client, each followed by one of the floor in the same process.

    The machine's speed drifts by up to 2x from second to second (shared
    cores), so the comparison that counts is made window against neighbouring
    window, in one process: ``vs_floor`` is the median of those ratios. The
    client's own numbers are those of its best window (drift only slows).
    """
    for client in (adapter, reference):
        if client is not None:
            await _warm(client, concurrency)
    mine: list[dict[str, float]] = []
    ratios: list[float] = []
    key = f"rps@{concurrency}"
    for _ in range(WINDOWS):
        mine.append(await _window(adapter, concurrency, seconds / WINDOWS))
        if reference is not None:
            ref = await _window(reference, concurrency, seconds / WINDOWS)
            ratios.append(mine[-1][key] / ref[key])
    best = max(mine, key=lambda m: m[key])
    best[f"vs_floor@{concurrency}"] = statistics.median(ratios) if ratios else 1.0
    return best


async def _warm(adapter: clients.Adapter, concurrency: int) -> None:
    # Open as many connections as the level will use, and check the reply.
    texts = await asyncio.gather(*(adapter.create() for _ in range(concurrency)))
    if any(text != clients.PROMPT for text in texts):
        raise AssertionError("create returned another text than the server's echo")


async def _window(adapter: clients.Adapter, concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await adapter.create()
            latencies.append(time.perf_counter() - start)

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        f"cpu_us@{concurrency}": cpu / len(latencies) * 1e6,
        f"rps@{concurrency}": len(latencies) / elapsed,
        f"p50_ms@{concurrency}": percentile(latencies, 50) * 1e3,
        f"p99_ms@{concurrency}": percentile(latencies, 99) * 1e3,
    }


async def _run(client: str, p: Params) -> WorkerResult:
    adapter = clients.make(client, p["base_url"])
    reference = None if client == "floor" else clients.make("floor", p["base_url"])
    metrics: dict[str, float] = {}
    try:
        for level in p["levels"]:
            metrics.update(await _level(adapter, level, p["seconds"], reference))
    finally:
        await adapter.aclose()
        if reference is not None:
            await reference.aclose()
    return {"metrics": metrics}


def run(client: str, p: Params) -> WorkerResult:
    return asyncio.run(_run(client, p))


def _metrics(cfg: Config) -> tuple[Metric, ...]:
    out: list[Metric] = []
    for c in cfg.create_levels:
        out.append(Metric(f"rps@{c}", f"c={c}: requests/s", "req/s", True))
        out.append(Metric(f"p50_ms@{c}", f"c={c}: latency p50", "ms", False))
        out.append(Metric(f"p99_ms@{c}", f"c={c}: latency p99", "ms", False))
        out.append(Metric(f"cpu_us@{c}", f"c={c}: client CPU per request", "µs", False))
        out.append(
            Metric(f"vs_floor@{c}", f"c={c}: req/s ÷ floor's, same process, paired", "x", True)
        )
    return tuple(out)


CASE = Case(
    name="create",
    title="4. Non-streaming create",
    metrics=_metrics,
    params=params,
    run=run,
    needs="server",
    reps=lambda cfg: cfg.create_reps,
    notes=(
        "One warm client; at each level, that many tasks call create() in a loop for a fixed "
        "time (after one warm-up round that opens the connections), cut into 3 windows; the "
        "client's numbers are its fastest window. rawclaude's and the SDK's workers also run "
        "a floor client in the same process, a window after each of theirs: 'req/s ÷ floor's' "
        "is the median of those neighbouring-window ratios, the comparison the goal uses "
        "(the machine's speed drifts from second to second). Reply: the server's "
        "echo of a short prompt. Pools: rawclaude 256 (its default), floor 256, SDK its "
        "default (1000, 100 kept alive). Server and client share the 2 cores, so requests/s "
        "moves with other load on the machine; client CPU per request (time.process_time of "
        "the worker over the window / requests) does much less."
    ),
)
