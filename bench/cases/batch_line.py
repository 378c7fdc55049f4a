"""13. Batch results: one long line (1 MiB, then 4 MiB), each client's time.

The official SDK's reader joins its buffer per 64-byte piece, so its time
grows with the square of the line; rawclaude's framer scans each byte once.
"""

from __future__ import annotations

import asyncio

from ..batch_payload import one_line_body
from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult
from .batch_results import MIB, WARMUP, _reader, _timed


def _label(size: int) -> str:
    return f"{size // MIB} MiB" if size >= MIB else f"{size // 1024} KiB"


def line_params(cfg: Config) -> Params:
    return {"sizes": list(cfg.batch_line_sizes), "rounds": cfg.batch_line_rounds}


async def _run_line(client: str, p: Params) -> WorkerResult:
    read, close = _reader(client, p["base_url"])
    small, large = p["sizes"]
    times: dict[int, float] = {}
    try:
        await read(f"msgbatch_n{WARMUP // 10}")
        for size in (small, large):
            runs = [(await _timed(read, f"msgbatch_line{size}"))[0] for _ in range(p["rounds"])]
            times[size] = min(runs)
    finally:
        await close()
    metrics = {
        "large_line_s": times[large],
        "small_line_s": times[small],
        "large_mib_per_s": len(one_line_body(large)) / MIB / times[large],
        "scaling": times[large] / times[small],
    }
    return {"metrics": metrics, "info": {"sizes": [small, large]}}


def run_line(client: str, p: Params) -> WorkerResult:
    return asyncio.run(_run_line(client, p))


def _line_metrics(cfg: Config) -> tuple[Metric, ...]:
    small, large = cfg.batch_line_sizes
    ratio = large // small
    return (
        Metric("large_line_s", f"one {_label(large)} result line", "s", False),
        Metric("small_line_s", f"one {_label(small)} result line", "s", False),
        Metric(
            "scaling", f"time ratio {_label(large)} / {_label(small)} (linear: {ratio})", "x", False
        ),
    )


CASE = Case(
    name="batch_line",
    title="13. Batch results: one long line",
    metrics=_line_metrics,
    params=line_params,
    run=run_line,
    needs="results",
    notes=(
        "One succeeded result whose line is 1 MiB, then 4 MiB (smoke: 64 and 256 KiB), from "
        "the results server in 64 KiB writes; fastest of a few reads. Linear framing takes "
        "about 4x as long for 4x the bytes; a reader that re-joins its buffer per piece, ~16x."
    ),
)
