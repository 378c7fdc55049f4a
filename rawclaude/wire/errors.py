"""The rawclaude error tree, split by whose fault an error is.

::

    RawClaudeError                      every error raised by rawclaude
    ├── ConfigurationError (ValueError) the caller's setup or arguments are wrong;
    │   │                               raised before anything is sent
    │   └── UnsupportedParameterError   a parameter the chosen API version refuses
    ├── ToolError                       raised by a tool to return an error result
    ├── ToolRunnerError                 the tool loop stopped before a final answer
    │   └── MaxIterationsError          ... because it used up max_iterations
    ├── StructuredOutputError           ``messages.parse`` got no usable output
    │   ├── OutputRefusedError          stop_reason "refusal"
    │   ├── OutputTruncatedError        stop_reason "max_tokens"
    │   └── OutputValidationError       text that does not decode to the schema
    ├── ContextBudgetError              a conversation's latest turn alone is over
    │                                   its ``max_input_tokens``
    ├── ConversationConflictError       a stored conversation changed under us
    ├── ConversationStoreError          the conversation store (Redis) failed
    ├── BatchWaitTimeoutError           (also a TimeoutError) a batch did not end
    │                                   within ``batches.wait(timeout=...)``
    ├── UnknownModelPriceError (LookupError) no price for a model (cost, budget)
    ├── BudgetExceededError             a call would exceed a spend limit; nothing was sent
    ├── CircuitOpenError                the circuit for (base URL, model) is open; not sent
    ├── SharedStateUnavailableError     a shared (Redis) backend could not be reached
    │   ├── RateLimiterUnavailableError     ... the rate limiter's
    │   ├── BudgetUnavailableError          ... the budget's
    │   └── CircuitBreakerUnavailableError  ... the circuit breaker's
    └── APIError                        something went wrong talking to the API
        ├── APIConnectionError          no (complete) answer: refused, reset, EOF
        │   │                           mid-stream
        │   └── APITimeoutError         (also a TimeoutError) connect, total or
        │                               stream-idle timeout
        ├── APIResponseValidationError  the server answered with bytes we cannot
        │   │                           decode (bad JSON in a response or an event)
        │   ├── SSEError                the event stream itself is malformed
        │   ├── JSONLError              a JSON Lines body (batch results) is malformed:
        │   │                           a line over the size cap, or one that does not
        │   │                           decode (``.line_number`` says which)
        │   └── ResponseTooLargeError   a body over the client's size cap
        └── APIStatusError              the API answered with an error (HTTP status,
            │                           or an ``error`` event inside a 200 stream)
            ├── BadRequestError             400 invalid_request_error
            │   ├── FileNotDownloadableError    error_code file_not_downloadable
            │   └── StorageQuotaExceededError   error_code storage_quota_exceeded
            ├── AuthenticationError         401 authentication_error
            ├── PaymentRequiredError        402 billing_error
            ├── PermissionDeniedError       403 permission_error
            ├── NotFoundError               404 not_found_error
            │   └── FileExpiredError            error_code file_expired
            ├── ConflictError               409
            ├── RequestTooLargeError        413 request_too_large
            ├── UnprocessableEntityError    422
            ├── RateLimitError              429 rate_limit_error
            │   ├── SpendLimitError         429 with a spend-limit error_code: final
            │   └── RateLimitPausedError    local: the limiter is paused; nothing sent
            └── InternalServerError         other 5xx, api_error
                ├── ServiceUnavailableError 503
                ├── GatewayTimeoutError     504 timeout_error
                └── OverloadedError         529 overloaded_error

``AnthropicError`` is an alias of ``RawClaudeError`` (the SDK's root name).

The class names below ``APIError`` are those of the official SDK, so that moving
over is an import change. Messages never contain credentials: the client never
puts a header value into an error, and ``repr`` of an error shows only its
message, status and request id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when used: ``import rawclaude`` loads only this module
    import datetime as _dt
    from decimal import Decimal

__all__ = [
    "RawClaudeError",
    "ConfigurationError",
    "UnsupportedParameterError",
    "RateLimiterUnavailableError",
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
    "BatchWaitTimeoutError",
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
    "JSONLError",
    "ResponseTooLargeError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "RequestTooLargeError",
    "RateLimitError",
    "SpendLimitError",
    "FileExpiredError",
    "FileNotDownloadableError",
    "StorageQuotaExceededError",
    "error_code_class",
    "RateLimitPausedError",
    "InternalServerError",
    "OverloadedError",
    "PaymentRequiredError",
    "ConflictError",
    "UnprocessableEntityError",
    "ServiceUnavailableError",
    "GatewayTimeoutError",
    "AnthropicError",
    "status_error_class",
    "error_class_for_type",
    "printable",
    "SPEND_LIMIT_ERROR_CODES",
]


class RawClaudeError(Exception):
    """Root of every exception rawclaude raises on purpose."""


def printable(text: str) -> str:
    """``text`` safe to print and log: a response header with non-UTF-8 bytes
    (aiohttp decodes those to lone surrogates) must not make ``print(err)``
    raise ``UnicodeEncodeError``."""
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


class ConfigurationError(RawClaudeError, ValueError):
    """The client or a call was configured wrongly; nothing was sent."""


class UnsupportedParameterError(ConfigurationError):
    """A request parameter that the chosen API version rejects.

    Raised locally, before any request is sent, so the caller does not pay a
    round trip (and a rate-limit slot) for a certain 400.
    """

    def __init__(self, message: str, *, param: str, api_version: str) -> None:
        super().__init__(message)
        self.param = param
        self.api_version = api_version


class SharedStateUnavailableError(RawClaudeError):
    """A shared backend (Redis) could not be reached and its mode is fail-closed.

    Nothing was sent. The backend's own error is chained as ``__cause__``; the
    message names host, port and db only, never a URL that may hold a password.
    """


class RateLimiterUnavailableError(SharedStateUnavailableError):
    """A shared limiter backend (Redis) could not be reached (fail-closed mode)."""


class ToolError(RawClaudeError):
    """Raise it inside a tool to hand the model an error result of your choosing.

    ``content`` (a string, or text/image content blocks) becomes the
    ``tool_result`` content with ``is_error: true``; the caller sees no exception.
    """

    def __init__(self, content: str | list[dict[str, Any]]) -> None:
        super().__init__(content if isinstance(content, str) else "tool error (content blocks)")
        self.content = content


class ToolRunnerError(RawClaudeError):
    """The tool loop stopped without a final answer. ``.message`` is the last reply."""

    def __init__(self, text: str, *, message: Any = None) -> None:
        super().__init__(text)
        self.message = message


class MaxIterationsError(ToolRunnerError):
    """The tool loop made ``max_iterations`` requests and the model still wanted tools."""


class StructuredOutputError(RawClaudeError):
    """``messages.parse`` got no value of the requested shape.

    ``.message`` is the whole Message, ``.stop_reason`` its stop reason and
    ``.text`` the text the model produced (possibly empty or partial).
    """

    def __init__(self, text: str, *, message: Any, stop_reason: str | None, output: str) -> None:
        super().__init__(text)
        self.message = message
        self.stop_reason = stop_reason
        self.text = output


class OutputRefusedError(StructuredOutputError):
    """The model refused (``stop_reason: "refusal"``); the output may not match the schema."""


class OutputTruncatedError(StructuredOutputError):
    """The output hit ``max_tokens`` before the JSON was complete; raise ``max_tokens``."""


class OutputValidationError(StructuredOutputError):
    """The text is not JSON of the requested shape; ``.text`` has it, ``str()`` says why."""


class ContextBudgetError(RawClaudeError):
    """The newest turn of a conversation alone needs more than ``max_input_tokens``.

    Older turns were already dropped; nothing was sent.
    """

    def __init__(self, text: str, *, needed: int, budget: int) -> None:
        super().__init__(text)
        self.needed = needed
        self.budget = budget


class ConversationConflictError(RawClaudeError):
    """Another writer saved the conversation since it was loaded (optimistic concurrency).

    ``.conversation_id``, ``.expected_version`` (what this writer loaded) and
    ``.actual_version`` (what the store holds now; None if it is gone).
    """

    def __init__(
        self, conversation_id: str, *, expected_version: int, actual_version: int | None
    ) -> None:
        super().__init__(
            f"conversation {conversation_id!r} was changed by another writer "
            f"(expected version {expected_version}, store has {actual_version})"
        )
        self.conversation_id = conversation_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class ConversationStoreError(RawClaudeError):
    """A conversation store could not be read or written (e.g. Redis unreachable)."""


class BatchWaitTimeoutError(RawClaudeError, TimeoutError):
    """``client.messages.batches.wait()`` gave up: the batch had not ended in time.

    ``batch`` is the last state seen (a ``MessageBatch``); the batch itself goes
    on processing on the API's side -- wait again, or cancel it.
    """

    def __init__(self, message: str, *, batch: Any) -> None:
        super().__init__(message)
        self.batch = batch


class BudgetUnavailableError(SharedStateUnavailableError):
    """A shared budget (Redis) could not be reached (fail-closed mode, the budget's default)."""


class CircuitBreakerUnavailableError(SharedStateUnavailableError):
    """A shared circuit breaker (Redis) could not be reached (fail-closed mode)."""


class UnknownModelPriceError(RawClaudeError, LookupError):
    """No price is known for a model: it is never priced as zero silently.

    Add it with ``PriceTable.merge({...})`` (see ``rawclaude.PriceTable``).
    """

    def __init__(self, model: str, reason: str | None = None) -> None:
        self.model = model
        self.reason = reason or "not in the price table"
        super().__init__(
            f"no price for model {model!r}: {self.reason}; "
            "add one with PriceTable.merge({model: {...}}) and pass prices=..."
        )


def _usd(amount: Decimal) -> str:
    from decimal import Decimal

    return f"${amount.quantize(Decimal('0.000001')).normalize():f}"


class BudgetExceededError(RawClaudeError):
    """A call would take the spend of a period over its limit. Nothing was sent; not retried.

    ``limit``, ``spent`` (settled), ``reserved`` (calls in flight) and
    ``requested`` (this call's worst case) are USD amounts; ``reset_at`` is when
    the period ends (an aware UTC datetime); ``period`` the period's key (for
    example ``"2026-12-01"``); ``tag`` the budget's tag, if it is a per-tag one.
    """

    def __init__(
        self,
        *,
        limit: Decimal,
        spent: Decimal,
        reserved: Decimal,
        requested: Decimal,
        reset_at: _dt.datetime,
        period: str,
        tag: str | None = None,
        name: str = "budget",
    ) -> None:
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.requested = requested
        self.reset_at = reset_at
        self.period = period
        self.tag = tag
        self.name = name
        scope = f" for tag {tag!r}" if tag is not None else ""
        super().__init__(
            f"{name}{scope} of {_usd(limit)} for {period} would be exceeded: spent "
            f"{_usd(spent)}, in flight {_usd(reserved)}, this call up to {_usd(requested)}; "
            f"resets at {reset_at.isoformat()}"
        )


class CircuitOpenError(RawClaudeError):
    """The circuit for ``key`` (base URL and model) is open: the call failed fast, unsent.

    ``probe_at`` is when (epoch seconds) a probe will be let through; ``retry_in``
    the seconds from the moment of raising. Fallback models treat it like an
    overload and move on.
    """

    def __init__(self, key: str, *, probe_at: float, retry_in: float, state: str) -> None:
        self.key = key
        self.probe_at = probe_at
        self.retry_in = max(0.0, retry_in)
        self.state = state
        import datetime

        when = datetime.datetime.fromtimestamp(probe_at, datetime.timezone.utc).isoformat()
        super().__init__(
            f"circuit {key!r} is {state}: failing fast; next probe in "
            f"{self.retry_in:.1f} s (at {when})"
        )


class APIError(RawClaudeError):
    """Base of every error that comes from talking to the API."""

    message: str
    request_id: str | None

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        message = printable(message)
        super().__init__(message)
        self.message = message
        self.request_id = None if request_id is None else printable(request_id)

    def __str__(self) -> str:
        if self.request_id:
            return f"{self.message} (request_id={self.request_id})"
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, request_id={self.request_id!r})"


