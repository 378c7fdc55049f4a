"""The aiohttp.web application: routes, the API's request checks, common headers.

Routes (Messages, Token counting and Models references):
``POST /v1/messages``, ``POST /v1/messages/count_tokens``, ``GET /v1/models``,
``GET /v1/models/{model_id}``; Message Batches in ``_batch_routes``, Files in
``_file_routes``. Anything else is a 404 ``not_found_error``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from . import _batch_routes, _file_routes
from ._checks import ApiError, check_auth, check_message_fields, check_version, parse_json_body
from ._compose import echo_text, resolve, usage_for, validate
from ._keys import STATE_KEY
from ._overrides import default_reply
from ._respond import (
    Exchange,
    RequestContext,
    answer,
    context_of,
    error_response,
    require_context,
    set_context,
)
from ._state import RecordedRequest, ServerState, mask_headers
from ._wire import estimate_input_tokens

__all__ = ["STATE_KEY", "make_app"]

# "Errors" doc: Messages and Token counting accept up to 32 MB, Message Batches
# 256 MB; aiohttp's default limit (1 MiB) would refuse what the real API takes.
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_BATCH_BODY_BYTES = 256 * 1024 * 1024
_TOO_LARGE = ApiError(413, "request_too_large", "Request exceeds the maximum size")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json_response(payload: Any) -> web.Response:
    return web.Response(body=orjson.dumps(payload), content_type="application/json")


def _needs_body(request: web.Request) -> bool:
    # A cancel is a POST without a body ("Cancel a Message Batch").
    return request.method == "POST" and not request.path.endswith("/cancel")


async def _read(request: web.Request, state: ServerState) -> tuple[Any, ApiError | None]:
    """Read, parse and record the body; credentials are masked in the record.

    A multipart upload is left unread: the Files handler streams it and records
    its metadata, never its bytes.
    """
    if request.content_type == "multipart/form-data":
        return None, None
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return None, _TOO_LARGE
    limit = MAX_BATCH_BODY_BYTES if request.path == "/v1/messages/batches" else MAX_BODY_BYTES
    if len(raw) > limit:
        return None, _TOO_LARGE
    body, error = (None, None)
    if raw or _needs_body(request):
        body, error = parse_json_body(raw)
    headers = mask_headers(request.headers)
    state.record(RecordedRequest(request.method, request.path, headers, body, dict(request.query)))
    return body, error


def _gate(
    request: web.Request, state: ServerState, context: RequestContext, read_error: ApiError | None
) -> ApiError | None:
    """The checks in the API's order: auth, version, body, then rate limits."""
    if state.settings.require_auth:
        error = check_auth(request.headers, state.settings.api_key)
        if error:
            return error
    context.charge = 0  # authenticated: rate-limit headers from here on
    error = check_version(request.headers) or read_error
    if error:
        return error
    retry_after = state.ratelimit.retry_after() if state.ratelimit else None
    if retry_after is not None:
        return ApiError(429, "rate_limit_error", "Number of requests has exceeded your rate limit")
    context.charge = 1
    return None


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    context = RequestContext(request_id=state.next_request_id())
    set_context(request, context)
    request_id = context.request_id
    context.body, read_error = await _read(request, state)
    error = _gate(request, state, context, read_error)
    if error is not None:
        headers = None
        if error.status == 429 and state.ratelimit is not None:
            headers = {"retry-after": str(state.ratelimit.retry_after() or 1)}
        return error_response(error, request_id, headers)
    try:
        return await handler(request)
    except web.HTTPNotFound:
        error = ApiError(404, "not_found_error", f"Not found: {request.method} {request.path}")
    except web.HTTPMethodNotAllowed:
        error = ApiError(405, "invalid_request_error", f"Method {request.method} not allowed")
    return error_response(error, request_id)


async def on_response_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Headers every API response carries: ``request-id`` and, if configured, rate limits."""
    context = context_of(request)
    if context is None or context.raw:
        return  # not past the middleware, or a "proxy" answered, not the API
    response.headers.setdefault("request-id", context.request_id)
    ratelimit = request.app[STATE_KEY].ratelimit
    if ratelimit is None or context.charge is None:
        return
    input_tokens, output_tokens = context.usage
    for name, value in ratelimit.charge(input_tokens, output_tokens, context.charge).items():
        response.headers.setdefault(name, value)


async def create_message(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    context = require_context(request)
    body, request_id = context.body, context.request_id
    points = check_message_fields(body, need_max_tokens=True) or validate(
        body, tool_results=state.settings.check_tool_results
    )
    if isinstance(points, ApiError):
        return error_response(points, request_id)
    scripted = state.pop_reply()
    reply = scripted or default_reply(state, request.headers)
    if isinstance(reply, ApiError):
        return error_response(reply, request_id)
    echo = state.echo_content(echo_text(body)) if reply.kind == "echo" else None
    # Benchmark replies (x-fake-deltas) stream their full length whatever max_tokens says.
    cut = scripted is not None or "x-fake-deltas" not in request.headers
    reply = resolve(reply, body, echo, cut=cut)
    input_tokens, extra = 0, dict[str, Any]()
    if reply.kind == "message":
        input_tokens, extra = usage_for(body, reply, points, state.prompt_cache)
    exchange = Exchange(
        request_id=request_id,
        message_id=state.next_message_id(),
        model=body["model"],
        input_tokens=input_tokens,
        stream=body.get("stream") is True,
        closing=state.closing,
        usage_extra=extra,
    )
    return await answer(request, reply, exchange)


async def count_tokens(request: web.Request) -> web.StreamResponse:
    context = require_context(request)
    error = check_message_fields(context.body, need_max_tokens=False)
    if error is not None:
        return error_response(error, context.request_id)
    return _json_response({"input_tokens": estimate_input_tokens(context.body)})


async def list_models(request: web.Request) -> web.StreamResponse:
    page = request.app[STATE_KEY].catalog.page(request.query)
    if isinstance(page, ApiError):
        return error_response(page, require_context(request).request_id)
    return _json_response(page)


async def get_model(request: web.Request) -> web.StreamResponse:
    model = request.app[STATE_KEY].catalog.get(request.match_info["model_id"])
    if isinstance(model, ApiError):
        return error_response(model, require_context(request).request_id)
    return _json_response(model)


def make_app(state: ServerState) -> web.Application:
    """A fresh application for ``state``; call it inside the loop that will serve it."""
    state.closing = asyncio.Event()
    app = web.Application(middlewares=[api_middleware], client_max_size=MAX_BATCH_BODY_BYTES)
    app[STATE_KEY] = state
    app.on_response_prepare.append(on_response_prepare)
    app.router.add_post("/v1/messages", create_message)
    app.router.add_post("/v1/messages/count_tokens", count_tokens)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model_id}", get_model)
    _batch_routes.add_routes(app)
    _file_routes.add_routes(app)
    return app
