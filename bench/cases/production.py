"""4c. The production layer's cost: create at c=64 with every piece on vs none.

One worker, two rawclaude clients on the same fake server: a plain one, and one
with the logging hook (a NullHandler: the record is built and handled), usage
meter, in-process budget guard, circuit breaker and redaction stage. Windows
of 0.25 s alternate between them; each pair gives a ratio of client CPU per
request and the median is reported (``bench.production.paired_cpu``). Then
an in-memory response-cache hit against a create that goes to the server, at
concurrency 1. The Redis budget round trip is measured by
``python -m bench.production`` (it needs a redis-server of its own).
"""

from __future__ import annotations

import asyncio

from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult


def params(cfg: Config) -> Params:
    return {
        "seconds": cfg.create_seconds * 16,
        "cache_calls": max(20, int(cfg.create_seconds * 400)),
    }


async def _run(p: Params) -> WorkerResult:
    from .. import production

    cpu = await production.cpu_case(p["base_url"], p["seconds"])
    cache = await production.cache_case(p["base_url"], p["cache_calls"])
    return {
        "metrics": {
            "cpu_ratio": cpu["ratio"],
            "none_cpu_us": cpu["cpu_us_none"],
            "all_cpu_us": cpu["cpu_us_all_on"],
            "cache_ratio": cache["ratio"],
            "cache_hit_us": cache["hit_us"],
            "upstream_us": cache["upstream_us"],
        }
    }


def run(client: str, p: Params) -> WorkerResult:
    return asyncio.run(_run(p))


METRICS = (
    Metric("cpu_ratio", "client CPU per request, all pieces on ÷ none (paired)", "x", False),
    Metric("none_cpu_us", "client CPU per request, no piece", "µs", False),
    Metric("all_cpu_us", "client CPU per request, all five pieces", "µs", False),
    Metric("cache_ratio", "cache hit latency ÷ create to the server", "x", False),
    Metric("cache_hit_us", "cache hit latency (in memory)", "µs", False),
    Metric("upstream_us", "create latency to the fake server, c=1", "µs", False),
)


def _metrics(cfg: Config) -> tuple[Metric, ...]:
    return METRICS


CASE = Case(
    name="production",
    title="4c. Production layer: create at c=64, log + meter + budget + breaker + redaction",
    metrics=_metrics,
    params=params,
    run=run,
    clients=("rawclaude",),
    needs="server",
    reps=lambda cfg: cfg.create_reps,
    notes=(
        "Two rawclaude clients in one worker: plain, and with LoggingHook (NullHandler), "
        "UsageMeter, BudgetGuard (in process), CircuitBreakerStage and RedactionStage. "
        "Alternating windows of 0.25 s at c=64 (at least 8 pairs; quick 16, full 64); the "
        "ratio is the median of the pairs' CPU ratios. Cache: ResponseCache hit vs create, c=1."
    ),
)
