"""3. Time to first text delta, warm (one reused client) and cold (a new client each time).

Each sample runs from just before the call (cold: just before the client is
created) to the moment the client hands over the first text piece; the rest of
the stream is then read untimed, so a warm connection goes back to the pool.
The server holds the first event back ``delay`` seconds; "added" is the sample
minus that delay (what the client, the loopback and the server's own work add).
"""

from __future__ import annotations

import asyncio
import time

from .. import clients
from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult
from ..stats import percentile

WARMUP = 5


def params(cfg: Config) -> Params:
    return {
        "delay": cfg.ttft_delay,
        "deltas": cfg.ttft_deltas,
        "warm": cfg.ttft_warm,
        "cold": cfg.ttft_cold,
    }


def _headers(p: Params) -> dict[str, str]:
    return {"x-fake-deltas": str(p["deltas"]), "x-fake-first-event-delay": str(p["delay"])}


async def _warm(client: str, p: Params) -> list[float]:
    adapter = clients.make(client, p["base_url"])
    headers, samples = _headers(p), []
    try:
        for i in range(WARMUP + p["warm"]):
            start = time.perf_counter()
            first = await adapter.first_text(headers)
            if i >= WARMUP:
                samples.append(first - start)
    finally:
        await adapter.aclose()
    return samples


async def _cold(client: str, p: Params) -> list[float]:
    headers, samples = _headers(p), []
    for _ in range(p["cold"]):
        start = time.perf_counter()
        adapter = clients.make(client, p["base_url"])
        try:
            first = await adapter.first_text(headers)
        finally:
            await adapter.aclose()
        samples.append(first - start)
    return samples


def _describe(prefix: str, samples: list[float], delay: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for q in (50, 99):
        total = percentile(samples, q) * 1e3
        out[f"{prefix}_total_p{q}_ms"] = total
        out[f"{prefix}_added_p{q}_ms"] = total - delay * 1e3
    return out


async def _run(client: str, p: Params) -> WorkerResult:
    warm = await _warm(client, p)
    cold = await _cold(client, p)
    metrics = {**_describe("warm", warm, p["delay"]), **_describe("cold", cold, p["delay"])}
    return {"metrics": metrics, "info": {"warm_samples": len(warm), "cold_samples": len(cold)}}


def run(client: str, p: Params) -> WorkerResult:
    return asyncio.run(_run(client, p))


def _metrics(cfg: Config) -> tuple[Metric, ...]:
    delay = f"{cfg.ttft_delay * 1e3:g} ms"
    out = []
    for kind in ("warm", "cold"):
        for q in (50, 99):
            out.append(Metric(f"{kind}_total_p{q}_ms", f"{kind}: first delta p{q}", "ms", False))
            out.append(
                Metric(f"{kind}_added_p{q}_ms", f"{kind}: added over {delay} p{q}", "ms", False)
            )
    return tuple(out)


CASE = Case(
    name="ttft",
    title="3. Time to first text delta",
    metrics=_metrics,
    params=params,
    run=run,
    needs="server",
    notes=(
        "Server first-event delay is the configured delay; 'added' = measured - delay. "
        "Warm: one client reused, sequential samples after 5 warm-ups. Cold: a new client "
        "(and so a new connection) per sample, its construction included in the time. "
        "rawclaude/SDK take the first item of text_stream; floor its first parsed text."
    ),
)
