"""``client.request()``'s result: a typed raw response.

Whole (``stream=False``): the body was read under the client's size cap and the
connection is back in the pool. Streamed (``stream=True``): the body is an async
byte iterator over a :class:`~rawclaude.client.lease.StreamLease`, released
once -- at the end of the body, on ``aclose()`` / ``async with`` exit, on an
error or cancellation, or when the response is collected unclosed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ..io import transport
from ..wire.error_body import decode_json
from ..wire.errors import printable
from .call import Outcome

if TYPE_CHECKING:
    import aiohttp

    from ..policy.timeouts import Timeout
    from .lease import StreamLease

__all__ = ["RawResponse"]


def _headers_of(resp: aiohttp.ClientResponse) -> dict[str, str]:
    return {k.lower(): printable(v) for k, v in resp.headers.items()}


class RawResponse:
    """Status, headers, request id and body of one response of ``client.request()``."""

    __slots__ = ("_content", "_lease", "_timeout", "headers", "request_id", "status")

    def __init__(
        self,
        resp: aiohttp.ClientResponse,
        *,
        content: bytes | None = None,
        lease: StreamLease | None = None,
        timeout: Timeout | None = None,
    ) -> None:
        self.status: int = resp.status
        #: Response headers, names in lower case.
        self.headers: dict[str, str] = _headers_of(resp)
        self.request_id: str | None = self.headers.get("request-id")
        self._content = content
        self._lease = lease
        self._timeout = timeout

    def __repr__(self) -> str:
        kind = "streamed" if self._lease is not None else f"{len(self._content or b'')} bytes"
        return f"<RawResponse {self.status} {kind} request_id={self.request_id!r}>"

    @property
    def content(self) -> bytes:
        """The whole body (``stream=False``; for a stream, ``await read()``)."""
        if self._content is None:
            raise TypeError("a streamed response has no .content: use `await resp.read()`")
        return self._content

    def json(self) -> Any:
        """The body as JSON builtins (``APIResponseValidationError`` if it is not JSON)."""
        return decode_json(self.content, "response body")

    def text(self, encoding: str = "utf-8") -> str:
        return self.content.decode(encoding, "replace")

    # -- streamed ---------------------------------------------------------------

    def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive (``stream=True``)."""
        if self._lease is None:
            raise TypeError("iter_bytes() is for request(..., stream=True)")
        return _Bytes(self)

    async def read(self) -> bytes:
        """The whole body: for a stream, read to its end (and released)."""
        if self._content is None:
            self._content = b"".join([chunk async for chunk in self.iter_bytes()])
        return self._content

    async def _next_chunk(self) -> bytes:
        lease = self._lease
        resp = None if lease is None else lease.response
        if lease is None or resp is None:
            return b""
        assert self._timeout is not None
        try:
            chunk = await transport.read_chunk(resp, self._timeout)
        except BaseException as exc:
            lease.fail(exc)
            raise
        if not chunk:
            lease.release(Outcome(status=self.status, complete=True), "complete")
        return chunk

    async def aclose(self) -> None:
        """Release the response (idempotent); an unread body closes the connection."""
        lease = self._lease
        if lease is not None and not lease.released:
            lease.release(Outcome(status=self.status), "closed")

    @property
    def released(self) -> bool:
        return self._lease is None or self._lease.released

    async def __aenter__(self) -> RawResponse:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _Bytes:
    __slots__ = ("_resp",)

    def __init__(self, resp: RawResponse) -> None:
        self._resp = resp

    def __aiter__(self) -> _Bytes:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._resp._next_chunk()
        if not chunk:
            raise StopAsyncIteration
        return chunk
