"""Message Batches of the fake: validation, the processing state machine, results.

From "Batch processing" and the Message Batches API reference:
- A batch holds 1..100,000 requests, each ``{"custom_id", "params"}``; a
  ``custom_id`` is 1-64 characters of ``[A-Za-z0-9_-]``, unique in the batch.
- ``processing_status``: ``in_progress`` -> ``ended``, or ``in_progress`` ->
  ``canceling`` -> ``ended`` after a cancel; ``request_counts`` has
  ``processing``, ``succeeded``, ``errored``, ``canceled``, ``expired``.
- A batch expires 24 hours after creation; unfinished requests then are ``expired``.
- ``results_url`` is null until the batch ends; results are JSONL, one
  ``{"custom_id", "result"}`` per request, in no guaranteed order.

Simulated processing: requests finish in order, evenly over ``seconds`` of the
server clock (``None``: only when a test calls ``end_batch``). A cancel stops
that; the requests not finished by then are ``canceled``. States change lazily,
whenever the batch is looked at, so advancing the clock moves them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._checks import ApiError
from ._wire import rfc3339_ms

MAX_REQUESTS = 100_000
EXPIRY_SECONDS = 24 * 3600.0
_CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
OUTCOMES = ("succeeded", "errored", "canceled", "expired")

# (custom_id, params) -> the ``result`` object of that request.
Producer = Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass
class Batch:
    id: str
    created_at: float
    requests: list[tuple[str, dict[str, Any]]]
    seconds: float | None
    results: list[dict[str, Any]] = field(default_factory=list)  # of requests[:len(results)]
    cancel_initiated_at: float | None = None
    ended_at: float | None = None

    def status(self) -> str:
        if self.ended_at is not None:
            return "ended"
        return "in_progress" if self.cancel_initiated_at is None else "canceling"

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for result in self.results:
            counts[result["type"]] += 1
        return {"processing": len(self.requests) - len(self.results), **counts}

    def to_json(self, base_url: str) -> dict[str, Any]:
        def when(moment: float | None) -> str | None:
            return None if moment is None else rfc3339_ms(moment)

        ended = self.ended_at is not None
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": self.status(),
            "request_counts": self.counts(),
            "ended_at": when(self.ended_at),
            "created_at": when(self.created_at),
            "expires_at": when(self.created_at + EXPIRY_SECONDS),
            "cancel_initiated_at": when(self.cancel_initiated_at),
            "archived_at": None,
            "results_url": f"{base_url}/v1/messages/batches/{self.id}/results" if ended else None,
        }


def _invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_request_error", message)


def parse_requests(body: Any) -> list[tuple[str, dict[str, Any]]] | ApiError:
    """The batch's (custom_id, params) pairs, or the 400 the API gives."""
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list):
        return _invalid("requests: Field required")
    if not 1 <= len(requests) <= MAX_REQUESTS:
        return _invalid(f"requests: a batch holds 1 to {MAX_REQUESTS} requests")
    seen: set[str] = set()
    parsed: list[tuple[str, dict[str, Any]]] = []
    for index, item in enumerate(requests):
        custom_id = item.get("custom_id") if isinstance(item, dict) else None
        params = item.get("params") if isinstance(item, dict) else None
        if not isinstance(custom_id, str) or not _CUSTOM_ID.fullmatch(custom_id):
            return _invalid(
                f"requests.{index}.custom_id: must be 1 to 64 characters of [A-Za-z0-9_-]"
            )
        if custom_id in seen:
            return _invalid(f"requests.{index}.custom_id: duplicate custom_id {custom_id!r}")
        if not isinstance(params, dict):
            return _invalid(f"requests.{index}.params: Field required")
        seen.add(custom_id)
        parsed.append((custom_id, params))
    return parsed


class BatchStore:
    """Every batch of one server, newest first; safe to use from the test thread."""

    def __init__(self, produce: Producer) -> None:
        self._produce = produce
        self._batches: dict[str, Batch] = {}
        self._lock = threading.Lock()
        self._ids = 0

    def create(
        self, requests: list[tuple[str, dict[str, Any]]], now: float, seconds: float | None
    ) -> Batch:
        with self._lock:
            self._ids += 1
            batch = Batch(f"msgbatch_fake{self._ids:016d}", now, requests, seconds)
            self._batches[batch.id] = batch
            return batch

    def get(self, batch_id: str, now: float) -> Batch | ApiError:
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return ApiError(404, "not_found_error", f"message batch: {batch_id}")
            self._advance(batch, now)
            return batch

    def all(self, now: float) -> list[Batch]:
        with self._lock:
            batches = list(reversed(self._batches.values()))
            for batch in batches:
                self._advance(batch, now)
            return batches

    def cancel(self, batch_id: str, now: float) -> Batch | ApiError:
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return ApiError(404, "not_found_error", f"message batch: {batch_id}")
            self._advance(batch, now)
            if batch.status() == "in_progress":
                batch.cancel_initiated_at = now
            return batch

    def end(self, batch_id: str, now: float) -> None:
        """Finish every request now (as canceled if a cancel is under way)."""
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                raise KeyError(batch_id)
            self._advance(batch, now)
            if batch.ended_at is None:
                outcome = None if batch.cancel_initiated_at is None else {"type": "canceled"}
                self._finish(batch, len(batch.requests), outcome)
                batch.ended_at = now

    def delete(self, batch_id: str, now: float) -> ApiError | None:
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return ApiError(404, "not_found_error", f"message batch: {batch_id}")
            self._advance(batch, now)
            if batch.ended_at is None:
                return _invalid(
                    f"message batch {batch_id} is still {batch.status()}; cancel it and "
                    "wait for it to end before deleting it"
                )
            del self._batches[batch_id]
            return None

    # -- the state machine, under the lock ---------------------------------------------

    def _advance(self, batch: Batch, now: float) -> None:
        if batch.ended_at is not None:
            return
        expires_at = batch.created_at + EXPIRY_SECONDS
        if batch.cancel_initiated_at is not None:
            if batch.seconds is not None:  # canceling ends at the next look
                self._finish(batch, len(batch.requests), {"type": "canceled"})
                batch.ended_at = now
            return
        if batch.seconds is not None:
            elapsed = now - batch.created_at
            done = len(batch.requests)
            if batch.seconds > 0 and elapsed < batch.seconds:
                done = int(len(batch.requests) * elapsed / batch.seconds)
            self._finish(batch, done, None)
            if len(batch.results) == len(batch.requests):
                batch.ended_at = min(now, batch.created_at + batch.seconds)
                return
        if now >= expires_at:
            self._finish(batch, len(batch.requests), {"type": "expired"})
            batch.ended_at = expires_at

    def _finish(self, batch: Batch, upto: int, outcome: dict[str, Any] | None) -> None:
        """Give requests[len(results):upto] a result: ``outcome``, or the produced one."""
        for custom_id, params in batch.requests[len(batch.results) : upto]:
            batch.results.append(outcome or self._produce(custom_id, params))
