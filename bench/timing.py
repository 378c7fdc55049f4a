"""Timing helpers used inside workers."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def repeat_async(
    fn: Callable[[], Awaitable[T]], min_time: float, max_runs: int = 1000
) -> tuple[float, T, int]:
    """Run ``fn`` until ``min_time`` is spent; the fastest run's seconds, the last
    result, and how many runs were made.

    The fastest run, not the median: on a shared machine, neighbours' load only
    ever slows a run down, so the minimum is the least disturbed estimate (the
    reasoning of the ``timeit`` docs). Every client is measured the same way.
    """
    times: list[float] = []
    result: T
    while True:
        start = time.perf_counter()
        result = await fn()
        times.append(time.perf_counter() - start)
        if sum(times) >= min_time or len(times) >= max_runs:
            return min(times), result, len(times)
