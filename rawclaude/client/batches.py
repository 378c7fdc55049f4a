"""``client.messages.batches``: the Message Batches API (half the price, asynchronous).

A batch holds up to 100,000 Messages requests, each with a ``custom_id``; the
API processes them within 24 hours and serves the results as JSON Lines at
``results_url``, **in no fixed order** (API docs, "Batch processing"). So:

* submit with :meth:`Batches.create` (one batch) or :meth:`Batches.create_many`
  (any number of requests, split into as many batches as the limits need);
* wait with :meth:`Batches.wait` (polls, reports progress);
* read with :meth:`Batches.results` (streamed, typed, memory bounded by the
  longest line) and match results to requests by ``custom_id``, or let
  :meth:`Batches.results_by_custom_id` do it.

Everything goes through ``client.request()``.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..policy.retry_after import parse_retry_after
from ..wire.batch_requests import (
    MAX_BATCH_BYTES,
    MAX_BATCH_REQUESTS,
    BatchEncoder,
    BatchRequest,
    EncodedBatch,
    encode_batch,
)
from ..wire.batches import (
    BatchResultsReader,
    DeletedMessageBatch,
    MessageBatch,
    MessageBatchIndividualResponse,
    decode_batch,
    decode_batch_page,
    decode_deleted_batch,
)
from ..wire.errors import (
    APIConnectionError,
    APIError,
    BatchWaitTimeoutError,
    ConfigurationError,
    InternalServerError,
    RateLimitError,
    SpendLimitError,
)
from ..wire.jsonl import DEFAULT_MAX_LINE_SIZE
from ..wire.pages import Page
from .pages import Paginator, list_query
from .rest import call_json, path_id, slices, typed

if TYPE_CHECKING:
    from ..policy.timeouts import Timeout
    from .client import Client

__all__ = ["BatchResults", "Batches"]

_BASE = "/v1/messages/batches"
#: The sleep between polls (a module name, so tests can record the waits).
_sleep = asyncio.sleep

Request = BatchRequest | Mapping[str, Any]
Progress = Callable[[MessageBatch], Any]
BatchRef = str | MessageBatch


def _batch_id(batch: BatchRef) -> str:
    return path_id("batch_id", batch.id if isinstance(batch, MessageBatch) else batch)


class Batches:
    """``client.messages.batches``: create, retrieve, list, cancel, delete, wait, results."""

    def __init__(self, client: Client) -> None:
        self._client = client

    # -- submitting ------------------------------------------------------------

    async def create(
        self, requests: Iterable[Request], *, timeout: Timeout | float | None = None
    ) -> MessageBatch:
        """POST /v1/messages/batches: one batch of at most 100,000 requests and 256 MB.

        Each request is ``{"custom_id": ..., "params": {...}}`` (or a
        :class:`~rawclaude.BatchRequest`). Every request is checked before
        anything is sent (``custom_id`` 1-64 of ``[A-Za-z0-9_-]`` and unique,
        ``params`` with ``model``/``max_tokens``/``messages`` and the API
        version's rules); a mistake is a ``ConfigurationError`` naming
        ``requests[i]`` and its ``custom_id``. More than one batch's worth:
        use :meth:`create_many`.
        """
        encoded = encode_batch(requests, self._client.api_version)
        return await self._send(encoded, timeout)

    async def create_many(
        self,
        requests: Iterable[Request] | AsyncIterable[Request],
        *,
        max_requests: int = MAX_BATCH_REQUESTS,
        max_bytes: int = MAX_BATCH_BYTES,
        timeout: Timeout | float | None = None,
    ) -> list[MessageBatch]:
        """Submit any number of requests as as many batches as the limits require.

        ``requests`` may be any iterable or async iterable (a generator over a
        file, a database cursor): it is read lazily and encoded request by
        request into the batch being built, which is sent once full; so memory
        holds one batch body, never the whole input. ``custom_id`` must be
        unique within each batch (make it unique overall, to match results).

        Requests are checked as they are read. A bad request stops the run
        before its batch is sent: the ``ConfigurationError`` (or an API error
        from a create) then carries ``created_batches``, the batches already
        submitted (they are processed and billed; cancel them if need be).
        """
        encoder = BatchEncoder(
            self._client.api_version, max_requests=max_requests, max_bytes=max_bytes
        )
        created: list[MessageBatch] = []
        try:
            async for request in _aiter(requests):
                closed = encoder.add(request)
                if closed is not None:
                    created.append(await self._send(closed, timeout))
            last = encoder.finish()
            if last is not None:
                created.append(await self._send(last, timeout))
        except (ConfigurationError, APIError) as exc:
            exc.created_batches = list(created)  # type: ignore[union-attr]
            raise
        return created

    async def _send(self, batch: EncodedBatch, timeout: Timeout | float | None) -> MessageBatch:
        body = batch.body
        # A body source, not bytes: request() would copy bytes it is given, and
        # the socket's buffer would hold a second copy; slices keep one.
        resp = await self._client.request(
            "POST",
            _BASE,
            data=lambda: slices(body),
            content_type="application/json",
            timeout=timeout,
            limited=False,
        )
        return typed(resp, decode_batch)

    # -- reading state ---------------------------------------------------------

    async def retrieve(
        self, batch_id: BatchRef, *, timeout: Timeout | float | None = None
    ) -> MessageBatch:
        """GET /v1/messages/batches/{id}: the batch's status and request counts."""
        path = f"{_BASE}/{_batch_id(batch_id)}"
        return await call_json(self._client, "GET", path, decode_batch, timeout=timeout)

    def list(
        self,
        *,
        limit: int | None = None,
        after_id: str | None = None,
        before_id: str | None = None,
        timeout: Timeout | float | None = None,
    ) -> Paginator[MessageBatch, Page[MessageBatch]]:
        """GET /v1/messages/batches, newest first: ``async for`` over every batch
        (pages followed by ``has_more``/``last_id``), or ``await`` for one page."""
        query = list_query(limit, after_id=after_id, before_id=before_id)

        async def fetch(params: dict[str, str]) -> Page[MessageBatch]:
            return await call_json(
                self._client, "GET", _BASE, decode_batch_page, params=params, timeout=timeout
            )

        return Paginator(fetch, query)

    async def cancel(
        self, batch_id: BatchRef, *, timeout: Timeout | float | None = None
    ) -> MessageBatch:
        """POST .../{id}/cancel: the batch goes ``canceling``, then ``ended``; requests
        not yet processed come back ``canceled`` (and are not billed)."""
        path = f"{_BASE}/{_batch_id(batch_id)}/cancel"
        return await call_json(self._client, "POST", path, decode_batch, timeout=timeout)

    async def delete(
        self, batch_id: BatchRef, *, timeout: Timeout | float | None = None
    ) -> DeletedMessageBatch:
        """DELETE .../{id}: only an ended batch can be deleted (cancel it first)."""
        path = f"{_BASE}/{_batch_id(batch_id)}"
        return await call_json(self._client, "DELETE", path, decode_deleted_batch, timeout=timeout)

    async def wait(
        self,
        batch_id: BatchRef,
        *,
        poll_interval: float = 30.0,
        timeout: float | None = None,
        on_progress: Progress | None = None,
    ) -> MessageBatch:
        """Poll until the batch has ended; return it (with its ``results_url``).

        ``on_progress(batch)`` (a function or coroutine function) is called
        after every poll with the batch as it is then: ``batch.request_counts``
        tells how far it is. A ``retry-after`` the server sends is honoured
        (the next poll waits at least that long). A 429, 5xx or connection
        error that outlasts the client's retries does not end the wait: it
        polls again after ``retry-after`` or ``poll_interval``. After
        ``timeout`` seconds, :class:`~rawclaude.BatchWaitTimeoutError`
        (``.batch`` is the last state seen). Cancelling the awaiting task
        stops the polling (the batch itself goes on).
        """
        interval = _seconds("poll_interval", poll_interval, allow_zero=False)
        budget = None if timeout is None else _seconds("timeout", timeout, allow_zero=True)
        path = f"{_BASE}/{_batch_id(batch_id)}"
        loop = asyncio.get_running_loop()
        deadline = None if budget is None else loop.time() + budget
        last: MessageBatch | None = None
        while True:
            batch, delay = await self._poll(path, interval)
            if batch is not None:
                last = batch
                if on_progress is not None:
                    await _call(on_progress, batch)
                if batch.ended:
                    return batch
            if deadline is not None:
                left = deadline - loop.time()
                if left <= 0:
                    raise BatchWaitTimeoutError(
                        _timeout_message(batch_id, budget, last), batch=last
                    )
                delay = min(delay, left)
            await _sleep(delay)

    async def _poll(self, path: str, interval: float) -> tuple[MessageBatch | None, float]:
        """One look at the batch, and how long to wait before the next."""
        try:
            resp = await self._client.request("GET", path, limited=False)
        except SpendLimitError:
            raise
        except (RateLimitError, InternalServerError) as exc:
            return None, max(interval, exc.retry_after or 0.0)
        except APIConnectionError:
            return None, interval
        asked = parse_retry_after(resp.headers, time.time()) or 0.0
        return typed(resp, decode_batch), max(interval, asked)

    # -- results ---------------------------------------------------------------

    def results(
        self,
        batch: BatchRef,
        *,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        timeout: Timeout | float | None = None,
    ) -> BatchResults:
        """The batch's results, streamed from its ``results_url``, one typed result each.

        ``async for result in client.messages.batches.results(batch_id):`` --
        each is a :class:`~rawclaude.types.MessageBatchIndividualResponse`
        (``custom_id``, ``result`` of type succeeded / errored / canceled /
        expired). Results come **in no fixed order**: match them to requests
        by ``custom_id`` (or use :meth:`results_by_custom_id`).

        The body is framed as JSON Lines as it arrives (CR, LF or CRLF line
        ends, blank lines skipped), so memory is bounded by the longest line;
        a line over ``max_line_size`` or one that does not decode raises
        :class:`~rawclaude.JSONLError` naming its line. The response is
        released however the loop ends (finished, ``break``, an exception,
        cancellation); ``async with ... as results:`` releases it at the end
        of the block at the latest. Pass the ended :class:`MessageBatch`
        (from :meth:`wait`) to skip looking the batch up again.
        """
        if isinstance(max_line_size, bool) or not isinstance(max_line_size, int):
            raise ConfigurationError(f"max_line_size must be an int, got {max_line_size!r}")
        if max_line_size < 1:
            raise ConfigurationError(f"max_line_size must be >= 1, got {max_line_size}")
        _batch_id(batch)  # checked now, before anything is sent
        return BatchResults(self, batch, max_line_size, timeout)

    async def results_by_custom_id(
        self, *batches: BatchRef, max_line_size: int = DEFAULT_MAX_LINE_SIZE
    ) -> dict[str, MessageBatchIndividualResponse]:
        """Every result of the given batches, by ``custom_id``.

        Holds all results in memory (use :meth:`results` to stream instead).
        Results arrive in no fixed order; this puts each under its request's
        ``custom_id``. Pass all the batches of one :meth:`create_many`; a
        ``custom_id`` found twice raises ``ConfigurationError`` (give each
        request its own id).
        """
        if not batches:
            raise ConfigurationError("results_by_custom_id() needs at least one batch")
        found: dict[str, MessageBatchIndividualResponse] = {}
        for batch in batches:
            async for result in self.results(batch, max_line_size=max_line_size):
                if result.custom_id in found:
                    raise ConfigurationError(
                        f"custom_id {result.custom_id!r} appears twice across the batches; "
                        "results cannot be told apart by custom_id"
                    )
                found[result.custom_id] = result
        return found

    async def _results_url(self, batch: BatchRef) -> str:
        if not isinstance(batch, MessageBatch) or batch.results_url is None:
            batch = await self.retrieve(batch)
        if batch.results_url is None:
            raise ConfigurationError(
                f"batch {batch.id} has no results yet (processing_status="
                f"{batch.processing_status!r}); wait for it to end first: "
                "await client.messages.batches.wait(batch_id)"
            )
        return batch.results_url


class BatchResults:
    """The results of one batch: ``async for`` them, ideally inside ``async with``."""

    __slots__ = ("_batch", "_batches", "_iterator", "_max_line", "_timeout")

    def __init__(
        self,
        batches: Batches,
        batch: BatchRef,
        max_line_size: int,
        timeout: Timeout | float | None,
    ) -> None:
        self._batches = batches
        self._batch = batch
        self._max_line = max_line_size
        self._timeout = timeout
        self._iterator: AsyncIterator[MessageBatchIndividualResponse] | None = None

    def __aiter__(self) -> AsyncIterator[MessageBatchIndividualResponse]:
        if self._iterator is None:
            self._iterator = _read(self._batches, self._batch, self._max_line, self._timeout)
        return self._iterator

    async def aclose(self) -> None:
        """Stop reading and release the response (idempotent)."""
        iterator = self._iterator
        if iterator is not None and hasattr(iterator, "aclose"):
            await iterator.aclose()

    async def __aenter__(self) -> BatchResults:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def _read(
    batches: Batches, batch: BatchRef, max_line: int, timeout: Timeout | float | None
) -> AsyncIterator[MessageBatchIndividualResponse]:
    """The results, read as they arrive; ``finally`` releases the response.

    A plain function, not a method: the generator must not hold the
    ``BatchResults`` that holds it. Without that cycle, a ``break`` out of the
    caller's loop drops the generator at once and asyncio's finalizer runs
    its ``aclose()`` right away, instead of whenever the GC gets to it.
    """
    url = await batches._results_url(batch)
    resp = await batches._client.request("GET", url, stream=True, timeout=timeout, limited=False)
    try:
        reader = BatchResultsReader(max_line)
        async for chunk in resp.iter_bytes():
            for result in reader.feed(chunk):
                yield result
        for result in reader.end():
            yield result
    except APIError as exc:
        exc.request_id = exc.request_id or resp.request_id
        raise
    finally:
        await resp.aclose()


async def _aiter(items: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(items, (str, bytes, Mapping)):
        raise ConfigurationError(
            f"requests must be an iterable of batch requests, got {type(items).__name__}"
        )
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    elif isinstance(items, Iterable):
        for item in items:
            yield item
    else:
        raise ConfigurationError(
            f"requests must be an iterable or async iterable, got {type(items).__name__}"
        )


async def _call(callback: Progress, batch: MessageBatch) -> None:
    outcome = callback(batch)
    if inspect.isawaitable(outcome):
        await outcome


def _seconds(name: str, value: object, *, allow_zero: bool) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    number = float(value) if ok else math.nan  # type: ignore[arg-type]
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigurationError(
            f"{name} must be a finite number of seconds {bound}, got {value!r}"
        )
    return number


def _timeout_message(batch: BatchRef, budget: float | None, last: MessageBatch | None) -> str:
    batch_id = batch.id if isinstance(batch, MessageBatch) else batch
    state = "never seen" if last is None else f"{last.processing_status}, {last.request_counts}"
    return f"batch {batch_id} did not end within {budget:g}s (last seen: {state})"
