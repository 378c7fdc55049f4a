"""rawclaude: a small, fast async client for the Claude Messages API.

Re-exports only, resolved on first use (PEP 562): ``import rawclaude`` loads the
error tree and nothing else, so ``import rawclaude.sse`` (the sans-IO parser)
never pulls in aiohttp. ``rawclaude.Client`` loads the client (aiohttp); the
Redis limiter, ``rawclaude.testing`` and the CLI load only when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .wire.errors import (
    AnthropicError,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchWaitTimeoutError,
    BudgetExceededError,
    BudgetUnavailableError,
    CircuitBreakerUnavailableError,
    CircuitOpenError,
    ConfigurationError,
    ConflictError,
    ContextBudgetError,
    ConversationConflictError,
    ConversationStoreError,
    FileExpiredError,
    FileNotDownloadableError,
    GatewayTimeoutError,
    InternalServerError,
    JSONLError,
    MaxIterationsError,
    NotFoundError,
    OutputRefusedError,
    OutputTruncatedError,
    OutputValidationError,
    OverloadedError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RateLimiterUnavailableError,
    RateLimitPausedError,
    RawClaudeError,
    RequestTooLargeError,
    ResponseTooLargeError,
    ServiceUnavailableError,
    SharedStateUnavailableError,
    SpendLimitError,
    SSEError,
    StorageQuotaExceededError,
    StructuredOutputError,
    ToolError,
    ToolRunnerError,
    UnknownModelPriceError,
    UnprocessableEntityError,
    UnsupportedParameterError,
)

if TYPE_CHECKING:
    from .agents.conversation import Conversation
    from .agents.runner import ToolRunner, tool_runner
    from .agents.store import MemoryConversationStore, RedisConversationStore
    from .agents.structured import ParsedMessage, parse, parse_stream
    from .agents.tools import Tool, tool
    from .client.client import Client
    from .client.fallback import FallbackEvent, Fallbacks
    from .client.hooks import CallRecord, Hook, RequestRecord
    from .client.logging_hook import LoggingHook
    from .client.raw import RawResponse
    from .client.relay import relay
    from .client.stream import MessageStream
    from .io.limiter import RateLimiter, TokenBucket
    from .io.redis_breaker import RedisCircuitBreaker
    from .io.redis_budget import RedisBudgetStore
    from .io.redis_cache import RedisCacheBackend
    from .io.redis_limiter import RedisTokenBucket, redis_rate_limiter
    from .io.transport import TransportFailure
    from .policy.breaker import BreakerConfig
    from .policy.budget import Budget
    from .policy.cost import Cost, Unpriced, cost, try_cost
    from .policy.prices import PriceTable
    from .policy.ratelimit import RateLimitState, RateLimitWindow
    from .policy.redact import Redactor
    from .policy.timeouts import Timeout
    from .production.cache import MemoryCache, ResponseCache, cache_hit
    from .production.credentials import EnvCredential, FileCredential
    from .production.fallback import Router
    from .production.meter import UsageMeter
    from .production.otel import OpenTelemetryHook
    from .production.redaction import RedactionStage
    from .production.stages import BudgetGuard, CircuitBreakerStage
    from .wire.batch_requests import BatchRequest
    from .wire.batches import MessageBatch, MessageBatchIndividualResponse
    from .wire.files import FileMetadata
    from .wire.headers import API_VERSIONS, DEFAULT_API_VERSION, LEGACY_API_VERSION
    from .wire.models import Message, Usage

#: Where each lazily exported name lives.
_LAZY: dict[str, str] = {
    "tool": ".agents.tools",
    "Tool": ".agents.tools",
    "ToolRunner": ".agents.runner",
    "tool_runner": ".agents.runner",
    "ParsedMessage": ".agents.structured",
    "parse": ".agents.structured",
    "parse_stream": ".agents.structured",
    "Conversation": ".agents.conversation",
    "MemoryConversationStore": ".agents.store",
    "RedisConversationStore": ".agents.store",
    "Client": ".client.client",
    "MessageStream": ".client.stream",
    "Hook": ".client.hooks",
    "RequestRecord": ".client.hooks",
    "CallRecord": ".client.hooks",
    "RawResponse": ".client.raw",
    "TransportFailure": ".io.transport",
    "relay": ".client.relay",
    "RateLimiter": ".io.limiter",
    "TokenBucket": ".io.limiter",
    "RedisTokenBucket": ".io.redis_limiter",
    "redis_rate_limiter": ".io.redis_limiter",
    "RateLimitState": ".policy.ratelimit",
    "RateLimitWindow": ".policy.ratelimit",
    "Timeout": ".policy.timeouts",
    "API_VERSIONS": ".wire.headers",
    "DEFAULT_API_VERSION": ".wire.headers",
    "LEGACY_API_VERSION": ".wire.headers",
    "Message": ".wire.models",
    "Usage": ".wire.models",
    "BatchRequest": ".wire.batch_requests",
    "MessageBatch": ".wire.batches",
    "MessageBatchIndividualResponse": ".wire.batches",
    "FileMetadata": ".wire.files",
    "cost": ".policy.cost",
    "try_cost": ".policy.cost",
    "Cost": ".policy.cost",
    "Unpriced": ".policy.cost",
    "PriceTable": ".policy.prices",
    "Budget": ".policy.budget",
    "BreakerConfig": ".policy.breaker",
    "Redactor": ".policy.redact",
    "LoggingHook": ".client.logging_hook",
    "UsageMeter": ".production.meter",
    "BudgetGuard": ".production.stages",
    "CircuitBreakerStage": ".production.stages",
    "Fallbacks": ".client.fallback",
    "FallbackEvent": ".client.fallback",
    "Router": ".production.fallback",
    "RedactionStage": ".production.redaction",
    "ResponseCache": ".production.cache",
    "MemoryCache": ".production.cache",
    "cache_hit": ".production.cache",
    "EnvCredential": ".production.credentials",
    "FileCredential": ".production.credentials",
    "RedisBudgetStore": ".io.redis_budget",
    "RedisCircuitBreaker": ".io.redis_breaker",
    "RedisCacheBackend": ".io.redis_cache",
    "OpenTelemetryHook": ".production.otel",
}

__all__ = [
    "__version__",
    "Hook",
    "RequestRecord",
    "CallRecord",
    "RawResponse",
    "TransportFailure",
    "SpendLimitError",
    "RateLimitPausedError",
    "ResponseTooLargeError",
    "cost",
    "try_cost",
    "Cost",
    "Unpriced",
    "PriceTable",
    "Budget",
    "BreakerConfig",
    "Redactor",
    "LoggingHook",
    "UsageMeter",
    "BudgetGuard",
    "CircuitBreakerStage",
    "FallbackEvent",
    "Fallbacks",
    "Router",
    "RedactionStage",
    "ResponseCache",
    "MemoryCache",
    "cache_hit",
    "EnvCredential",
    "FileCredential",
    "RedisBudgetStore",
    "RedisCircuitBreaker",
    "RedisCacheBackend",
    "OpenTelemetryHook",
    "Client",
    "Message",
    "MessageStream",
    "relay",
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
    "tool",
    "Tool",
    "ToolRunner",
    "tool_runner",
    "ParsedMessage",
    "parse",
    "parse_stream",
    "Conversation",
    "MemoryConversationStore",
    "RedisConversationStore",
    "RawClaudeError",
    "ConfigurationError",
    "UnsupportedParameterError",
    "RateLimiterUnavailableError",
    "SharedStateUnavailableError",
    "BudgetUnavailableError",
    "CircuitBreakerUnavailableError",
    "UnknownModelPriceError",
    "BudgetExceededError",
    "CircuitOpenError",
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
    "ToolError",
    "ToolRunnerError",
    "MaxIterationsError",
    "StructuredOutputError",
    "OutputRefusedError",
    "OutputTruncatedError",
    "OutputValidationError",
    "ContextBudgetError",
    "ConversationConflictError",
    "ConversationStoreError",
    "BatchRequest",
    "MessageBatch",
    "MessageBatchIndividualResponse",
    "FileMetadata",
    "JSONLError",
    "BatchWaitTimeoutError",
    "FileExpiredError",
    "FileNotDownloadableError",
    "StorageQuotaExceededError",
]


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'rawclaude' has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value  # resolved once; later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
