"""The Client: configuration, the session, and the send path its resources
(``client.messages``, ``client.models`` in ``_resources.py``) share.

The send path is a chain of small methods, one concern each (after httpx's
``send`` chain):

``_prepare``   params -> a ``PreparedRequest`` (URL, headers, encoded body)
``_retrying``  runs one attempt, asks the pure retry policy, sleeps, repeats
``_attempt``   limiter slot -> ``_open`` -> read and decode -> release the slot
``_open``      sends, records rate-limit state, turns an error status into an
               ``APIStatusError`` (reading and releasing its body)

Every layer releases the response when an exception passes through it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
import orjson

from ..io import transport as _transport
from ..policy.ratelimit import (
    NOTHING_USED,
    RateLimitState,
    estimate_input_tokens,
    parse_rate_limit_headers,
    usage_for_limiter,
)
from ..policy.retry import RetryDecision, RetryPolicy, decide
from ..policy.timeouts import Timeout, coerce_timeout
from ..wire.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    ConfigurationError,
    RateLimitError,
    status_error_class,
)
from ..wire.headers import (
    DEFAULT_API_VERSION,
    build_headers,
    check_api_version,
    check_credential,
    with_call_headers,
)
from ..wire.models import Usage, decode_error_body
from ..wire.sse import DEFAULT_MAX_EVENT_SIZE
from .resources import Messages, Models

if TYPE_CHECKING:
    import aiohttp

    from ..io.limiter import RateLimiter, Reservation

__all__ = ["Client", "PreparedRequest"]

log = logging.getLogger("rawclaude")

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.anthropic.com"
_ENCODER = msgspec.json.Encoder()


class PreparedRequest:
    """One request, ready to send as often as the retry policy allows."""

    __slots__ = ("body", "headers", "input_tokens", "limited", "method", "output_tokens", "url")

    def __init__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        limited: bool = False,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        #: What the limiter reserves: estimated input tokens and ``max_tokens``.
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.limited = limited

    def __repr__(self) -> str:
        # Never the headers (they hold the credential, and tracebacks that
        # show locals print reprs) nor the body (it may be megabytes).
        return f"PreparedRequest({self.method} {self.url})"


class Client:
    """An async client for the Claude API.

    Use it as ``async with Client() as client:`` or call ``await client.close()``.
    One aiohttp session is created lazily, inside the running loop, on the
    first call; a ``session`` passed in is used as is and never closed here.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        auth_token: str | None = None,
        base_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        max_retries: int = 2,
        timeout: Timeout | float | None = None,
        default_headers: Mapping[str, str] | None = None,
        limiter: RateLimiter | None = None,
        session: aiohttp.ClientSession | None = None,
        max_retry_wait: float = 60.0,
        max_connections: int = 256,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    ) -> None:
        if api_key is None:
            api_key = os.environ.get("ANTHROPIC_API_KEY")
        if auth_token is None:
            auth_token = os.environ.get("ANTHROPIC_AUTH_TOKEN")
        self._api_key = check_credential("api_key (ANTHROPIC_API_KEY)", api_key)
        self._auth_token = check_credential("auth_token (ANTHROPIC_AUTH_TOKEN)", auth_token)
        url = base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = url.rstrip("/")
        self.api_version = check_api_version(api_version)
        self.retry_policy = RetryPolicy(max_retries=max_retries, max_retry_wait=max_retry_wait)
        self.timeout = coerce_timeout(timeout)
        self.limiter = limiter
        self._default_headers = dict(default_headers or {})
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        if max_event_size < 1:
            raise ConfigurationError(f"max_event_size must be >= 1 byte, got {max_event_size}")
        #: The largest one server-sent event may be before ``SSEError``.
        self.max_event_size = max_event_size
        self._closed = False
        self._base_headers: dict[str, str] | None = None
        self._rate_limit_state: RateLimitState | None = None
        self.messages = Messages(self)
        self.models = Models(self)

    def __repr__(self) -> str:
        # Never the credential itself: only which kind is configured.
        creds = [n for n, v in (("api_key", self._api_key), ("auth_token", self._auth_token)) if v]
        return (
            f"Client(base_url={_without_userinfo(self.base_url)!r}, "
            f"api_version={self.api_version!r}, "
            f"credentials={'+'.join(creds) or 'none'}, max_retries={self.retry_policy.max_retries})"
        )

    __str__ = __repr__

    @property
    def rate_limit_state(self) -> RateLimitState | None:
        """The ``anthropic-ratelimit-*`` state of the latest response that carried any."""
        return self._rate_limit_state

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session this client created (idempotent; a user's session is left open)."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()

    # -- the send chain ------------------------------------------------------

    def _headers(
        self, betas: Iterable[str] | None, extra_headers: Mapping[str, str] | None
    ) -> Mapping[str, str]:
        if self._base_headers is None:
            if not self._api_key and not self._auth_token:
                raise ConfigurationError(
                    "No API key: pass Client(api_key=...) or set the ANTHROPIC_API_KEY "
                    "environment variable (or use auth_token= / ANTHROPIC_AUTH_TOKEN)."
                )
            self._base_headers = build_headers(
                api_key=self._api_key,
                auth_token=self._auth_token,
                api_version=self.api_version,
                default_headers=self._default_headers,
            )
        if not betas and not extra_headers:
            return self._base_headers
        return with_call_headers(self._base_headers, betas, extra_headers)

    def _prepare(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        betas: Iterable[str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        limited: bool = False,
    ) -> PreparedRequest:
        headers = self._headers(betas, extra_headers)
        data = None if body is None else _encode(body)
        if not limited or self.limiter is None or data is None:
            return PreparedRequest(method, self.base_url + path, headers, data)
        max_tokens = body.get("max_tokens") if body else None
        return PreparedRequest(
            method,
            self.base_url + path,
            headers,
            data,
            input_tokens=estimate_input_tokens(data),
            output_tokens=max_tokens if isinstance(max_tokens, int) else 0,
            limited=True,
        )

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            if self._closed:
                raise ConfigurationError("this Client is closed; create a new one")
            self._session = _transport.new_session(self._max_connections)
        return self._session

    async def _open(
        self, req: PreparedRequest, timeout: Timeout, *, stream: bool
    ) -> aiohttp.ClientResponse:
        """Send once; return a 2xx response, or raise the typed error of any other."""
        resp = await _transport.send(
            self._get_session(),
            req.method,
            req.url,
            headers=req.headers,
            body=req.body,
            timeout=timeout,
            stream=stream,
        )
        try:
            self._observe(resp.status, resp.headers)
        except BaseException:
            resp.close()
            raise
        if 200 <= resp.status < 300:
            return resp
        try:
            data = await _transport.read_body(resp, timeout)
        except APIError:
            data = b""
        raise _status_error(resp.status, resp.reason, resp.headers, data)

    def _observe(self, status: int, headers: Mapping[str, str]) -> None:
        state = parse_rate_limit_headers(headers, now=time.time())
        if state is not None:
            self._rate_limit_state = state
        if self.limiter is not None and (state is not None or status == 429):
            self.limiter.observe(status, state)

    async def _reserve(self, req: PreparedRequest) -> Reservation | None:
        limiter = self.limiter
        if not req.limited or limiter is None:
            return None
        paused = limiter.paused_for
        if paused > self.retry_policy.max_retry_wait:
            # A 429 paused every caller for longer than we sleep silently:
            # the same rule as for the request that got the 429.
            raise RateLimitError(
                f"the rate limiter is paused by a 429 for {paused:.3g}s more, longer "
                f"than max_retry_wait={self.retry_policy.max_retry_wait:g}s",
                status_code=429,
                error_type="rate_limit_error",
                retry_after=paused,
                # So the retry policy sees the same too-long wait and stops.
                headers={"retry-after": f"{paused:.3f}"},
            )
        return await limiter.reserve(input_tokens=req.input_tokens, output_tokens=req.output_tokens)

    async def _attempt(
        self, req: PreparedRequest, timeout: Timeout, decode: Callable[[bytes, str | None], T]
    ) -> T:
        reservation = await self._reserve(req)
        used: dict[str, int | None] = {}
        try:
            resp = await self._open(req, timeout, stream=False)
            request_id = resp.headers.get("request-id")
            result = decode(await _transport.read_body(resp, timeout), request_id)
            used = _usage_of(result)
            return result
        except APIStatusError:
            used = NOTHING_USED  # an error status: the API generated nothing
            raise
        finally:
            if reservation is not None:
                await reservation.release(**used)

    async def _retrying(self, run: Callable[[], Awaitable[T]]) -> T:
        """Run ``run`` until it succeeds or the retry policy says stop."""
        attempt = 0
        while True:
            try:
                return await run()
            except (APIStatusError, APIConnectionError) as exc:
                decision = self._decide(attempt, exc)
                if not decision.retry:
                    raise
                failure = type(exc).__name__
            log.debug(
                "rawclaude: retry %d/%d in %.3fs after %s",
                attempt + 1,
                self.retry_policy.max_retries,
                decision.delay,
                failure,
            )
            await asyncio.sleep(decision.delay)
            attempt += 1

    def _decide(self, attempt: int, exc: APIStatusError | APIConnectionError) -> RetryDecision:
        if isinstance(exc, APIStatusError):
            status: int | None = exc.status_code
            headers: Mapping[str, str] = exc.headers
        else:
            status, headers = None, {}
        decision = decide(
            self.retry_policy, attempt, status, headers, now=time.time(), rand=random.random()
        )
        if isinstance(exc, APIStatusError) and decision.server_wait is not None:
            exc.retry_after = decision.server_wait
        if not decision.retry and decision.reason.startswith("server asked"):
            exc.message = f"{exc.message} [not retried: {decision.reason}]"
        return decision

    async def _call(
        self,
        req: PreparedRequest,
        timeout: Timeout | float | None,
        decode: Callable[[bytes, str | None], T],
    ) -> T:
        effective = self.timeout.merge(timeout, stream=False)
        return await self._retrying(lambda: self._attempt(req, effective, decode))


def _without_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` replaced, for reprs."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    if not sep or "@" not in netloc:
        return url
    return f"{scheme}://***@{netloc.rpartition('@')[2]}{slash}{path}"


def _encode(body: dict[str, Any]) -> bytes:
    try:
        return _ENCODER.encode(body)
    except (TypeError, msgspec.EncodeError) as exc:
        raise ConfigurationError(f"request parameters are not JSON-serializable: {exc}") from exc


def _usage_of(result: object) -> dict[str, int | None]:
    usage = getattr(result, "usage", None)
    return usage_for_limiter(usage if isinstance(usage, Usage) else None)


def _status_error(
    status: int, reason: str | None, headers: Mapping[str, str], data: bytes
) -> APIStatusError:
    """The typed error of an error response, readable even when the body is not JSON."""
    parsed = decode_error_body(data)
    request_id = headers.get("request-id")
    if parsed is not None:
        message = parsed.error.message
        error_type: str | None = parsed.error.type
        body: Any = orjson.loads(data)  # all of it, fields we do not model included
        request_id = request_id or parsed.request_id
    else:
        snippet = data[:300].decode("utf-8", "replace").strip()
        message = f"HTTP {status} {reason or ''}".rstrip()
        if snippet:
            message += f": {snippet}"
        error_type, body = None, data.decode("utf-8", "replace") if data else None
    return status_error_class(status)(
        message,
        status_code=status,
        request_id=request_id,
        error_type=error_type,
        body=body,
        headers={k.lower(): v for k, v in headers.items()},
    )
