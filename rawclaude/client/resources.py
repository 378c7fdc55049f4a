"""The Client's resources: ``client.messages`` and ``client.models``.

Each method turns its arguments into a request body, checks it against the
API version's rules, and hands a prepared request to the client's send path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload
from urllib.parse import quote, urlencode

from ..policy.timeouts import Timeout
from ..wire.errors import APIError, ConfigurationError
from ..wire.headers import check_params
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
from .stream import MessageStream, MessageStreamManager

if TYPE_CHECKING:
    from .client import Client, PreparedRequest

__all__ = ["Messages", "Models"]

T = TypeVar("T")


def _with_request_id(decode: Callable[[bytes], T]) -> Callable[[bytes, str | None], T]:
    def run(data: bytes, request_id: str | None) -> T:
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


class Messages:
    """``client.messages``: create, stream and count_tokens."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _request(
        self,
        params: dict[str, Any],
        *,
        path: str = "/v1/messages",
        betas: Iterable[str] | None,
        extra_headers: Mapping[str, str] | None,
        extra_body: Mapping[str, Any] | None,
        limited: bool = True,
    ) -> PreparedRequest:
        client = self._client
        if extra_body:
            params.update(extra_body)
        check_params(client.api_version, params)
        return client._prepare(
            "POST", path, params, betas=betas, extra_headers=extra_headers, limited=limited
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
        **params: Any,
    ) -> Message | MessageStream:
        """POST /v1/messages. With ``stream=True``, an async iterator of typed events."""
        if stream:
            return await self.stream(
                model=model,
                max_tokens=max_tokens,
                messages=messages,
                betas=betas,
                extra_headers=extra_headers,
                extra_body=extra_body,
                timeout=timeout,
                **params,
            ).start()
        body = {"model": model, "max_tokens": max_tokens, "messages": messages, **params}
        req = self._request(body, betas=betas, extra_headers=extra_headers, extra_body=extra_body)
        return await self._client._call(req, timeout, _decode_message)

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
        **params: Any,
    ) -> MessageStreamManager:
        """``async with client.messages.stream(...) as stream:`` -- a ``MessageStream``."""
        body = {"model": model, "max_tokens": max_tokens, "messages": messages, **params}
        body["stream"] = True  # after **params: a stream is what this method is for
        req = self._request(body, betas=betas, extra_headers=extra_headers, extra_body=extra_body)
        return MessageStreamManager(
            self._client, req, self._client.timeout.merge(timeout, stream=True)
        )

    async def count_tokens(
        self,
        *,
        model: str,
        messages: list[Any],
        betas: Iterable[str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: Timeout | float | None = None,
        **params: Any,
    ) -> MessageTokensCount:
        """POST /v1/messages/count_tokens."""
        body = {"model": model, "messages": messages, **params}
        req = self._request(
            body,
            path="/v1/messages/count_tokens",
            betas=betas,
            extra_headers=extra_headers,
            extra_body=extra_body,
            limited=False,
        )
        return await self._client._call(req, timeout, _decode_count)


class Models:
    """``client.models``: list and retrieve."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def list(
        self,
        *,
        limit: int | None = None,
        after_id: str | None = None,
        before_id: str | None = None,
        timeout: Timeout | float | None = None,
    ) -> ModelList:
        """GET /v1/models (one page; pass ``after_id`` for the next)."""
        query = {"limit": limit, "after_id": after_id, "before_id": before_id}
        qs = urlencode({k: v for k, v in query.items() if v is not None})
        req = self._client._prepare("GET", "/v1/models" + (f"?{qs}" if qs else ""))
        return await self._client._call(req, timeout, _decode_model_list)

    async def retrieve(self, model_id: str, *, timeout: Timeout | float | None = None) -> ModelInfo:
        """GET /v1/models/{model_id}."""
        if not model_id:
            raise ConfigurationError(f"model_id must be a non-empty id, got {model_id!r}")
        req = self._client._prepare("GET", f"/v1/models/{quote(model_id, safe='')}")
        return await self._client._call(req, timeout, _decode_model)
