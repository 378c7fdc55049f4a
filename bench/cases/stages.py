"""4b. What the pipeline's stages cost: create at c=64 with stages on vs off.

One worker, two rawclaude clients on the same fake server: a plain one, and one
with a RateLimiter (limits no benchmark can reach, so nothing waits) and a
no-op hook. Windows of 0.25 s alternate between them; each pair gives a ratio
of client CPU per request (the machine's speed drifts, so only neighbours are
compared), and the median of those ratios is reported
(``bench.production.paired_cpu``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from .. import clients
from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult


def params(cfg: Config) -> Params:
    return {"seconds": cfg.create_seconds * 8}


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


async def _run(p: Params) -> WorkerResult:
    from .. import production

    plain, staged = _clients(p["base_url"])
    try:
        cpu = await production.paired_cpu(plain, staged, p["seconds"])
    finally:
        await plain.close()
        await staged.close()
    return {
        "metrics": {
            "cpu_ratio": cpu["ratio"],
            "plain_cpu_us": cpu["cpu_us_none"],
            "staged_cpu_us": cpu["cpu_us_all_on"],
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
        "nothing waits) and one no-op hook (on_request and on_complete). Alternating "
        "windows of 0.25 s at c=64 (at least 8 pairs; quick 8, full 32); the ratio is the "
        "median of the pairs' CPU ratios."
    ),
)
