"""Medians, percentiles and min-max summaries; nothing here invents a number."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median with min and max, and how many values they come from."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": float(len(values)),
    }


def paired_ratio(values: Sequence[float | None], refs: Sequence[float | None]) -> float | None:
    """Median of run-by-run ratios (run k of one client over run k of the other).

    Runs are interleaved, so pairing cancels most of the drift of a busy machine.
    """
    ratios = [v / r for v, r in zip(values, refs, strict=False) if v is not None and r]
    return statistics.median(ratios) if ratios else None


def paired_diff(values: Sequence[float | None], refs: Sequence[float | None]) -> float | None:
    """Median of run-by-run differences (run k of one client minus run k of the other)."""
    diffs = [v - r for v, r in zip(values, refs, strict=False) if v is not None and r is not None]
    return statistics.median(diffs) if diffs else None