class APIConnectionError(APIError):
    """The API could not be reached, or the connection broke before a complete answer."""

    def __init__(
        self, message: str = "Connection error.", *, request_id: str | None = None
    ) -> None:
        super().__init__(message, request_id=request_id)


class APITimeoutError(APIConnectionError, TimeoutError):
    """A connect, total or stream-idle timeout expired."""

    def __init__(
        self, message: str = "Request timed out.", *, request_id: str | None = None
    ) -> None:
        super().__init__(message, request_id=request_id)


_MAX_SNIPPET = 200


def _snippet(data: bytes | str) -> str:
    if isinstance(data, bytes):
        text = data[:_MAX_SNIPPET].decode("utf-8", "replace")
    else:
        text = data[:_MAX_SNIPPET]
    more = "..." if len(data) > _MAX_SNIPPET else ""
    return f"{text!r}{more}"


class APIResponseValidationError(APIError):
    """The server sent bytes that do not decode to what the API promises.

    ``.data`` holds the offending bytes, cut to a few hundred so a huge bad
    payload does not travel inside an exception.
    """

    def __init__(
        self, message: str, *, data: bytes | str = b"", request_id: str | None = None
    ) -> None:
        if data:
            message = f"{message}; data={_snippet(data)}"
        super().__init__(message, request_id=request_id)
        raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
        self.data = raw[: _MAX_SNIPPET * 4]


