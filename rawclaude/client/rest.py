"""Shared plumbing of the batch and file resources, on the public request path only.

Those resources talk to the API through ``client.request()`` (the same
pipeline as everything else: credentials, retries, hooks) and turn its
:class:`~rawclaude.client.raw.RawResponse` into typed objects here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

from ..wire.errors import APIError, ConfigurationError

if TYPE_CHECKING:
    from ..policy.timeouts import Timeout
    from .client import Client
    from .raw import RawResponse

__all__ = ["call_json", "path_id", "slices", "typed"]

T = TypeVar("T")

#: How much of an in-memory body one write hands to the connection.
SLICE = 256 * 1024


def path_id(name: str, value: object) -> str:
    """An id for a URL path segment, quoted; ConfigurationError naming ``name`` if bad."""
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} must be a non-empty string, got {value!r:.80}")
    return quote(value, safe="")


def typed(resp: RawResponse, decode: Callable[[bytes], T]) -> T:
    """``decode`` of the body, with the response's request id on it (or on the error)."""
    try:
        result = decode(resp.content)
    except APIError as exc:
        exc.request_id = exc.request_id or resp.request_id
        raise
    if resp.request_id is not None:
        result._request_id = resp.request_id  # type: ignore[attr-defined]
    return result


async def call_json(
    client: Client,
    method: str,
    path: str,
    decode: Callable[[bytes], T],
    *,
    params: Mapping[str, str] | None = None,
    timeout: Timeout | float | None = None,
) -> T:
    """One whole request, decoded. Batch and file calls are not Messages calls, so
    they skip the client's rate limiter (``limited=False``): the API limits them
    separately (docs: "Rate limits", Message Batches API)."""
    resp = await client.request(method, path, params=params, timeout=timeout, limited=False)
    return typed(resp, decode)


async def slices(body: bytes | bytearray | memoryview) -> AsyncIterator[bytes]:
    """An in-memory body in ``SLICE`` pieces: a streamed request body that keeps the
    connection's write buffer small (one copy of the body, not two)."""
    view = memoryview(body)
    for start in range(0, len(view), SLICE):
        yield bytes(view[start : start + SLICE])
