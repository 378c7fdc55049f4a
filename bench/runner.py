"""Runs the cases: servers up, workers interleaved round by round, results collected."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import procs
from .config import Config
from .spec import Case, Metric, WorkerResult


@dataclass
class CaseRun:
    case: Case
    metrics: tuple[Metric, ...]
    params: dict[str, Any]
    #: per client, one entry per round (None when that run failed)
    runs: dict[str, list[WorkerResult | None]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Progress:
    """One stderr line, rewritten in place with ``\\r``."""

    def __init__(self, total_cases: int) -> None:
        self.total = total_cases
        self.index = 0
        self.start = time.monotonic()
        self.width = 0

    def show(self, text: str) -> None:
        elapsed = time.monotonic() - self.start
        line = f"[{self.index}/{self.total}] {text}  ({elapsed:4.0f} s)"
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()
        self.width = len(line)

    def done(self) -> None:
        sys.stderr.write("\r" + " " * self.width + "\r")
        sys.stderr.flush()


def rotated(clients: tuple[str, ...], round_: int) -> list[str]:
    """Round r starts with client r: no client always runs first (or last)."""
    shift = round_ % len(clients)
    return list(clients[shift:] + clients[:shift])


@contextlib.contextmanager
def _resources(case: Case, cfg: Config, logs: Path) -> Iterator[dict[str, Any]]:
    if case.needs == "server":
        with procs.fake_server(logs / f"server-{case.name}.log") as url:
            for headers in case.prime(cfg):
                procs.prime(url, headers)
            yield {"base_url": url}
    elif case.needs == "results":
        with procs.fake_server(logs / f"server-{case.name}.log", "bench.results_server") as url:
            yield {"base_url": url}
    elif case.needs == "redis":
        with procs.redis_server(logs / f"redis-{case.name}.log") as (url, why):
            yield {"redis_url": url, "redis_skip": why}
    else:
        yield {}


def run_case(case: Case, cfg: Config, out: Path, progress: Progress) -> CaseRun:
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result = CaseRun(case, case.metrics(cfg), case.params(cfg))
    result.runs = {client: [] for client in case.clients}
    params = {**result.params, "repo": str(procs.REPO)}
    reps = case.reps(cfg)
    with _resources(case, cfg, logs) as extra:
        params.update(extra)
        for round_ in range(reps):
            for client in rotated(case.clients, round_):
                progress.show(f"{case.name}: {client}, run {round_ + 1}/{reps}")
                run_params = {**params, "round": round_}
                result.runs[client].append(
                    _one(case, client, run_params, cfg, result.errors, round_)
                )
    result.seconds = time.monotonic() - started
    return result


def _one(
    case: Case, client: str, params: dict[str, Any], cfg: Config, errors: list[str], round_: int
) -> WorkerResult | None:
    try:
        return procs.run_worker(case.name, client, params, cfg.worker_timeout)
    except procs.WorkerError as exc:
        errors.append(f"{client}, run {round_ + 1}: {exc}")
        return None


def run_all(cases: list[Case], cfg: Config, out: Path) -> list[CaseRun]:
    progress = Progress(len(cases))
    results = []
    try:
        for index, case in enumerate(cases, 1):
            progress.index = index
            results.append(run_case(case, cfg, out, progress))
    finally:
        progress.done()
    return results