class SSEError(APIResponseValidationError):
    """The server-sent event stream is malformed (for example an event over the size cap)."""


class JSONLError(APIResponseValidationError):
    """A JSON Lines body is malformed: a line over the size cap, or a bad line.

    ``line_number`` is the 1-based physical line of the body (blank lines and
    every CR, LF or CRLF line end counted), so the line can be found in the
    file; None when the error is not about one line.
    """

    def __init__(
        self,
        message: str,
        *,
        line_number: int | None = None,
        data: bytes | str = b"",
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, data=data, request_id=request_id)
        self.line_number = line_number


class ResponseTooLargeError(APIResponseValidationError):
    """A response body is larger than the client accepts (``Client(max_response_size=...)``)."""


class APIStatusError(APIError):
    """The API answered with an error.

    Either an HTTP error status, or an ``error`` event inside a 200 stream (then
    ``status_code`` is the status the error type maps to, e.g. 529 for
    ``overloaded_error``, and ``in_stream`` is True).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        error_type: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        retry_after: float | None = None,
        in_stream: bool = False,
        error_code: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code
        self.error_type = error_type
        #: The API's fine-grained ``error.details.error_code``, when it sent one.
        self.error_code = error_code
        self.body = body
        self.headers: dict[str, str] = headers or {}
        #: The wait the server asked for (seconds), if it asked for one.
        self.retry_after = retry_after
        self.in_stream = in_stream

    def __str__(self) -> str:
        kind = f" {self.error_type}" if self.error_type else ""
        if self.error_code:
            kind += f" ({self.error_code})"
        rid = f" (request_id={self.request_id})" if self.request_id else ""
        return f"Error code: {self.status_code}{kind} - {self.message}{rid}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, "
            f"error_type={self.error_type!r}, message={self.message!r}, "
            f"request_id={self.request_id!r})"
        )


class BadRequestError(APIStatusError):
    """400: the request was malformed or invalid."""


class AuthenticationError(APIStatusError):
    """401: the API key or token is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the credential may not use this resource."""


class NotFoundError(APIStatusError):
    """404: no such resource (or model)."""


class RequestTooLargeError(APIStatusError):
    """413: the request body is over the API's size limit."""


