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
from functools import lru_cache
from typing import NoReturn

import aiohttp

from ..policy.timeouts import Timeout
from ..wire.errors import APIConnectionError, APITimeoutError

__all__ = [
    "client_timeout",
    "new_session",
    "send",
    "read_body",
    "read_chunk",
    "raise_connection_error",
]


@lru_cache(maxsize=64)
def client_timeout(timeout: Timeout, stream: bool) -> aiohttp.ClientTimeout:
    """aiohttp's timeout for ours, built once per distinct value (it is per request)."""
    if stream:
        # A stream can rightly run for many minutes: bound its silences.
        return aiohttp.ClientTimeout(
            total=None, sock_connect=timeout.connect, sock_read=timeout.stream_idle
        )
    return aiohttp.ClientTimeout(total=timeout.total, sock_connect=timeout.connect)


def new_session(max_connections: int) -> aiohttp.ClientSession:
    """A session tuned for one API host: a bounded pool, keep-alive, no cookies."""
    connector = aiohttp.TCPConnector(limit=max_connections, limit_per_host=max_connections)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        # Headers are set per request; aiohttp must not add a User-Agent of its own.
        skip_auto_headers=("User-Agent",),
    )


# aiohttp >= 3.10 raises its own class for a connect timeout; older ones do not say.
_CONNECT_TIMEOUT: type[BaseException] | None = getattr(aiohttp, "ConnectionTimeoutError", None)


def _which_timeout(exc: BaseException, timeout: Timeout, *, stream: bool) -> str:
    if _CONNECT_TIMEOUT is not None and isinstance(exc, _CONNECT_TIMEOUT):
        return f"connect timeout of {timeout.connect}s"
    if stream:
        return f"no data for stream_idle={timeout.stream_idle}s"
    return f"total timeout of {timeout.total}s"


def raise_connection_error(exc: BaseException, timeout: Timeout, *, stream: bool) -> NoReturn:
    """Translate an aiohttp / OS / timeout exception into our tree, chained."""
    if isinstance(exc, asyncio.TimeoutError):
        what = _which_timeout(exc, timeout, stream=stream)
        raise APITimeoutError(f"Request timed out ({what}).") from exc
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
            timeout=client_timeout(timeout, stream),
            allow_redirects=False,
            # A user's session may set raise_for_status; we read every status
            # ourselves (and aiohttp's error would carry the request headers).
            raise_for_status=False,
        )
    except _TRANSPORT_ERRORS as exc:
        raise_connection_error(exc, timeout, stream=stream)


async def read_body(resp: aiohttp.ClientResponse, timeout: Timeout) -> bytes:
    """The whole response body; the connection goes back to the pool after."""
    try:
        return await resp.read()
    except _TRANSPORT_ERRORS as exc:
        resp.close()
        raise_connection_error(exc, timeout, stream=False)
    finally:
        resp.release()


async def read_chunk(resp: aiohttp.ClientResponse, timeout: Timeout) -> bytes:
    """The next bytes of a streaming body as they arrive; ``b""`` at its end."""
    try:
        return await resp.content.readany()
    except _TRANSPORT_ERRORS as exc:
        raise_connection_error(exc, timeout, stream=True)
