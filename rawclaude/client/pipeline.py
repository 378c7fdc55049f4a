"""The send pipeline: every call -- ``create``, a stream, ``request()`` -- is one run.

::

    resource    builds a Call (params -> body, version rules, call headers)
    middleware  each wraps the whole run (a response cache, fallbacks) -- optional
    for each attempt (the retry policy decides; a 401 refreshes the credential once):
      admission   limiter -> budget -> breaker ...    each returns a ticket, released once
      credential  resolved for this attempt (static, or a provider)
      hooks       on_request(RequestRecord)
      send        the transport; the response classified (status, content type,
                  size caps; an error status becomes its typed error)
      read        decode (create) | lease the stream (stream) | raw (request())
    completion  ONE point per call: hooks' on_complete(CallRecord) with the outcome,
                usage, latency, TTFT, attempts, request id -- for a stream when its
                lease ends, whatever ended it

The credential exists only inside :meth:`Pipeline._transmit`, which returns (never
raises) transport failures; every error is raised from a frame that does not
hold it, so no traceback of ours reaches it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import msgspec

from ..io import transport
from ..policy.ratelimit import RateLimitState, parse_rate_limit_headers
from ..policy.retry import RetryPolicy, decide
from ..policy.timeouts import Timeout
from ..wire.error_body import error_from_response
from ..wire.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    ConfigurationError,
    RateLimitPausedError,
    SpendLimitError,
)
from ..wire.models import Usage
from . import fallback
from .admission import WAIT, AdmissionStage, Ticket, release_all
from .call import Call, Outcome
from .hooks import CallRecord, HookSet, RequestRecord, hook_failed
from .lease import StreamLease
from .options import env_proxy

if TYPE_CHECKING:
    import aiohttp

    from ..io.limiter import RateLimiter
    from .credentials import Credentials
    from .session import SessionHolder

__all__ = ["Decode", "Middleware", "Pipeline", "RequestStage", "SharedState", "Tracker"]

log = logging.getLogger("rawclaude")

T = TypeVar("T")

#: Turns a body into the call's result: (bytes, request id, the response).
Decode = Callable[[bytes, "str | None", "aiohttp.ClientResponse"], T]

#: Errors that end a call at once, whatever the retry policy says: admission
#: refused it locally, or the API said waiting will not help.
_FINAL = (RateLimitPausedError, SpendLimitError)

_MISSING_CREDENTIAL = (
    "No API key: pass Client(api_key=...) or set the ANTHROPIC_API_KEY environment "
    "variable (or use auth_token= / ANTHROPIC_AUTH_TOKEN)."
)


class Middleware(Protocol):
    """Wraps a whole call: ``return await proceed(call)``, or not (a cache hit),
    or with another call (a fallback model: ``call.with_params(...)``)."""

    async def __call__(self, call: Call, proceed: Callable[[Call], Awaitable[Any]]) -> Any: ...


#: Rewrites a Messages request's parameters before they are encoded (redaction):
#: gets the params dict, returns the params to send (a new dict, or the same one).
RequestStage = Callable[[dict[str, Any]], dict[str, Any]]


class SharedState:
    """What a client and its ``with_options`` copies share besides the session."""

    __slots__ = ("limiter", "rate_limit")

    def __init__(self, limiter: RateLimiter | None) -> None:
        self.limiter = limiter
        #: The rate-limit headers of the latest response that carried any.
        self.rate_limit: RateLimitState | None = None

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        state = parse_rate_limit_headers(headers, now=time.time())
        if state is not None:
            self.rate_limit = state
        limiter = self.limiter
        if limiter is not None and (state is not None or status == 429):
            limiter.observe(status, state)


class Tracker(msgspec.Struct, eq=False):
    """One call's running record, turned into a :class:`CallRecord` at its end.

    (A Struct with its clocks read in C: one is made for every call.)
    """

    started: float = msgspec.field(default_factory=time.perf_counter)
    #: Wall-clock Unix time the call started.
    started_at: float = msgspec.field(default_factory=time.time)
    attempts: int = 0
    status: int | None = None
    request_id: str | None = None
    usage: Usage | None = None
    ttft: float | None = None
    response: Any = None

    def record(
        self, call: Call, ok: bool, error: BaseException | None, end: str | None
    ) -> CallRecord:
        # In field order (see CallRecord).
        return CallRecord(
            call.kind,
            call.method,
            call.url,
            call.model,
            ok,
            self.status,
            self.attempts,
            time.perf_counter() - self.started,
            self.ttft,
            self.usage,
            self.request_id,
            error,
            end,
            call.tags,
            self.started_at,
            call.params,
            self.response,
        )


class Pipeline:
    """The send path of one client configuration (shared by its resources)."""

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        credentials: Credentials,
        session: SessionHolder,
        shared: SharedState,
        retry_policy: RetryPolicy,
        admission: Sequence[AdmissionStage],
        middleware: Sequence[Middleware],
        max_response_size: int,
        max_error_body_size: int,
        max_event_size: int,
        proxy: str | None,
        trust_env: bool,
        headers: Mapping[str, str],
        timeout: Timeout,
        hooks: HookSet,
        request_stages: Sequence[RequestStage],
        fallback_models: tuple[str, ...] = (),
    ) -> None:
        self.base_url = base_url
        self.api_version = api_version
        self.credentials = credentials
        self.session = session
        self.shared = shared
        self.retry_policy = retry_policy
        self.admission = tuple(admission)
        # Each stage with its synchronous admit_now, when it has one (tried first).
        self._admitters = tuple((stage, getattr(stage, "admit_now", None)) for stage in admission)
        # The admit_now of the leading stages that have one: _admit_now's loop.
        leading: list[Callable[[Call], Any]] = []
        for _, admit_now in self._admitters:
            if admit_now is None:
                break
            leading.append(admit_now)
        self._leading_admit_nows = tuple(leading)
        self.middleware = tuple(middleware)
        self.max_response_size = max_response_size
        self.max_error_body_size = max_error_body_size
        self.max_event_size = max_event_size
        #: The proxy for the base URL (explicit, or the environment's, found once).
        self.proxy = proxy
        self.trust_env = trust_env
        self._proxies: dict[str, str | None] = {}
        #: The client's headers (no credential: that is added per attempt).
        self.headers = headers
        self.timeout = timeout
        self.hooks = hooks
        self.request_stages = tuple(request_stages)
        #: The client's fallback models (a call may bring its own).
        self.fallback_models = fallback_models

    def __repr__(self) -> str:
        return f"Pipeline({self.base_url}, credentials={self.credentials.describe()})"

    # -- the three kinds of call ----------------------------------------------

    async def call_json(self, call: Call, decode: Decode[T]) -> T:
        """A call whose body is read whole and decoded (``create``, lists, ...)."""

        async def run(c: Call) -> T:
            return await self._completed(c, lambda tr: self._json(c, tr, decode))

        return await self._wrapped(call, run)

    async def open_stream(self, call: Call, start: Callable[[StreamLease], Awaitable[T]]) -> T:
        """A streaming call: ``start(lease)`` reads up to the first content (and
        may raise to have the attempt retried); the call completes when the lease
        of the attempt that succeeded ends."""

        async def run(c: Call) -> T:
            tracker = Tracker()
            try:
                return await self._retrying(c, tracker, lambda: self._stream(c, tracker, start))
            except BaseException as exc:
                self._complete(c, tracker, ok=False, error=exc, end="error")
                raise

        return await self._wrapped(call, run)

    async def _wrapped(self, call: Call, run: Callable[[Call], Awaitable[T]]) -> T:
        models = call.fallback_models
        if models:
            # Innermost: a middleware (a cache, say) sees the call once.
            run = _with_fallbacks(run, models)
        if not self.middleware:
            return await run(call)
        proceed: Callable[[Call], Awaitable[Any]] = run
        for layer in reversed(self.middleware):
            proceed = _bind(layer, proceed)
        result: T = await proceed(call)
        return result

    async def _completed(self, call: Call, attempt: Callable[[Tracker], Awaitable[T]]) -> T:
        tracker = Tracker()
        try:
            result = await self._retrying(call, tracker, lambda: attempt(tracker))
        except BaseException as exc:
            self._complete(call, tracker, ok=False, error=exc, end=None)
            raise
        self._complete(call, tracker, ok=True, error=None, end=None)
        return result

    def _complete(
        self,
        call: Call,
        tracker: Tracker,
        *,
        ok: bool,
        error: BaseException | None,
        end: str | None,
    ) -> None:
        """The completion point: one record per call, for the hooks."""
        methods = call.hooks.complete
        if methods:
            record = tracker.record(call, ok, error, end)
            for method in methods:
                try:
                    method(record)
                except Exception:  # a hook never breaks the call
                    hook_failed(method)

    # -- retries --------------------------------------------------------------

    async def _retrying(
        self, call: Call, tracker: Tracker, attempt: Callable[[], Awaitable[T]]
    ) -> T:
        """Run ``attempt`` until it succeeds or the retry policy says stop."""
        retry = 0
        refreshed = False
        while True:
            try:
                return await attempt()
            except _FINAL:
                raise
            except (APIStatusError, APIConnectionError) as exc:
                if (
                    not refreshed
                    and isinstance(exc, APIStatusError)
                    and exc.status_code == 401
                    and not exc.in_stream
                    and await self.credentials.refresh()
                ):
                    refreshed = True  # a rotated credential: once, right away
                    continue
                delay = self._delay(retry, exc)
                if delay is None:
                    raise
                failure = type(exc).__name__
            log.debug(
                "rawclaude: retry %d/%d in %.3fs after %s",
                retry + 1,
                self.retry_policy.max_retries,
                delay,
                failure,
            )
            await asyncio.sleep(delay)
            retry += 1

    def _delay(self, retry: int, exc: APIStatusError | APIConnectionError) -> float | None:
        """Seconds before the next attempt, or None to give up (the policy decides)."""
        if isinstance(exc, APIStatusError):
            status: int | None = exc.status_code
            headers: Mapping[str, str] = exc.headers
        else:
            status, headers = None, {}
        decision = decide(
            self.retry_policy, retry, status, headers, now=time.time(), rand=random.random()
        )
        if isinstance(exc, APIStatusError) and decision.server_wait is not None:
            exc.retry_after = decision.server_wait
            if not decision.retry and decision.wait_too_long:
                # Say why a retryable error was raised at once.
                exc.message = f"{exc.message} [not retried: {decision.reason}]"
        return decision.delay if decision.retry else None

    # -- one attempt ------------------------------------------------------------

    def _admit_now(self, call: Call) -> tuple[list[Ticket], int]:
        """Admission as far as it goes without awaiting: the tickets taken, and the
        index of the first stage that must be awaited (``len(stages)``: none)."""
        tickets: list[Ticket] = []
        i = 0
        try:
            for admit_now in self._leading_admit_nows:
                got: Any = admit_now(call)
                if got is WAIT:
                    break
                if got is not None:
                    tickets.append(got)
                i += 1
        except BaseException as exc:
            release_all(tickets, Outcome(error=exc))
            raise
        return tickets, i

    async def _admit(self, call: Call, tickets: list[Ticket], i: int) -> list[Ticket]:
        """The rest of admission, from stage ``i`` (which must be awaited) on."""
        try:
            for j in range(i, len(self._admitters)):
                stage, admit_now = self._admitters[j]
                # Stage i's admit_now said WAIT already (or it has none).
                got: Any = WAIT if j == i or admit_now is None else admit_now(call)
                if got is WAIT:
                    got = await stage.admit(call)
                if got is not None:
                    tickets.append(got)
        except BaseException as exc:
            release_all(tickets, Outcome(error=exc))
            raise
        return tickets

    async def _json(self, call: Call, tracker: Tracker, decode: Decode[T]) -> T:
        tickets: Sequence[Ticket] = ()
        if call.limited and self.admission:
            tickets, pending = self._admit_now(call)
            if pending < len(self._admitters):
                tickets = await self._admit(call, tickets, pending)
        outcome = _UNKNOWN
        try:
            resp = await self._send(call, tracker, stream=False)
            data = await transport.read_body(resp, call.timeout, self.max_response_size)
            result = decode(data, tracker.request_id, resp)
            usage = getattr(result, "usage", None)
            tracker.usage = usage if isinstance(usage, Usage) else None
            tracker.response = result
            if tickets:
                outcome = Outcome(tracker.status, tracker.usage, None, True)  # in field order
            return result
        except BaseException as exc:
            if tickets:
                outcome = Outcome(status=tracker.status, error=exc)
            raise
        finally:
            if tickets:
                release_all(tickets, outcome)

    async def _stream(
        self, call: Call, tracker: Tracker, start: Callable[[StreamLease], Awaitable[T]]
    ) -> T:
        tickets: Sequence[Ticket] = ()
        if call.limited and self.admission:
            tickets, pending = self._admit_now(call)
            if pending < len(self._admitters):
                tickets = await self._admit(call, tickets, pending)
        try:
            resp = await self._send(call, tracker, stream=True)
        except BaseException as exc:
            release_all(tickets, Outcome(status=tracker.status, error=exc))
            raise
        lease = StreamLease(resp, tickets, tracker)
        try:
            result = await start(lease)
        except BaseException as exc:
            lease.fail(exc)
            raise
        if lease.released:
            # Complete before start() returned (the whole stream in one read).
            self._complete(call, tracker, ok=True, error=None, end="complete")
        else:
            lease.on_end(lambda outcome, end: self._stream_ended(call, tracker, outcome, end))
        return result

    def _stream_ended(self, call: Call, tracker: Tracker, outcome: Outcome, end: str) -> None:
        self._complete(call, tracker, ok=outcome.complete, error=outcome.error, end=end)

    async def _send(self, call: Call, tracker: Tracker, *, stream: bool) -> aiohttp.ClientResponse:
        """Send one attempt; a 2xx response (headers read), or its typed error raised."""
        session = self.session.get()
        methods = call.hooks.request
        if methods:
            # In field order (see RequestRecord).
            record = RequestRecord(
                call.kind, call.method, call.url, tracker.attempts, call.model, call.tags
            )
            for method in methods:
                try:
                    method(record)
                except Exception:  # a hook never breaks the call
                    hook_failed(method)
        tracker.attempts += 1
        result = await self._transmit(call, session, stream)
        if isinstance(result, APIConnectionError):
            raise result
        resp = result
        status = resp.status
        tracker.status = status
        rid = resp.headers.get("request-id")
        tracker.request_id = rid
        try:
            self.shared.observe(status, resp.headers)
        except BaseException:
            resp.close()
            raise
        if 200 <= status < 300:
            if call.event_stream and not _is_event_stream(resp.headers.get("content-type")):
                error = _not_a_stream(resp.headers.get("content-type"), rid)
                resp.close()
                raise error
            return resp
        data, truncated = await transport.read_prefix(resp, call.timeout, self.max_error_body_size)
        raise error_from_response(status, resp.reason, resp.headers, data, truncated=truncated)

    async def _transmit(
        self, call: Call, session: aiohttp.ClientSession, stream: bool
    ) -> aiohttp.ClientResponse | APIConnectionError:
        """The only frame that holds the credential; returns transport failures."""
        credential = await self.credentials.headers()
        if not credential and not (
            self.credentials.suppressed or _has_credential_header(call.headers)
        ):
            raise ConfigurationError(_MISSING_CREDENTIAL)
        headers = {**call.headers, **credential} if credential else call.headers
        return await transport.send(
            session,
            call.method,
            call.url,
            headers=headers,
            body=call.body,
            timeout=call.timeout,
            stream=stream,
            proxy=self._proxy_for(call.url),
        )

    def _proxy_for(self, url: str) -> str | None:
        if url.startswith(self.base_url) or not self.trust_env:
            return self.proxy
        # An absolute URL on another host (a batch's results_url): the
        # environment's proxy for that host, looked up once.
        host = url.split("/", 3)[2] if "://" in url else url
        if host not in self._proxies:
            self._proxies[host] = env_proxy(url)
        return self._proxies[host]


_UNKNOWN = Outcome()


def _with_fallbacks(
    run: Callable[[Call], Awaitable[T]], models: tuple[str, ...]
) -> Callable[[Call], Awaitable[T]]:
    async def run_with_fallbacks(call: Call) -> T:
        result: T = await fallback.run(call, run, models)
        return result

    return run_with_fallbacks


def _bind(
    layer: Middleware, inner: Callable[[Call], Awaitable[Any]]
) -> Callable[[Call], Awaitable[Any]]:
    async def run(call: Call) -> Any:
        return await layer(call, inner)

    return run


def _has_credential_header(headers: Mapping[str, str]) -> bool:
    # default_headers / extra_headers may carry the credential themselves.
    return "x-api-key" in headers or "authorization" in headers


def _is_event_stream(content_type: str | None) -> bool:
    return content_type is not None and content_type.lower().startswith("text/event-stream")


def _not_a_stream(content_type: str | None, request_id: str | None) -> APIResponseValidationError:
    # A gateway that ignored "stream": true answered with a whole body. Not
    # retried: each attempt may be billed in full.
    return APIResponseValidationError(
        f"a stream was asked for, but the 200 response is {content_type or 'untyped'}, not "
        "text/event-stream (a proxy or gateway that does not pass streaming through?); "
        "not retried",
        request_id=request_id,
    )
