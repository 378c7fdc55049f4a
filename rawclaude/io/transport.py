"""The only module that talks to aiohttp.

Everything aiohttp can raise is translated here, once, into the rawclaude
error tree, in the manner of httpx's single mapping function; the original is
kept as text only (:class:`TransportFailure` is the ``__cause__``), because its
traceback would reach the request headers and the credential in them. Timeouts map onto aiohttp's
``ClientTimeout``: ``sock_connect`` is our connect timeout (so waiting for a
free pooled connection under high concurrency is not a connect failure),
``total`` bounds a whole non-streaming call, and ``sock_read`` -- the longest
gap between two reads from the socket -- is exactly a stream idle timeout.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, Callable, Mapping
from functools import lru_cache

import aiohttp

from ..policy.timeouts import Timeout
from ..wire.errors import APIConnectionError, APITimeoutError, ResponseTooLargeError

__all__ = [
    "TransportFailure",
    "client_timeout",
    "connection_error",
    "new_session",
    "read_body",
    "read_chunk",
    "read_prefix",
    "send",
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


def new_session(max_connections: int, *, trust_env: bool = True) -> aiohttp.ClientSession:
    """A session tuned for one API host: a bounded pool, keep-alive, no cookies.

    ``trust_env`` honours ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` (and
    ``~/.netrc``) as aiohttp does.
    """
    connector = aiohttp.TCPConnector(limit=max_connections, limit_per_host=max_connections)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        # Headers are set per request; aiohttp must not add a User-Agent of its own.
        skip_auto_headers=("User-Agent",),
        trust_env=trust_env,
    )


class TransportFailure(Exception):
    """The ``__cause__`` of a connection error: what aiohttp (or the OS) raised,
    as text only. The original exception is not kept: its traceback holds the
    frames of the request, whose locals hold the request headers and with them
    the credential (and some aiohttp errors carry the request headers outright).
    """

    def __init__(self, original: BaseException) -> None:
        kind = type(original)
        #: The class of the original exception (a class holds no request data).
        self.original_type: type[BaseException] = kind
        text = _USERINFO.sub("://***@", str(original))
        super().__init__(
            f"{kind.__module__}.{kind.__qualname__}: {text}" if text else kind.__name__
        )


_USERINFO = re.compile(r"://[^/@\s]+@")

# aiohttp >= 3.10 raises its own class for a connect timeout; older ones do not say.
_CONNECT_TIMEOUT: type[BaseException] | None = getattr(aiohttp, "ConnectionTimeoutError", None)


def _which_timeout(exc: BaseException, timeout: Timeout, *, stream: bool) -> str:
    if _CONNECT_TIMEOUT is not None and isinstance(exc, _CONNECT_TIMEOUT):
        return f"connect timeout of {timeout.connect}s"
    if stream:
        return f"no data for stream_idle={timeout.stream_idle}s"
    return f"total timeout of {timeout.total}s"


def connection_error(exc: BaseException, timeout: Timeout, *, stream: bool) -> APIConnectionError:
    """Our error for an aiohttp / OS / timeout exception, its cause scrubbed.

    Raise the result *outside* the ``except`` block that caught ``exc``, so the
    original is not kept as ``__context__`` either.
    """
    if isinstance(exc, asyncio.TimeoutError):
        what = _which_timeout(exc, timeout, stream=stream)
        error: APIConnectionError = APITimeoutError(f"Request timed out ({what}).")
        error.__cause__ = TransportFailure(exc)
        return error
    cause = TransportFailure(exc)
    error = APIConnectionError(f"Connection error: {cause}")
    error.__cause__ = cause
    return error


_TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError)


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes | Callable[[], AsyncIterable[bytes]] | None,
    timeout: Timeout,
    stream: bool,
    proxy: str | None = None,
) -> aiohttp.ClientResponse | APIConnectionError:
    """Send one request; the response with its headers read, or the error.

    The error is *returned*, not raised: this frame holds the request headers
    (the credential), and the caller raises from a frame that does not, so no
    traceback of an error we raise shows them. The body is not read: the caller
    reads it (``read_body``) or streams it (``read_chunk``) and must release the
    response in every case.
    """
    data = body() if callable(body) else body
    try:
        return await session.request(
            method,
            url,
            headers=headers,
            data=data,
            timeout=client_timeout(timeout, stream),
            allow_redirects=False,
            # A user's session may set raise_for_status; we read every status
            # ourselves (and aiohttp's error would carry the request headers).
            raise_for_status=False,
            proxy=proxy,
        )
    except _TRANSPORT_ERRORS as exc:
        failure = connection_error(exc, timeout, stream=stream)
    return failure


async def read_body(resp: aiohttp.ClientResponse, timeout: Timeout, limit: int) -> bytes:
    """The whole response body, at most ``limit`` bytes; the connection goes back
    to the pool after. Over the limit: ``ResponseTooLargeError``, connection closed."""
    declared = resp.content_length
    if declared is not None and declared > limit:
        resp.close()
        raise _too_large(declared, limit, resp)
    failure: APIConnectionError | None = None
    try:
        if declared is not None and "content-encoding" not in resp.headers:
            return await resp.read()  # the declared size is the size: checked above
        # Unknown size, or compressed (whose size after decoding is unknown).
        return await _read_limited(resp, limit)
    except _TRANSPORT_ERRORS as exc:
        resp.close()
        failure = connection_error(exc, timeout, stream=False)
    finally:
        resp.release()
    raise failure


async def _read_limited(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while chunk := await resp.content.readany():
        size += len(chunk)
        if size > limit:
            resp.close()
            raise _too_large(size, limit, resp)
        parts.append(chunk)
    return b"".join(parts)


async def read_prefix(
    resp: aiohttp.ClientResponse, timeout: Timeout, limit: int
) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes of a body and whether it was longer (error bodies:
    a proxy's 100 MB error page must not be held whole). Never raises: a broken
    read gives what arrived."""
    parts: list[bytes] = []
    size = 0
    truncated = False
    try:
        while chunk := await resp.content.readany():
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                truncated = True
                break
    except _TRANSPORT_ERRORS:
        truncated = True
    if truncated:
        resp.close()
    else:
        resp.release()
    return b"".join(parts)[:limit], truncated


def _too_large(size: int, limit: int, resp: aiohttp.ClientResponse) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"response body of {size} bytes or more is over max_response_size={limit}; raise "
        "Client(max_response_size=...) if this response is expected",
        request_id=resp.headers.get("request-id"),
    )


async def read_chunk(resp: aiohttp.ClientResponse, timeout: Timeout) -> bytes:
    """The next bytes of a streaming body as they arrive; ``b""`` at its end."""
    try:
        return await resp.content.readany()
    except _TRANSPORT_ERRORS as exc:
        failure = connection_error(exc, timeout, stream=True)
    raise failure
