"""A usage meter: tokens and cost per model, per day (UTC) and per tag.

A hook: every finished call's usage counts, streams included -- a stream closed
early or abandoned reports the last usage it saw, and what was generated is
billed. Batch results are added with :meth:`UsageMeter.add_batch_results`
(priced at the batch discount). A response served from the response cache
never reaches the pipeline, so it costs nothing here. A model with no price
is counted in tokens and listed in ``unpriced``; its cost is not guessed.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..client.hooks import CallRecord, Hook
from ..policy.cost import TokenUsage, cost_units, token_usage, units_to_usd, usage_source
from ..policy.prices import PriceTable

__all__ = ["UsageMeter", "UsageTotals"]


@dataclass(slots=True)
class UsageTotals:
    """Sums over some calls."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0
    #: The cost in exact integer units of 1e-15 USD (see :attr:`cost`).
    cost_units: int = 0
    unpriced_calls: int = 0

    @property
    def cost(self) -> Decimal:
        """USD, exact."""
        return units_to_usd(self.cost_units)

    def add(self, other: UsageTotals) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_Key = tuple[str, str, tuple[tuple[str, str], ...]]


class UsageMeter(Hook):
    """Totals per (day, model, tags); views by model, day and tag. Thread-safe."""

    def __init__(self, *, prices: PriceTable | None = None) -> None:
        self.prices = prices
        self._rows: dict[_Key, UsageTotals] = {}
        self.unpriced: dict[str, int] = {}
        self._lock = threading.Lock()

    def on_complete(self, record: CallRecord) -> None:
        tokens = record.tokens
        if tokens is None:
            return
        self._count(tokens, record.model, False, record.tags, record.started_at)

    def add(
        self,
        usage: Any,
        *,
        model: str | None,
        tags: Mapping[str, str] | None = None,
        when: float | None = None,
        batch: bool = False,
    ) -> None:
        """Count one call's usage (a Usage, a usage dict, a Message or a batch result)."""
        raw, found_model, in_batch = usage_source(usage)
        self._count(token_usage(raw), model or found_model, batch or in_batch, tags, when)

    def _count(
        self,
        tokens: TokenUsage,
        model: str | None,
        batch: bool,
        tags: Mapping[str, str] | None,
        when: float | None,
    ) -> None:
        units = cost_units(tokens, model, batch=batch, prices=self.prices)
        day = _day(when or _now())
        key: _Key = (day, model or "-", tuple(sorted(tags.items())) if tags else ())
        with self._lock:
            row = self._rows.get(key)
            if row is None:
                row = self._rows[key] = UsageTotals()
            row.calls += 1
            row.input_tokens += tokens.input
            row.output_tokens += tokens.output
            row.cache_write_5m_tokens += tokens.cache_write_5m
            row.cache_write_1h_tokens += tokens.cache_write_1h
            row.cache_read_tokens += tokens.cache_read
            if units is None:
                row.unpriced_calls += 1
                self.unpriced[model or "-"] = self.unpriced.get(model or "-", 0) + 1
            else:
                row.cost_units += units

    def add_batch_results(
        self, results: Iterable[Any], *, tags: Mapping[str, str] | None = None
    ) -> int:
        """Count the succeeded lines of a batch's results (dicts or structs); how many."""
        counted = 0
        for line in results:
            result = _field(line, "result")
            message = _field(result, "message")
            if _field(result, "type") != "succeeded" or message is None:
                continue
            usage, model = _field(message, "usage"), _field(message, "model")
            self.add(usage, model=model, tags=tags, batch=True)
            counted += 1
        return counted

    def total(self) -> UsageTotals:
        return self._group(lambda key: "all").get("all", UsageTotals())

    def by_model(self) -> dict[str, UsageTotals]:
        return self._group(lambda key: key[1])

    def by_day(self) -> dict[str, UsageTotals]:
        return self._group(lambda key: key[0])

    def by_tag(self, tag: str) -> dict[str, UsageTotals]:
        """Totals per value of ``tag`` (calls without it under ``""``)."""
        return self._group(lambda key: dict(key[2]).get(tag, ""))

    def _group(self, pick: Any) -> dict[str, UsageTotals]:
        out: dict[str, UsageTotals] = {}
        with self._lock:
            for key, row in self._rows.items():
                out.setdefault(pick(key), UsageTotals()).add(row)
        return out

    def reset(self) -> None:
        with self._lock:
            self._rows.clear()
            self.unpriced.clear()

    def __repr__(self) -> str:
        total = self.total()
        return f"UsageMeter(calls={total.calls}, cost=${total.cost:f})"


_DAY: list[tuple[float, float, str]] = [(0.0, 0.0, "")]


def _day(when: float) -> str:
    """The UTC date of ``when``, formatted once per day."""
    start, end, label = _DAY[0]
    if start <= when < end:
        return label
    begin = when - when % 86400
    label = dt.datetime.fromtimestamp(begin, dt.timezone.utc).strftime("%Y-%m-%d")
    _DAY[0] = (begin, begin + 86400, label)
    return label


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _now() -> float:
    import time

    return time.time()
