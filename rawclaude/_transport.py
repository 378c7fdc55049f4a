"""The only module that talks to aiohttp.

Everything aiohttp can raise is translated here, once, into the rawclaude
error tree (``raise ... from`` keeps the original as ``__cause__``), in the
manner of httpx's single mapping function. Timeouts map onto aiohttp's
``ClientTimeout``: ``sock_connect`` is our connect timeout (so waiting for a
free pooled connection under high concurrency is not a connect failure),
``total`` bounds a whole non-streaming call, and ``sock_read`` -- the longest
gap between two reads from the socket -- is exactly a stream idle timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import NoReturn

import aiohttp

from ._exceptions import APIConnectionError, APITimeoutError

__all__ = [
    "Timeout",
    "new_session",
    "send",
    "read_body",
    "read_chunk",
    "raise_connection_error",
]


@dataclass(frozen=True)
class Timeout:
    """Timeouts in seconds; ``None`` switches one off.

    * ``connect``: establishing the TCP/TLS connection (default 5 s).
    * ``total``: a whole non-streaming call, response body included (default
      600 s: the API allows long generations).
    * ``stream_idle``: the longest time a stream may go without a byte
      (default 60 s; the API sends ``ping`` events while it thinks).
    """

    connect: float | None = 5.0
    total: float | None = 600.0
    stream_idle: float | None = 60.0

    def merge(self, override: Timeout | float | None) -> Timeout:
        """This timeout overridden by a per-call value (a float sets ``total``)."""
        if override is None:
            return self
        if isinstance(override, Timeout):
            return override
        return replace(self, total=float(override))

    def for_request(self, *, stream: bool) -> aiohttp.ClientTimeout:
        if stream:
            # A stream can rightly run for many minutes: bound its silences.
            return aiohttp.ClientTimeout(
                total=None, sock_connect=self.connect, sock_read=self.stream_idle
            )
        return aiohttp.ClientTimeout(total=self.total, sock_connect=self.connect)

    def describe(self, *, stream: bool) -> str:
        if stream:
            return f"connect={self.connect}s, stream_idle={self.stream_idle}s"
        return f"connect={self.connect}s, total={self.total}s"


def coerce_timeout(value: Timeout | float | None) -> Timeout:
    if value is None:
        return Timeout()
    if isinstance(value, Timeout):
        return value
    if isinstance(value, (int, float)) and value > 0:
        return Timeout(total=float(value))
    raise ValueError(f"timeout must be a positive number of seconds or a Timeout, got {value!r}")


def new_session(max_connections: int) -> aiohttp.ClientSession:
    """A session tuned for one API host: a bounded pool, keep-alive, no cookies."""
    connector = aiohttp.TCPConnector(limit=max_connections, limit_per_host=max_connections)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        # Headers are set per request; aiohttp must not add a User-Agent of its own.
        skip_auto_headers=("User-Agent",),
    )


def raise_connection_error(exc: BaseException, context: str) -> NoReturn:
    """Translate an aiohttp / OS / timeout exception into our tree, chained."""
    if isinstance(exc, asyncio.TimeoutError):
        raise APITimeoutError(f"Request timed out ({context}).") from exc
    name = type(exc).__name__
    detail = str(exc) or name
    raise APIConnectionError(f"Connection error: {name}: {detail}") from exc


_TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    timeout: Timeout,
    stream: bool,
) -> aiohttp.ClientResponse:
    """Send one request and return the response with its headers read.

    The body is not read: the caller reads it (``read_body``) or streams it
    (``read_chunk``) and must release the response in every case.
    """
    try:
        return await session.request(
            method,
            url,
            headers=headers,
            data=body,
            timeout=timeout.for_request(stream=stream),
            allow_redirects=False,
        )
    except _TRANSPORT_ERRORS as exc:
        raise_connection_error(exc, timeout.describe(stream=stream))


async def read_body(resp: aiohttp.ClientResponse, timeout: Timeout) -> bytes:
    """The whole response body; the connection goes back to the pool after."""
    try:
        return await resp.read()
    except _TRANSPORT_ERRORS as exc:
        resp.close()
        raise_connection_error(exc, timeout.describe(stream=False))
    finally:
        resp.release()


async def read_chunk(resp: aiohttp.ClientResponse, timeout: Timeout) -> bytes:
    """The next bytes of a streaming body as they arrive; ``b""`` at its end."""
    try:
        return await resp.content.readany()
    except _TRANSPORT_ERRORS as exc:
        raise_connection_error(exc, timeout.describe(stream=True))
