"""8a. Limiter: cost of one acquire in process and against Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from .. import floor
from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult

HUGE = 1e12  # a rate and capacity no benchmark can exhaust: acquire never waits


def params(cfg: Config) -> Params:
    return {"calls": cfg.limiter_calls, "redis_calls": cfg.redis_calls}


async def _per_call_async(call: Any, n: int) -> float:
    for _ in range(min(n, 1000)):
        await call()
    start = time.perf_counter()
    for _ in range(n):
        await call()
    return (time.perf_counter() - start) / n


def _per_call_sync(call: Any, n: int) -> float:
    for _ in range(min(n, 1000)):
        call()
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n


async def _redis_call(client: str, url: str) -> tuple[Any, Any]:
    """(call, close) for one Redis round trip: rawclaude's acquire, or the floor's PING."""
    if client == "rawclaude":
        from rawclaude import RedisTokenBucket

        bucket = RedisTokenBucket(url, f"bench-{uuid.uuid4().hex}", HUGE, HUGE)
        return bucket.acquire, bucket.aclose
    import redis.asyncio as aioredis

    conn = aioredis.Redis.from_url(url)
    return conn.ping, conn.aclose


def _local_bucket(client: str) -> Any:
    if client == "rawclaude":
        from rawclaude import TokenBucket

        return TokenBucket(HUGE, HUGE)
    return floor.FloorBucket(HUGE, HUGE)


async def _run(client: str, p: Params) -> WorkerResult:
    bucket = _local_bucket(client)
    metrics = {
        "acquire_ns": await _per_call_async(bucket.acquire, p["calls"]) * 1e9,
        "try_acquire_ns": _per_call_sync(bucket.try_acquire, p["calls"]) * 1e9,
    }
    info: dict[str, str] = {}
    if p.get("redis_url"):
        call, close = await _redis_call(client, p["redis_url"])
        try:
            metrics["redis_us"] = await _per_call_async(call, p["redis_calls"]) * 1e6
        finally:
            await close()
    else:
        info["redis"] = p.get("redis_skip", "no redis-server")
    return {"metrics": metrics, "info": info}


def run(client: str, p: Params) -> WorkerResult:
    if client == "sdk":
        return {"na": "the official SDK has no client-side rate limiter"}
    return asyncio.run(_run(client, p))


METRICS = (
    Metric("acquire_ns", "in process: await acquire()", "ns", False),
    Metric("try_acquire_ns", "in process: try_acquire()", "ns", False),
    Metric("redis_us", "Redis: one call (floor: bare PING)", "µs", False),
)

CASE = Case(
    name="limiter",
    title="8a. Limiter overhead per call",
    metrics=lambda cfg: METRICS,
    params=params,
    run=run,
    needs="redis",
    notes=(
        "rawclaude.TokenBucket vs the floor's 10-line bucket (refill from the clock, "
        "subtract; no queue, no validation), rate and capacity 1e12 so nothing waits. "
        "Redis: rawclaude.RedisTokenBucket.acquire() (one EVALSHA of its Lua script) vs a "
        "bare PING on redis.asyncio, sequential calls, to a redis-server on 127.0.0.1 "
        "started for the case (--save '' --appendonly no)."
    ),
)