class PaymentRequiredError(APIStatusError):
    """402: a billing problem (billing_error)."""


class ConflictError(APIStatusError):
    """409: a conflict (retried by default, as the API docs advise)."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but could not be processed."""


class RateLimitError(APIStatusError):
    """429: a rate limit was hit."""


#: ``error.details.error_code`` values of 429s that waiting does not cure: the
#: organisation's spend limit is reached (docs: "Errors"). Never retried.
SPEND_LIMIT_ERROR_CODES = frozenset(
    {"contract_spend_limit_reached", "enforced_spend_limit_reached"}
)


class SpendLimitError(RateLimitError):
    """429 whose ``error_code`` says a spend limit is reached: final, not retried.

    Raise the limit in the Console (or wait for the period to reset); retrying
    only adds requests that will be refused the same way.
    """


class _Advised(APIStatusError):
    """An error the API gives a fine-grained ``error_code`` for, with what to do."""

    #: One sentence of advice, appended to the API's message.
    advice = ""

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(f"{message} ({self.advice})" if message else self.advice, **kwargs)


class FileExpiredError(_Advised, NotFoundError):
    """404 ``file_expired``: the file's ``expires_at`` has passed; its content is gone."""

    advice = "the file has expired and its content is no longer available: upload it again"


class FileNotDownloadableError(_Advised, BadRequestError):
    """400 ``file_not_downloadable``: only files a tool created can be downloaded.

    A file you uploaded has ``downloadable: false``: its bytes are the ones you sent.
    """

    advice = (
        "only files created by a tool (such as code execution) can be downloaded; check "
        "FileMetadata.downloadable first"
    )


