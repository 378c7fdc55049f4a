"""The production layer's costs, in one run: ``python -m bench.production [--seconds S]``.

1. ``create`` at concurrency 64 against the fake server (its own process), one
   client with the logging hook, usage meter, in-process budget guard, circuit
   breaker and redaction stage all on, one with none: client CPU per request
   (``time.process_time`` of this process over a window / requests). Windows of
   0.25 s alternate between the two clients (paired, so machine drift mostly
   cancels); the ratio is the median of the pairs' ratios. Goal: <= 1.10x.
2. The Redis budget check: one ``reserve`` (one EVALSHA round trip) and one
   ``settle`` vs a bare ``PING`` on the same connection, µs per call.
3. A response-cache hit (in memory) vs a create that goes to the fake server,
   latency per call at concurrency 1. Goal: <= 0.2x.

Results print as a table and go to ``bench/out/production.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import time
from pathlib import Path
from typing import Any

import rawclaude
from rawclaude.policy.budget import Budget, BudgetBook

from . import clients, procs

OUT = Path(__file__).parent / "out"
CONCURRENCY = 64


PIECES = ("log", "meter", "budget", "breaker", "redact")


def _client(base_url: str, on: bool | str) -> rawclaude.Client:
    """No piece (False), all of them (True), or one by name."""
    if not on:
        return rawclaude.Client(clients.API_KEY, base_url=base_url, max_retries=0)
    logger = logging.getLogger("rawclaude")
    logger.setLevel(logging.INFO)  # the hook builds and emits its record
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    want = set(PIECES) if on is True else {on}
    hooks: list[object] = []
    admission: list[object] = []
    if "log" in want:
        hooks.append(rawclaude.LoggingHook())
    if "meter" in want:
        hooks.append(rawclaude.UsageMeter())
    if "budget" in want:
        admission.append(rawclaude.BudgetGuard(Budget("1000000")))
    if "breaker" in want:
        admission.append(rawclaude.CircuitBreakerStage())
    stages = [rawclaude.RedactionStage()] if "redact" in want else []
    return rawclaude.Client(
        clients.API_KEY, base_url=base_url, max_retries=0, hooks=hooks,
        admission=admission, request_stages=stages,  # type: ignore[arg-type]
    )  # fmt: skip


#: One window of the paired CPU cases: short, so that the machine's drift
#: (other tenants, frequency) is nearly the same for the two windows of a pair.
WINDOW_SECONDS = 0.25


async def _window(client: Any, seconds: float) -> float:
    """Client CPU per request (µs) over one window at concurrency 64."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await client.messages.create(**clients.BODY)
            done += 1

    cpu = time.process_time()
    await asyncio.gather(*(loop() for _ in range(CONCURRENCY)))
    return (time.process_time() - cpu) / max(done, 1) * 1e6


async def paired_cpu(bare: Any, full: Any, seconds: float) -> dict[str, Any]:
    """Client CPU per request of ``full`` vs ``bare`` over about ``seconds`` in all.

    Windows of :data:`WINDOW_SECONDS` alternate between the two clients (the
    order flips every pair); each pair gives one ratio and the median of the
    ratios is reported, so a window that a neighbour on the machine slowed
    down moves it little. At least 8 pairs.
    """
    for c in (bare, full):  # warm: connections open, decoders hot
        await _window(c, 0.2)
    pairs = max(8, round(seconds / (2 * WINDOW_SECONDS)))
    ratios, bare_us, full_us = [], [], []
    for i in range(pairs):
        order = (bare, full) if i % 2 == 0 else (full, bare)
        got = {id(c): await _window(c, WINDOW_SECONDS) for c in order}
        bare_us.append(got[id(bare)])
        full_us.append(got[id(full)])
        ratios.append(full_us[-1] / bare_us[-1])
    return {
        "cpu_us_none": statistics.median(bare_us),
        "cpu_us_all_on": statistics.median(full_us),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "pairs": pairs,
    }


async def cpu_case(base_url: str, seconds: float, on: bool | str = True) -> dict[str, Any]:
    """All the pieces (or one, by name) on vs none, over about ``seconds``."""
    bare, full = _client(base_url, False), _client(base_url, on)
    try:
        return await paired_cpu(bare, full, seconds)
    finally:
        await bare.close()
        await full.close()


