"""The Client: configuration only.

It checks its arguments (a mistake is a ``ConfigurationError`` naming the
argument, before anything is sent), builds the one
:class:`~rawclaude.client.pipeline.Pipeline` its resources share, and hands out
cheap copies with other options (``with_options``) that share the session, the
limiter and the rate-limit state. The send path itself lives in the pipeline.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp

from ..policy.retry import RetryPolicy
from ..policy.timeouts import Timeout, coerce_timeout
from ..wire.errors import ConfigurationError
from ..wire.headers import DEFAULT_API_VERSION, build_headers, check_api_version, check_header_map
from ..wire.sse import DEFAULT_MAX_EVENT_SIZE
from .admission import AdmissionStage, LimiterStage
from .batches import Batches
from .call import BodySource
from .credentials import Credentials, CredentialSource, resolve_sources
from .fallback import check_fallback_models
from .files import Files
from .hooks import HookSet
from .options import (
    check_base_url,
    check_callables,
    check_limiter,
    check_non_negative,
    check_positive_int,
    check_proxy,
    check_stages,
    without_userinfo,
)
from .pipeline import Middleware, Pipeline, RequestStage, SharedState
from .raw import RawResponse
from .resources import Messages, Models, build_call, encode_json
from .session import SessionHolder

if TYPE_CHECKING:
    from ..io.limiter import RateLimiter
    from ..policy.ratelimit import RateLimitState
    from .lease import StreamLease

__all__ = ["Client"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
#: The largest non-streaming response body accepted (a long message with big
#: tool inputs is a few MB; this only stops a runaway or hostile body).
DEFAULT_MAX_RESPONSE_SIZE = 64 * 2**20
#: Error bodies are a few hundred bytes; a proxy's error page is cut here.
DEFAULT_MAX_ERROR_BODY_SIZE = 64 * 2**10

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_UNSET: Any = object()


class _Config:
    """A client's checked options (what ``with_options`` copies and changes)."""

    __slots__ = (
        "admission",
        "api_key",
        "api_version",
        "auth_token",
        "base_url",
        "default_headers",
        "fallback_models",
        "hooks",
        "max_error_body_size",
        "max_event_size",
        "max_response_size",
        "max_retries",
        "max_retry_wait",
        "middleware",
        "proxy",
        "request_stages",
        "timeout",
    )
    admission: tuple[AdmissionStage, ...]
    api_key: CredentialSource | None
    api_version: str
    auth_token: CredentialSource | None
    base_url: str
    default_headers: dict[str, str]
    fallback_models: tuple[str, ...]
    hooks: HookSet
    max_error_body_size: int
    max_event_size: int
    max_response_size: int
    max_retries: int
    max_retry_wait: float
    middleware: tuple[Middleware, ...]
    proxy: str | None
    request_stages: tuple[RequestStage, ...]
    timeout: Timeout

    def copy(self) -> _Config:
        new = _Config()
        for name in self.__slots__:
            setattr(new, name, getattr(self, name))
        return new


#: Options ``with_options`` can change (the session, pool and limiter are shared).
_COPYABLE = frozenset(_Config.__slots__)


class _Shared:
    """What a client and its copies share: the session and the rate-limit state."""

    __slots__ = ("session", "state", "trust_env")

    def __init__(self, session: SessionHolder, state: SharedState, trust_env: bool) -> None:
        self.session, self.state, self.trust_env = session, state, trust_env


