"""8b. Several processes sharing one Redis bucket: the rate they hold, and its bound."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult


def params(cfg: Config) -> Params:
    return {
        "procs": cfg.share_procs,
        "rate": cfg.share_rate,
        "capacity": cfg.share_capacity,
        "seconds": cfg.share_seconds,
        # time for the processes to start and connect before the common start
        "start_delay": cfg.share_start_delay,
    }


def max_excess(stamps: list[float], rate: float, capacity: float) -> float:
    """max over windows [t_i, t_j] of grants in it minus (rate * (t_j - t_i) + capacity).

    Grants i..j number j - i + 1, so the excess is (j - rate t_j) - (i - rate t_i)
    + 1 - capacity: one pass keeping the least (i - rate t_i) seen so far.
    """
    best, least = -capacity, float("inf")
    for j, t in enumerate(sorted(stamps)):
        least = min(least, j - rate * t)
        best = max(best, (j - rate * t) - least + 1 - capacity)
    return best


def _spawn(p: Params, key: str, start_at: float) -> list[subprocess.Popen[str]]:
    args = [
        p["redis_url"],
        key,
        str(p["rate"]),
        str(p["capacity"]),
        str(start_at),
        str(p["seconds"]),
    ]
    return [
        subprocess.Popen(
            [sys.executable, "-m", "bench.limshare", *args], stdout=subprocess.PIPE, text=True
        )
        for _ in range(p["procs"])
    ]


def run(client: str, p: Params) -> WorkerResult:
    if client != "rawclaude":
        return {"na": "only rawclaude has a limiter shared across processes"}
    if not p.get("redis_url"):
        return {"na": p.get("redis_skip", "no redis-server")}
    procs = _spawn(p, f"bench-share-{uuid.uuid4().hex}", time.time() + p["start_delay"])
    per_proc = []
    for proc in procs:
        out, _ = proc.communicate(timeout=p["start_delay"] + p["seconds"] + 60)
        if proc.returncode:
            raise RuntimeError(f"a bench.limshare process exited with {proc.returncode}")
        per_proc.append(json.loads(out))
    stamps = [t for stamps in per_proc for t in stamps]
    granted_per_s = len(stamps) / p["seconds"]
    metrics = {
        "granted_per_s": granted_per_s,
        "of_rate": granted_per_s / p["rate"],
        "bound_of_rate": (p["rate"] * p["seconds"] + p["capacity"]) / p["seconds"] / p["rate"],
        "max_excess": max_excess(stamps, p["rate"], p["capacity"]),
    }
    return {"metrics": metrics, "info": {"grants_per_process": [len(s) for s in per_proc]}}


METRICS = (
    Metric("granted_per_s", "granted/s, all processes", "/s", True),
    Metric("of_rate", "granted/s ÷ rate", "x", True),
    Metric("bound_of_rate", "upper bound (rate·T + capacity)/T ÷ rate", "x", True),
    Metric("max_excess", "max over windows: grants - (rate·t + capacity)", "tokens", False),
)

CASE = Case(
    name="share",
    title="8b. Processes sharing one Redis bucket",
    metrics=lambda cfg: METRICS,
    params=params,
    run=run,
    needs="redis",
    reps=lambda cfg: 1,
    notes=(
        "N processes (python -m bench.limshare) loop on RedisTokenBucket.acquire() on one "
        "key from a common start, for T seconds; grant times are each process's time.time() "
        "right after the grant. max_excess <= 0 means no window ever saw more than "
        "rate·t + capacity grants (local timestamps add a little jitter to that check)."
    ),
)