async def redis_case(url: str, n: int) -> dict[str, Any]:
    import redis.asyncio as aioredis

    raw = aioredis.Redis.from_url(url)
    store = rawclaude.RedisBudgetStore(raw, name="bench")
    book = BudgetBook([Budget("1000000")])
    try:
        for _ in range(200):
            await raw.ping()
            r = await store.reserve(book.lines(1000, {}, 0.0))
            assert r is not None
            await store.settle(r, 500)
        t = time.perf_counter()
        for _ in range(n):
            await raw.ping()
        ping = (time.perf_counter() - t) / n * 1e6
        reserve = settle = 0.0
        for _ in range(n):
            t = time.perf_counter()
            r = await store.reserve(book.lines(1000, {}, 0.0))
            reserve += time.perf_counter() - t
            assert r is not None
            t = time.perf_counter()
            await store.settle(r, 500)
            settle += time.perf_counter() - t
        info = await raw.info("commandstats")
    finally:
        await raw.aclose()
    calls = info.get("cmdstat_evalsha", {}).get("calls", 0)
    return {
        "ping_us": ping,
        "reserve_us": reserve / n * 1e6,
        "settle_us": settle / n * 1e6,
        "evalsha_per_call": calls / (2 * (n + 200)),  # reserve + settle: one each
    }


async def cache_case(base_url: str, n: int) -> dict[str, Any]:
    cache = rawclaude.ResponseCache(ttl=3600)
    cached = rawclaude.Client(clients.API_KEY, base_url=base_url, middleware=[cache])
    plain = rawclaude.Client(clients.API_KEY, base_url=base_url)
    try:
        await cached.messages.create(**clients.BODY)
        for _ in range(50):
            await plain.messages.create(**clients.BODY)
        t = time.perf_counter()
        for _ in range(n):
            await plain.messages.create(**clients.BODY)
        upstream = (time.perf_counter() - t) / n * 1e6
        t = time.perf_counter()
        for _ in range(n):
            message = await cached.messages.create(**clients.BODY)
        hit = (time.perf_counter() - t) / n * 1e6
        assert rawclaude.cache_hit(message)
    finally:
        await cached.close()
        await plain.close()
    return {"upstream_us": upstream, "hit_us": hit, "ratio": hit / upstream}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=24.0, help="CPU case, in all")
    parser.add_argument("-n", type=int, default=2000, help="calls (Redis and cache cases)")
    parser.add_argument("--pieces", action="store_true", help="also each piece alone vs none")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    results: dict[str, Any] = {"command": "python -m bench.production", "args": vars(args)}
    with procs.fake_server(OUT / "production-server.log") as base_url:
        results["cpu"] = asyncio.run(cpu_case(base_url, args.seconds))
        if args.pieces:
            results["pieces"] = {
                piece: asyncio.run(cpu_case(base_url, args.seconds, piece)) for piece in PIECES
            }
        results["cache"] = asyncio.run(cache_case(base_url, args.n))
    with procs.redis_server(OUT / "production-redis.log") as (url, why):
        results["redis"] = asyncio.run(redis_case(url, args.n)) if url else {"skipped": why}
    (OUT / "production.json").write_text(json.dumps(results, indent=2))
    cpu, cache, red = results["cpu"], results["cache"], results["redis"]
    print(f"create c={CONCURRENCY}, client CPU per request: none {cpu['cpu_us_none']:.0f} µs, "
          f"all on {cpu['cpu_us_all_on']:.0f} µs, ratio {cpu['ratio']:.3f}x "
          f"[{cpu['ratio_min']:.3f}, {cpu['ratio_max']:.3f}] (goal <= 1.10x)")  # fmt: skip
    print(f"cache hit {cache['hit_us']:.0f} µs vs upstream create {cache['upstream_us']:.0f} µs: "
          f"{cache['ratio']:.3f}x (goal <= 0.2x)")  # fmt: skip
    for piece, got in results.get("pieces", {}).items():
        print(f"  {piece} alone: {got['ratio']:.3f}x [{got['ratio_min']:.3f}, "
              f"{got['ratio_max']:.3f}]")  # fmt: skip
    if "skipped" in red:
        print(f"redis budget: {red['skipped']}")
    else:
        print(f"redis budget: reserve {red['reserve_us']:.0f} µs, settle {red['settle_us']:.0f} µs,"
              f" PING {red['ping_us']:.0f} µs; EVALSHA per operation "
              f"{red['evalsha_per_call']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