class Client:
    """An async client for the Claude API.

    Use it as ``async with Client() as client:`` or call ``await client.close()``.
    One aiohttp session is created lazily, inside the running loop, on the
    first call; a ``session`` passed in is used as is and never closed here.
    """

    def __init__(
        self,
        api_key: CredentialSource | None = None,
        *,
        auth_token: CredentialSource | None = None,
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
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        max_error_body_size: int = DEFAULT_MAX_ERROR_BODY_SIZE,
        hooks: Sequence[Any] | None = None,
        admission: Sequence[AdmissionStage] | None = None,
        middleware: Sequence[Middleware] | None = None,
        request_stages: Sequence[RequestStage] | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
        fallback_models: Sequence[str] | None = None,
    ) -> None:
        import os

        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise ConfigurationError(
                f"session must be an aiohttp.ClientSession, got {type(session).__name__}"
            )
        if not isinstance(trust_env, bool):
            raise ConfigurationError(f"trust_env must be a bool, got {trust_env!r}")
        api_key, auth_token = resolve_sources(api_key, auth_token)
        holder = SessionHolder(
            session,
            max_connections=check_positive_int("max_connections", max_connections),
        )
        shared = _Shared(holder, SharedState(check_limiter(limiter)), trust_env)
        changes = {
            "api_key": api_key,
            "auth_token": auth_token,
            "base_url": base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL,
            "api_version": api_version,
            "max_retries": max_retries,
            "timeout": timeout,
            "default_headers": default_headers,
            "max_retry_wait": max_retry_wait,
            "max_event_size": max_event_size,
            "max_response_size": max_response_size,
            "max_error_body_size": max_error_body_size,
            "hooks": hooks,
            "admission": admission,
            "middleware": middleware,
            "request_stages": request_stages,
            "proxy": proxy,
            "fallback_models": fallback_models,
        }
        self._configure(_checked(_Config(), changes, shared), shared)

    def _configure(self, config: _Config, shared: _Shared) -> None:
        self._config = config
        self._shared = shared
        admission: list[AdmissionStage] = []
        if shared.state.limiter is not None:
            admission.append(LimiterStage(shared.state.limiter, config.max_retry_wait))
        admission.extend(config.admission)
        self._pipeline = Pipeline(
            base_url=config.base_url,
            api_version=config.api_version,
            credentials=Credentials(
                config.api_key,
                config.auth_token,
                suppress=frozenset(k.lower() for k, v in config.default_headers.items() if v == ""),
            ),
            session=shared.session,
            shared=shared.state,
            retry_policy=RetryPolicy(
                max_retries=config.max_retries, max_retry_wait=config.max_retry_wait
            ),
            admission=admission,
            middleware=config.middleware,
            max_response_size=config.max_response_size,
            max_error_body_size=config.max_error_body_size,
            max_event_size=config.max_event_size,
            proxy=config.proxy,
            trust_env=shared.trust_env,
            headers=build_headers(
                api_key=None,
                auth_token=None,
                api_version=config.api_version,
                default_headers=config.default_headers,
            ),
            timeout=config.timeout,
            hooks=_with_env_logging(config.hooks),
            request_stages=config.request_stages,
            fallback_models=config.fallback_models,
        )
        self.messages = Messages(self._pipeline, self)
        self.messages.batches = Batches(self)
        self.models = Models(self._pipeline)
        self.files = Files(self)

    def with_options(self, **changes: Any) -> Client:
        """A cheap copy with some options changed (``timeout=``, ``max_retries=``,
        ``hooks=``, ``default_headers=``, ``api_key=``, ...), sharing this client's
        session, connection pool, limiter and rate-limit state. Closing any of
        them closes the shared session."""
        unknown = sorted(set(changes) - _COPYABLE)
        if unknown:
            raise ConfigurationError(
                f"with_options() cannot change {', '.join(unknown)} (they are shared with "
                f"the parent client); it can change: {', '.join(sorted(_COPYABLE))}"
            )
        copy = object.__new__(Client)
        copy._configure(_checked(self._config.copy(), changes, self._shared), self._shared)
        return copy

    def copy(self, **changes: Any) -> Client:
        """The official SDK's other name for :meth:`with_options`."""
        return self.with_options(**changes)

    # -- what users read -------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def api_version(self) -> str:
        return self._config.api_version

    @property
    def timeout(self) -> Timeout:
        return self._config.timeout

    @property
    def max_event_size(self) -> int:
        """The largest one server-sent event may be before ``SSEError``."""
        return self._config.max_event_size

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._pipeline.retry_policy

    @retry_policy.setter
    def retry_policy(self, policy: RetryPolicy) -> None:
        if not isinstance(policy, RetryPolicy):
            raise ConfigurationError(f"retry_policy must be a RetryPolicy, got {policy!r:.80}")
        self._pipeline.retry_policy = policy

    @property
    def limiter(self) -> RateLimiter | None:
        return self._shared.state.limiter

    @property
    def rate_limit_state(self) -> RateLimitState | None:
        """The ``anthropic-ratelimit-*`` state of the latest response that carried any."""
        return self._shared.state.rate_limit

    @property
    def pipeline(self) -> Pipeline:
        """The send path (for helpers built on the client: resources, stages)."""
        return self._pipeline

    def __repr__(self) -> str:
        # Never the credential itself: only which kind is configured.
        return (
            f"Client(base_url={without_userinfo(self.base_url)!r}, "
            f"api_version={self.api_version!r}, "
            f"credentials={self._pipeline.credentials.describe()}, "
            f"max_retries={self._config.max_retries})"
        )

    __str__ = __repr__

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session this client created (idempotent; a user's session is left open)."""
        await self._shared.session.close()

    # -- the raw escape hatch -----------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = _UNSET,
        params: Mapping[str, str | int | float | bool | None] | None = None,
        data: bytes | BodySource | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        betas: Iterable[str] | None = None,
        stream: bool = False,
        timeout: Timeout | float | None = None,
        hooks: Sequence[Any] | None = None,
        tags: Mapping[str, str] | None = None,
        limited: bool = True,
    ) -> RawResponse:
        """Any endpoint through the same pipeline (retries, admission, hooks).

        ``path`` is relative to the base URL (``"/v1/..."``) or absolute (a
        batch's ``results_url``). The body is ``json=`` (encoded for you) or
        ``data=``: bytes, or a zero-argument callable returning an async
        iterable of bytes, called again for every attempt (so a multipart
        upload from disk can be retried). An error status raises its typed
        error. ``stream=True`` returns before the body is read: iterate
        ``resp.iter_bytes()`` and close it (``async with``) if you stop early.
        """
        call_headers, body = _raw_body(json, data, content_type, headers)
        url = _with_query(_check_path(method, path), params)
        call = build_call(
            self._pipeline,
            "request",
            method.upper(),
            url,
            None,
            betas=betas,
            extra_headers=call_headers,
            timeout=timeout,
            hooks=hooks,
            tags=tags,
            params=json if isinstance(json, dict) else None,
            limited=limited,
            stream=stream,
        )
        call.body = body
        if not stream:
            return await self._pipeline.call_json(
                call, lambda content, _rid, resp: RawResponse(resp, content=content)
            )

        async def start(lease: StreamLease) -> RawResponse:
            assert lease.response is not None
            return RawResponse(lease.response, lease=lease, timeout=call.timeout)

        return await self._pipeline.open_stream(call, start)


