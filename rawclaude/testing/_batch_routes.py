"""Message Batches routes (see ``_batches`` for the state machine).

``POST /v1/messages/batches``, ``GET /v1/messages/batches``,
``GET /v1/messages/batches/{id}``, ``POST /v1/messages/batches/{id}/cancel``,
``DELETE /v1/messages/batches/{id}``, ``GET /v1/messages/batches/{id}/results``.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import orjson
from aiohttp import web

from ._batches import Batch, parse_requests
from ._checks import ApiError
from ._keys import STATE_KEY
from ._pages import page_of
from ._respond import error_response, require_context
from ._state import ResultsFormat

# "Retrieve Message Batch results" streams "a .jsonl file" and names no media
# type; this is the usual one for JSON Lines.
RESULTS_CONTENT_TYPE = "application/x-jsonl"


def _json(payload: Any) -> web.Response:
    return web.Response(body=orjson.dumps(payload), content_type="application/json")


def _base_url(request: web.Request) -> str:
    """``results_url`` is absolute, on the host the client reached this server at."""
    return str(request.url.origin())


def _answer(request: web.Request, found: Batch | ApiError) -> web.Response:
    if isinstance(found, ApiError):
        return error_response(found, require_context(request).request_id)
    return _json(found.to_json(_base_url(request)))


async def create_batch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    parsed = parse_requests(require_context(request).body)
    if isinstance(parsed, ApiError):
        return error_response(parsed, require_context(request).request_id)
    now = state.clock.now()
    batch = state.batches.create(parsed, now, state.settings.batch_processing_seconds)
    # The answer shows the batch as created; processing shows from the next look.
    return _json(batch.to_json(_base_url(request)))


async def get_batch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    return _answer(request, state.batches.get(request.match_info["batch_id"], state.clock.now()))


async def list_batches(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    base = _base_url(request)
    items = [batch.to_json(base) for batch in state.batches.all(state.clock.now())]
    page = page_of(items, request.query)
    if isinstance(page, ApiError):
        return error_response(page, require_context(request).request_id)
    return _json(page)


async def cancel_batch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    return _answer(request, state.batches.cancel(request.match_info["batch_id"], state.clock.now()))


async def delete_batch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    batch_id = request.match_info["batch_id"]
    error = state.batches.delete(batch_id, state.clock.now())
    if error is not None:
        return error_response(error, require_context(request).request_id)
    return _json({"id": batch_id, "type": "message_batch_deleted"})


def results_bytes(batch: Batch, fmt: ResultsFormat) -> bytes:
    """The JSONL body: one line per request, in request order or a seeded shuffle."""
    lines = [
        orjson.dumps({"custom_id": custom_id, "result": result})
        for (custom_id, _), result in zip(batch.requests, batch.results, strict=True)
    ]
    if fmt.seed is not None:
        random.Random(fmt.seed).shuffle(lines)
    return b"".join(line + fmt.line_end for line in lines)


async def batch_results(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    found = state.batches.get(request.match_info["batch_id"], state.clock.now())
    if isinstance(found, Batch) and found.ended_at is None:
        found = ApiError(
            400, "invalid_request_error", f"message batch {found.id} has not ended yet"
        )
    if isinstance(found, ApiError):
        return error_response(found, require_context(request).request_id)
    fmt = state.results_format
    body = results_bytes(found, fmt)
    response = web.StreamResponse(headers={"Content-Type": RESULTS_CONTENT_TYPE})
    size = fmt.chunk_size or max(len(body), 1)
    try:
        await response.prepare(request)
        for start in range(0, len(body), size):
            # Each write is its own HTTP chunk, so a client sees these boundaries.
            await response.write(body[start : start + size])
            await asyncio.sleep(0)
        await response.write_eof()
    except ConnectionError:
        pass
    return response


def add_routes(app: web.Application) -> None:
    base = "/v1/messages/batches"
    app.router.add_post(base, create_batch)
    app.router.add_get(base, list_batches)
    app.router.add_get(base + "/{batch_id}", get_batch)
    app.router.add_delete(base + "/{batch_id}", delete_batch)
    app.router.add_post(base + "/{batch_id}/cancel", cancel_batch)
    app.router.add_get(base + "/{batch_id}/results", batch_results)
