"""rawclaude: a small, fast async client for the Claude Messages API.

Re-exports only. Optional parts (the Redis limiter, ``rawclaude.testing``) are
imported on first use, so ``import rawclaude`` pulls in aiohttp, msgspec and
orjson and nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._client import Client
from ._exceptions import (
    AnthropicError,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    GatewayTimeoutError,
    InternalServerError,
    NotFoundError,
    OverloadedError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RateLimiterUnavailableError,
    RawClaudeError,
    RequestTooLargeError,
    ServiceUnavailableError,
    SSEError,
    UnprocessableEntityError,
    UnsupportedParameterError,
)
from ._headers import API_VERSIONS, DEFAULT_API_VERSION, LEGACY_API_VERSION
from ._limiter import RateLimiter, TokenBucket
from ._models import Message, Usage
from ._ratelimit import RateLimitState, RateLimitWindow
from ._stream import MessageStream
from ._transport import Timeout
from ._version import __version__

if TYPE_CHECKING:
    from ._limiter_redis import RedisTokenBucket, redis_rate_limiter

__all__ = [
    "__version__",
    "Client",
    "Message",
    "MessageStream",
    "Usage",
    "Timeout",
    "TokenBucket",
    "RateLimiter",
    "RateLimitState",
    "RateLimitWindow",
    "RedisTokenBucket",
    "redis_rate_limiter",
    "API_VERSIONS",
    "DEFAULT_API_VERSION",
    "LEGACY_API_VERSION",
    "RawClaudeError",
    "ConfigurationError",
    "UnsupportedParameterError",
    "RateLimiterUnavailableError",
    "APIError",
    "APIConnectionError",
    "APITimeoutError",
    "APIResponseValidationError",
    "SSEError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "RequestTooLargeError",
    "RateLimitError",
    "InternalServerError",
    "OverloadedError",
    "AnthropicError",
    "PaymentRequiredError",
    "ConflictError",
    "UnprocessableEntityError",
    "ServiceUnavailableError",
    "GatewayTimeoutError",
]


def __getattr__(name: str) -> Any:
    # The Redis limiter needs the optional ``redis`` package: import it only
    # when asked for (PEP 562).
    if name in ("RedisTokenBucket", "redis_rate_limiter"):
        from . import _limiter_redis

        return getattr(_limiter_redis, name)
    raise AttributeError(f"module 'rawclaude' has no attribute {name!r}")
