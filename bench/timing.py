"""Timing helpers used inside workers."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def repeat_async(
    fn: Callable[[], Awaitable[T]], min_time: float, max_runs: int = 1000
) -> tuple[float, T, int]:
    """The async form of :func:`repeat_sync`; also says how many runs it made."""
    times: list[float] = []
    result: T
    while True:
        start = time.perf_counter()
        result = await fn()
        times.append(time.perf_counter() - start)
        if sum(times) >= min_time or len(times) >= max_runs:
            return statistics.median(times), result, len(times)
