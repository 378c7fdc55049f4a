"""What a case declares: its clients, its metrics, its worker parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import Config

Params = dict[str, Any]
#: What a worker prints: {"metrics": {key: number}, "info": {...}} or {"na": reason}.
WorkerResult = dict[str, Any]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    higher_is_better: bool

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"


@dataclass(frozen=True)
class Case:
    """A benchmark case. ``run`` executes inside a worker process."""

    name: str
    title: str
    metrics: Callable[[Config], tuple[Metric, ...]]
    params: Callable[[Config], Params]
    run: Callable[[str, Params], WorkerResult]
    clients: tuple[str, ...] = ("rawclaude", "sdk", "floor")
    needs: str | None = None  # "server", "results", "redis" or None
    reps: Callable[[Config], int] = field(default=lambda cfg: cfg.reps)
    #: Headers of replies the server should render before the first worker starts.
    prime: Callable[[Config], list[dict[str, str]]] = field(default=lambda cfg: [])
    notes: str = ""