def _checked(config: _Config, changes: Mapping[str, Any], shared: _Shared) -> _Config:
    """``config`` with ``changes`` applied, each checked (ConfigurationError names it)."""
    for name, value in changes.items():
        setattr(config, name, _check_option(name, value))
    config.proxy = check_proxy(config.proxy, config.base_url, trust_env=shared.trust_env)
    return config


def _check_option(name: str, value: Any) -> Any:
    if name == "base_url":
        return check_base_url(value)
    if name == "api_version":
        return check_api_version(value)
    if name == "max_retries":
        return check_positive_int("max_retries", value, minimum=0)
    if name == "max_retry_wait":
        return check_non_negative("max_retry_wait", value)
    if name in ("max_event_size", "max_response_size", "max_error_body_size"):
        return check_positive_int(name, value)
    if name == "timeout":
        return coerce_timeout(value)
    if name == "default_headers":
        return dict(check_header_map("default_headers", value or {}))
    if name == "hooks":
        return value if isinstance(value, HookSet) else HookSet(_list("hooks", value))
    if name == "admission":
        return check_stages("admission", value, "admit")
    if name in ("middleware", "request_stages"):
        return check_callables(name, value)
    if name == "fallback_models":
        return check_fallback_models(name, value)
    return value  # api_key, auth_token (checked by Credentials), proxy (checked after)


def _list(name: str, value: Any) -> Sequence[Any]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigurationError(f"{name} must be a list, got {type(value).__name__}")
    return value


def _check_path(method: object, path: object) -> str:
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise ConfigurationError(f"method must be one of {sorted(_METHODS)}, got {method!r:.40}")
    if not isinstance(path, str) or not path.startswith(("/", "https://", "http://")):
        raise ConfigurationError(
            f"path must start with '/' (relative to base_url) or be an http(s) URL, got "
            f"{path!r:.80}"
        )
    return path


def _with_query(path: str, params: Mapping[str, Any] | None) -> str:
    if not params:
        return path
    if not isinstance(params, Mapping):
        raise ConfigurationError(f"params must be a mapping, got {type(params).__name__}")
    query = {}
    for key, value in params.items():
        if value is None:
            continue
        if not isinstance(key, str) or not isinstance(value, (str, int, float, bool)):
            raise ConfigurationError(f"params[{key!r}] must be a str, int, float or bool")
        query[key] = str(value).lower() if isinstance(value, bool) else value
    return path + ("&" if "?" in path else "?") + urlencode(query) if query else path


def _raw_body(
    json: Any, data: Any, content_type: str | None, headers: Mapping[str, str] | None
) -> tuple[dict[str, str], bytes | BodySource | None]:
    call_headers = dict(check_header_map("headers", headers)) if headers is not None else {}
    if json is not _UNSET and data is not None:
        raise ConfigurationError("request(): pass json= or data=, not both")
    body: bytes | BodySource | None = None
    if json is not _UNSET:
        body = encode_json(json, "json=")
    elif data is not None:
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, bytes) and not callable(data):
            raise ConfigurationError(
                "data must be bytes or a zero-argument callable returning an async iterable "
                f"of bytes (called once per attempt), got {type(data).__name__}"
            )
        body = data
    if content_type is not None:
        check_header_map("content_type", {"content-type": content_type})
        call_headers["content-type"] = content_type
    return call_headers, body


def _with_env_logging(hooks: HookSet) -> HookSet:
    """``ANTHROPIC_LOG=info|debug`` adds the logging hook, as the SDK's variable does."""
    if not os.environ.get("ANTHROPIC_LOG"):
        return hooks
    from .logging_hook import logging_hook_from_env

    hook = logging_hook_from_env()
    return hooks if hook is None else hooks.plus([hook])