class StorageQuotaExceededError(_Advised, BadRequestError):
    """400 ``storage_quota_exceeded``: the organization's file storage is full."""

    advice = (
        "the organization's file storage quota is exhausted: delete files you no longer "
        "need (client.files.delete) and retry the upload"
    )


#: ``error.details.error_code`` -> its class, used when that class is one of
#: the status's own (a file error code on an unexpected status keeps the
#: status's class). Spend limits are mapped on any status (see error_body).
_BY_ERROR_CODE: dict[str, type[APIStatusError]] = {
    "file_expired": FileExpiredError,
    "file_not_downloadable": FileNotDownloadableError,
    "storage_quota_exceeded": StorageQuotaExceededError,
}


def error_code_class(cls: type[APIStatusError], code: str | None) -> type[APIStatusError]:
    """The class for an error of class ``cls`` (from its status) with ``error_code``."""
    if code in SPEND_LIMIT_ERROR_CODES:
        return SpendLimitError
    sub = _BY_ERROR_CODE.get(code or "")
    return sub if sub is not None and issubclass(sub, cls) else cls


class RateLimitPausedError(RateLimitError):
    """Raised locally, before anything was sent: a 429 paused the client's rate
    limiter for longer than ``max_retry_wait``. ``retry_after`` is the pause left."""

    def __init__(self, paused_for: float, max_retry_wait: float) -> None:
        super().__init__(
            f"nothing was sent: the rate limiter is paused by a 429 for {paused_for:.3g}s "
            f"more, longer than max_retry_wait={max_retry_wait:g}s",
            status_code=429,
            error_type="rate_limit_error",
            retry_after=paused_for,
        )


class InternalServerError(APIStatusError):
    """5xx (other than those below): an error on the API's side."""


class ServiceUnavailableError(InternalServerError):
    """503: the service is unavailable."""


class GatewayTimeoutError(InternalServerError):
    """504: the request timed out on the API's side (timeout_error)."""


class OverloadedError(InternalServerError):
    """529: the API is temporarily overloaded."""


#: The official SDK's name for the root of its error tree.
AnthropicError = RawClaudeError

_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    503: ServiceUnavailableError,
    504: GatewayTimeoutError,
    529: OverloadedError,
}

# The error ``type`` strings of the API's error bodies and the status each
# belongs to (docs: "HTTP errors"). Used for ``error`` events inside a 200
# stream, which carry a type but no status.
_STATUS_BY_TYPE: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The exception class for an HTTP error status."""
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls
    if status >= 500:
        return InternalServerError
    return APIStatusError


def error_class_for_type(error_type: str | None) -> tuple[type[APIStatusError], int]:
    """The exception class and nominal status for an error ``type`` string.

    Unknown types map to ``InternalServerError`` / 500: an error event we do not
    know is still an error on the server's side, never silently ignored.
    """
    status = _STATUS_BY_TYPE.get(error_type or "", 500)
    return status_error_class(status), status
