"""The Client's resources: ``client.messages`` and ``client.models``.

Each method turns its arguments into a :class:`~rawclaude.client.call.Call` --
the parameters checked against the API version's rules, request stages
applied, the body encoded once -- and hands it to the pipeline. Nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload
from urllib.parse import quote, urlencode

from ..policy.ratelimit import BYTES_PER_TOKEN_ESTIMATE
from ..policy.timeouts import Timeout
from ..wire.errors import APIError, ConfigurationError
from ..wire.headers import check_params, with_call_headers
from ..wire.models import (
    Message,
    MessageTokensCount,
    ModelInfo,
    ModelList,
    decode_count,
    decode_message,
    decode_model,
    decode_model_list,
)
from .call import Call, encode_json
from .fallback import check_fallback_models
from .hooks import CallKind
from .pages import Paginator, list_query
from .stream import MessageStream, MessageStreamManager

if TYPE_CHECKING:
    import aiohttp

    from ..agents.runner import ToolRunner
    from ..agents.structured import ParsedMessage, ParsedStream
    from .batches import Batches
    from .client import Client
    from .pipeline import Decode, Pipeline

__all__ = ["Messages", "Models", "build_call", "encode_json"]

T = TypeVar("T")


def _with_request_id(decode: Callable[[bytes], T]) -> Decode[T]:
    def run(data: bytes, request_id: str | None, resp: aiohttp.ClientResponse) -> T:
        try:
            result = decode(data)
        except APIError as exc:
            exc.request_id = exc.request_id or request_id
            raise
        if request_id is not None:
            result._request_id = request_id  # type: ignore[attr-defined]
        return result

    return run


_decode_message = _with_request_id(decode_message)
_decode_count = _with_request_id(decode_count)
_decode_model = _with_request_id(decode_model)
_decode_model_list = _with_request_id(decode_model_list)


def build_call(
    pipeline: Pipeline,
    kind: CallKind,
    method: str,
    path: str,
    body: bytes | None,
    *,
    betas: Iterable[str] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    timeout: Timeout | float | None = None,
    hooks: Sequence[Any] | None = None,
    tags: Mapping[str, str] | None = None,
    params: dict[str, Any] | None = None,
    limited: bool = False,
    stream: bool = False,
    event_stream: bool = False,
    fallback_models: Sequence[str] | None = None,
) -> Call:
    """A Call for ``path`` (relative to the base URL, or an absolute URL)."""
    headers: Mapping[str, str] = pipeline.headers
    if betas or extra_headers:
        headers = with_call_headers(headers, betas, extra_headers)
    url = path if path.startswith(("https://", "http://")) else pipeline.base_url + path
    model = max_tokens = None
    input_tokens = 0
    if params is not None:
        model, max_tokens = params.get("model"), params.get("max_tokens")
        if limited and pipeline.admission and body is not None:
            # estimate_input_tokens(body), written out (once per limited call).
            input_tokens = -(-len(body) // BYTES_PER_TOKEN_ESTIMATE)
    if tags is not None:
        _check_tags(tags)
    return Call(
        pipeline,
        kind,
        method,
        url,
        headers,
        body,
        pipeline.timeout.merge(timeout, stream=stream),
        params=params,
        model=model if isinstance(model, str) else None,
        max_tokens=max_tokens if type(max_tokens) is int and max_tokens > 0 else 0,
        input_tokens=input_tokens,
        limited=limited,
        hooks=pipeline.hooks.plus(hooks),
        tags=tags,
        event_stream=event_stream,
        fallback_models=(
            pipeline.fallback_models
            if fallback_models is None
            else check_fallback_models("fallback_models", fallback_models)
        ),
    )


def _check_tags(tags: object) -> None:
    if not isinstance(tags, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        raise ConfigurationError(f"tags must be a mapping of str to str, got {tags!r:.80}")


class Messages:
    """``client.messages``: create, stream, count_tokens and ``batches``; and, under
    the official SDK's names, the layer-3 helpers ``tool_runner``, ``parse`` and
    ``parse_stream`` (imported on first use; they use only the public API)."""

    #: ``client.messages.batches``, the Message Batches API (set by the Client).
    batches: Batches

    def __init__(self, pipeline: Pipeline, client: Client) -> None:
        self._pipeline = pipeline
        self._client = client

    def tool_runner(self, **params: Any) -> ToolRunner:
        """The tool-use loop: see :func:`rawclaude.tool_runner` (same arguments)."""
        from ..agents.runner import tool_runner  # a facade over layer 3 (pyproject)

        return tool_runner(self._client, **params)

    async def parse(self, **params: Any) -> ParsedMessage[Any]:
        """Structured output: see :func:`rawclaude.parse` (same arguments)."""
        from ..agents.structured import parse  # a facade over layer 3 (pyproject)

        return await parse(self._client, **params)

    def parse_stream(self, **params: Any) -> ParsedStream[Any]:
        """Streamed structured output: see :func:`rawclaude.parse_stream`."""
        from ..agents.structured import parse_stream  # a facade over layer 3 (pyproject)

        return parse_stream(self._client, **params)

    def _call(
        self,
        kind: CallKind,
        params: dict[str, Any],
        *,
        path: str = "/v1/messages",
        betas: Iterable[str] | None,
        extra_headers: Mapping[str, str] | None,
        extra_body: Mapping[str, Any] | None,
        timeout: Timeout | float | None,
        hooks: Sequence[Any] | None,
        tags: Mapping[str, str] | None,
        limited: bool = True,
        stream: bool = False,
        fallback_models: Sequence[str] | None = None,
    ) -> Call:
        pipeline = self._pipeline
        check_params(pipeline.api_version, params)
        for stage in pipeline.request_stages:
            params = stage(params)
        if extra_body:
            # The escape hatch is sent as given: not checked against the
            # version rules, but it may not turn a stream on or off.
            if not isinstance(extra_body, Mapping):
                raise ConfigurationError(f"extra_body must be a mapping, got {extra_body!r:.80}")
            if "stream" in extra_body:
                raise ConfigurationError(
                    "extra_body may not set 'stream': use client.messages.stream() for a stream"
                )
            params = {**params, **extra_body}
        if stream:
            params["stream"] = True  # after **params: a stream is what this call is for
        body = encode_json(params)
        return build_call(
            pipeline,
            kind,
            "POST",
            path,
            body,
            betas=betas,
            extra_headers=extra_headers,
            timeout=timeout,
            hooks=hooks,
            tags=tags,
            params=params,
            limited=limited,
            stream=stream,
            event_stream=stream,
            fallback_models=fallback_models,
        )

    @overload
    async def create(
        self,
        *,
        model: str,
        max_tokens: int,
        messages: list[Any],
        stream: Literal[False] = False,
        betas: Iterable[str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: Timeout | float | None = None,
        hooks: Sequence[Any] | None = None,
        tags: Mapping[str, str] | None = None,
        fallback_models: Sequence[str] | None = None,
        **params: Any,
    ) -> Message: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        max_tokens: int,
        messages: list[Any],
        stream: Literal[True],
        betas: Iterable[str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: Timeout | float | None = None,
        hooks: Sequence[Any] | None = None,
        tags: Mapping[str, str] | None = None,
        fallback_models: Sequence[str] | None = None,
        **params: Any,
    ) -> MessageStream: ...

    async def create(
        self,
        *,
        model: str,
        max_tokens: int,
        messages: list[Any],
        stream: bool = False,
        betas: Iterable[str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: Timeout | float | None = None,
        hooks: Sequence[Any] | None = None,
        tags: Mapping[str, str] | None = None,
        fallback_models: Sequence[str] | None = None,
        **params: Any,
    ) -> Message | MessageStream:
        """POST /v1/messages. With ``stream=True``, an async iterator of typed events.

        ``hooks`` are added to the client's for this call; ``tags`` travel in
        the hooks' records (a tenant id for a usage meter, say);
        ``fallback_models`` replace the client's for this call (``[]``: none).
        """
        body = {"model": model, "max_tokens": max_tokens, "messages": messages, **params}
        options: dict[str, Any] = {
            "betas": betas,
            "extra_headers": extra_headers,
            "extra_body": extra_body,
            "timeout": timeout,
            "hooks": hooks,
            "tags": tags,
            "fallback_models": fallback_models,
        }
        if stream:
            call = self._call("messages.stream", body, stream=True, **options)
            return await MessageStream.open(call)
        call = self._call("messages.create", body, **options)
        return await self._pipeline.call_json(call, _decode_message)

    def stream(
        self,
        *,
        model: str,
        max_tokens: int,
        messages: list[Any],
        betas: Iterable[str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: Timeout | float | None = None,
        hooks: Sequence[Any] | None = None,
        tags: Mapping[str, str] | None = None,
        fallback_models: Sequence[str] | None = None,
        **params: Any,
    ) -> MessageStreamManager:
        """``async with client.messages.stream(...) as stream:`` -- a ``MessageStream``."""
        body = {"model": model, "max_tokens": max_tokens, "messages": messages, **params}
        call = self._call(
            "messages.stream",
            body,
            stream=True,
            betas=betas,
            extra_headers=extra_headers,
            extra_body=extra_body,
            timeout=timeout,
            hooks=hooks,
            tags=tags,
            fallback_models=fallback_models,
        )
        return MessageStreamManager(call)

    async def count_tokens(
        self,
        *,
        model: str,
        messages: list[Any],
        betas: Iterable[str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: Timeout | float | None = None,
        hooks: Sequence[Any] | None = None,
        tags: Mapping[str, str] | None = None,
        **params: Any,
    ) -> MessageTokensCount:
        """POST /v1/messages/count_tokens."""
        body = {"model": model, "messages": messages, **params}
        call = self._call(
            "messages.count_tokens",
            body,
            path="/v1/messages/count_tokens",
            betas=betas,
            extra_headers=extra_headers,
            extra_body=extra_body,
            timeout=timeout,
            hooks=hooks,
            tags=tags,
            limited=False,
        )
        return await self._pipeline.call_json(call, _decode_count)


class Models:
    """``client.models``: list and retrieve."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def list(
        self,
        *,
        limit: int | None = None,
        after_id: str | None = None,
        before_id: str | None = None,
        timeout: Timeout | float | None = None,
    ) -> Paginator[ModelInfo, ModelList]:
        """GET /v1/models: ``async for model in client.models.list()`` walks every
        page; ``await client.models.list(limit=...)`` is one page (a ``ModelList``)."""
        query = list_query(limit, after_id=after_id, before_id=before_id)

        async def fetch(params: dict[str, str]) -> ModelList:
            path = "/v1/models" + (f"?{urlencode(params)}" if params else "")
            call = build_call(self._pipeline, "models.list", "GET", path, None, timeout=timeout)
            return await self._pipeline.call_json(call, _decode_model_list)

        return Paginator(fetch, query)

    async def list_page(
        self,
        *,
        limit: int | None = None,
        after_id: str | None = None,
        before_id: str | None = None,
        timeout: Timeout | float | None = None,
    ) -> ModelList:
        """One page of GET /v1/models (pass its ``last_id`` as ``after_id`` for the next)."""
        return await self.list(limit=limit, after_id=after_id, before_id=before_id, timeout=timeout)

    async def retrieve(self, model_id: str, *, timeout: Timeout | float | None = None) -> ModelInfo:
        """GET /v1/models/{model_id}."""
        if not model_id or not isinstance(model_id, str):
            raise ConfigurationError(f"model_id must be a non-empty id, got {model_id!r}")
        path = f"/v1/models/{quote(model_id, safe='')}"
        call = build_call(self._pipeline, "models.retrieve", "GET", path, None, timeout=timeout)
        return await self._pipeline.call_json(call, _decode_model)
