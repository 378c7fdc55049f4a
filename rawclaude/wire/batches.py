"""Message Batches, response side: batches, their results, the results reader.

Shapes follow the API reference ("Create a Message Batch", "Retrieve Message
Batch results": https://platform.claude.com/docs/en/api/messages/batches).

* A :class:`MessageBatch` is the batch object every batch endpoint returns;
  datetimes stay RFC 3339 strings, as elsewhere in :mod:`rawclaude.wire.models`.
* Its results are JSON Lines at ``results_url``, one
  :class:`MessageBatchIndividualResponse` per request: ``{"custom_id",
  "result"}`` where ``result`` is a union tagged by ``type``: ``succeeded``
  (a full :class:`~rawclaude.wire.models.Message`), ``errored`` (the API's
  error body), ``canceled`` or ``expired``. A result ``type`` added later
  decodes to :class:`UnknownBatchResult` (the raw JSON, kept), and a block
  type added later inside a succeeded message to ``UnknownBlock``.
* Results come in no fixed order: match them to requests by ``custom_id``.

:class:`BatchResultsReader` is the sans-IO reader the client runs: bytes in
(any chunking), typed results out, a bad line raising
:class:`~rawclaude.wire.errors.JSONLError` that names its line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import msgspec

from .errors import APIResponseValidationError, JSONLError
from .jsonl import DEFAULT_MAX_LINE_SIZE, JSONLFramer
from .models import ErrorBody, Message, _Response, _Unknown, convert_message, tag_of, tags_of
from .pages import Page, page_decoder

if TYPE_CHECKING:
    from typing import TypeAlias

__all__ = [
    "MessageBatchRequestCounts",
    "MessageBatch",
    "DeletedMessageBatch",
    "MessageBatchSucceededResult",
    "MessageBatchErroredResult",
    "MessageBatchCanceledResult",
    "MessageBatchExpiredResult",
    "UnknownBatchResult",
    "MessageBatchResult",
    "MessageBatchIndividualResponse",
    "BatchResultsReader",
    "decode_batch",
    "decode_batch_page",
    "decode_deleted_batch",
    "decode_result_line",
]


# --------------------------------------------------------------------------
# The batch object
# --------------------------------------------------------------------------


class MessageBatchRequestCounts(msgspec.Struct, kw_only=True, gc=False):
    """Requests of a batch by status; they sum to the number of requests.

    Requests count as ``processing`` until the whole batch ends (API docs).
    """

    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0

    @property
    def total(self) -> int:
        """Every request of the batch."""
        return self.processing + self.succeeded + self.errored + self.canceled + self.expired


class MessageBatch(_Response, kw_only=True, dict=True):
    """A Message Batch (``"type": "message_batch"``).

    ``processing_status`` is ``in_progress``, ``canceling`` or ``ended`` (a
    plain ``str``: a new status must not fail decoding). ``results_url`` is
    set once the batch has ended; ``expires_at`` is 24 hours after creation.
    """

    id: str
    type: str = "message_batch"
    processing_status: str
    request_counts: MessageBatchRequestCounts
    created_at: str
    expires_at: str
    ended_at: str | None = None
    cancel_initiated_at: str | None = None
    archived_at: str | None = None
    results_url: str | None = None

    @property
    def ended(self) -> bool:
        """Processing is over: every request succeeded, errored, was canceled or expired."""
        return self.processing_status == "ended"


class DeletedMessageBatch(_Response, kw_only=True, dict=True):
    """What ``DELETE /v1/messages/batches/{id}`` returns."""

    id: str
    type: str = "message_batch_deleted"


# --------------------------------------------------------------------------
# Results (one per JSONL line)
# --------------------------------------------------------------------------


class _BatchResult(msgspec.Struct, tag_field="type", kw_only=True, gc=False):
    """Base of the result Structs."""


class MessageBatchSucceededResult(_BatchResult, tag="succeeded", kw_only=True):
    """The request succeeded; ``message`` is what ``messages.create`` would return."""

    type: ClassVar[Literal["succeeded"]] = "succeeded"
    message: Message


class MessageBatchErroredResult(_BatchResult, tag="errored", kw_only=True):
    """The request failed; ``error`` is the API's error body for it.

    ``error.error.type`` is the error type (e.g. ``invalid_request_error``);
    :attr:`error_type` and :attr:`error_message` are shortcuts. Errored
    requests are not billed; fix them and send them again.
    """

    type: ClassVar[Literal["errored"]] = "errored"
    error: ErrorBody

    @property
    def error_type(self) -> str:
        """The error type, e.g. ``invalid_request_error`` or ``api_error``."""
        return self.error.error.type

    @property
    def error_message(self) -> str:
        """The error's message."""
        return self.error.error.message


class MessageBatchCanceledResult(_BatchResult, tag="canceled", kw_only=True):
    """The batch was canceled before this request was processed (not billed)."""

    type: ClassVar[Literal["canceled"]] = "canceled"


class MessageBatchExpiredResult(_BatchResult, tag="expired", kw_only=True):
    """The batch reached its 24-hour expiry before this request was processed."""

    type: ClassVar[Literal["expired"]] = "expired"


class UnknownBatchResult(_Unknown):
    """A result whose ``type`` this version of rawclaude does not know (raw JSON)."""

    __slots__ = ()


_KnownResult = (
    MessageBatchSucceededResult
    | MessageBatchErroredResult
    | MessageBatchCanceledResult
    | MessageBatchExpiredResult
)

# As for ContentBlock in models: the static type includes the Unknown variant,
# the runtime annotation is the union msgspec decodes in one call.
if TYPE_CHECKING:
    MessageBatchResult: TypeAlias = _KnownResult | UnknownBatchResult
else:
    MessageBatchResult = _KnownResult

_RESULT_TAGS = tags_of(_KnownResult)


class MessageBatchIndividualResponse(msgspec.Struct, kw_only=True, gc=False):
    """One line of a batch's results: the request's ``custom_id`` and its ``result``.

    Lines come in no fixed order; ``custom_id`` is what ties a result to
    its request.
    """

    custom_id: str
    result: MessageBatchResult

    @property
    def type(self) -> str:
        """The result's type: ``succeeded``, ``errored``, ``canceled``, ``expired``."""
        return self.result.type

    @property
    def message(self) -> Message | None:
        """The Message of a ``succeeded`` result, else None (typed: no narrowing needed)."""
        result = self.result
        return result.message if isinstance(result, MessageBatchSucceededResult) else None

    @property
    def error(self) -> ErrorBody | None:
        """The error body of an ``errored`` result, else None."""
        result = self.result
        return result.error if isinstance(result, MessageBatchErroredResult) else None


# --------------------------------------------------------------------------
# Decoding (decoders built once)
# --------------------------------------------------------------------------

_BATCH_DECODER = msgspec.json.Decoder(MessageBatch)
_DELETED_DECODER = msgspec.json.Decoder(DeletedMessageBatch)
_PAGE_DECODER = page_decoder(MessageBatch)
_LINE_DECODER = msgspec.json.Decoder(MessageBatchIndividualResponse)


def _decode(decoder: msgspec.json.Decoder[Any], data: bytes, what: str) -> Any:
    try:
        return decoder.decode(data)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise APIResponseValidationError(f"cannot decode {what}: {exc}", data=data) from exc


def decode_batch(data: bytes) -> MessageBatch:
    """A batch object (create, retrieve, cancel)."""
    batch: MessageBatch = _decode(_BATCH_DECODER, data, "message batch")
    return batch


def decode_deleted_batch(data: bytes) -> DeletedMessageBatch:
    """The answer to a batch delete."""
    deleted: DeletedMessageBatch = _decode(_DELETED_DECODER, data, "deleted message batch")
    return deleted


def decode_batch_page(data: bytes) -> Page[MessageBatch]:
    """One page of ``GET /v1/messages/batches``."""
    page: Page[MessageBatch] = _decode(_PAGE_DECODER, data, "message batch list")
    return page


def decode_result_line(line: bytes) -> MessageBatchIndividualResponse:
    """One results line. Raises msgspec.DecodeError (or ValidationError) when bad.

    Fast path: one typed decode. Only when that fails is the line decoded to
    builtins and converted piece by piece, so that a result type or content
    block type added later survives as an Unknown value.
    """
    try:
        return _LINE_DECODER.decode(line)
    except msgspec.ValidationError:
        pass
    return _convert_line(msgspec.json.decode(line))


def _convert_line(obj: Any) -> MessageBatchIndividualResponse:
    if not isinstance(obj, dict):
        raise msgspec.ValidationError("a results line must be a JSON object")
    custom_id = obj.get("custom_id")
    raw: Any = obj.get("result")
    if not isinstance(custom_id, str):
        raise msgspec.ValidationError("`custom_id` must be a string")
    tag = tag_of(raw)
    result: MessageBatchResult
    if tag not in _RESULT_TAGS:
        result = UnknownBatchResult(raw)
    elif tag == "succeeded":
        result = MessageBatchSucceededResult(message=convert_message(raw.get("message")))
    else:
        result = msgspec.convert(raw, _KnownResult)
    return MessageBatchIndividualResponse(custom_id=custom_id, result=result)


class BatchResultsReader:
    """Sans-IO reader of a results body: ``feed`` bytes, get typed results.

    Framing is :class:`~rawclaude.wire.jsonl.JSONLFramer` (memory bounded by
    the longest line, ``max_line_size`` capping it). A line that does not
    decode raises :class:`~rawclaude.wire.errors.JSONLError` naming its
    physical line number -- after the results of the lines before it: the
    call that meets the bad line returns those, the next call raises. The
    reader is unusable after that.
    """

    __slots__ = ("_failed", "_framer", "_pending")

    def __init__(self, max_line_size: int = DEFAULT_MAX_LINE_SIZE) -> None:
        self._framer = JSONLFramer(max_line_size)
        self._failed = False
        self._pending: JSONLError | None = None

    @property
    def lines_seen(self) -> int:
        """Physical lines read so far (blank ones included)."""
        return self._framer.lines_seen

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[MessageBatchIndividualResponse]:
        """The results the next bytes of the body complete."""
        self._check_usable()
        return self._decode(self._framer.feed(chunk))

    def end(self) -> list[MessageBatchIndividualResponse]:
        """The body is over: the last result, if its line had no line end."""
        self._check_usable()
        return self._decode(self._framer.end())

    def _check_usable(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            raise pending
        if self._failed:
            raise JSONLError("BatchResultsReader is unusable after an earlier JSONLError")

    def _decode(self, lines: list[bytes]) -> list[MessageBatchIndividualResponse]:
        if not lines:
            return []
        try:
            # The common case at C speed: every line of the usual shape.
            return list(map(_LINE_DECODER.decode, lines))
        except (msgspec.DecodeError, RecursionError):
            pass
        out: list[MessageBatchIndividualResponse] = []
        for index, line in enumerate(lines):
            try:
                out.append(decode_result_line(line))
            except (msgspec.DecodeError, RecursionError) as exc:
                number = self._framer.line_number(index)
                self._failed = True  # the body is not what the API sends
                error = JSONLError(
                    f"batch results line {number} is not a valid result: {exc}",
                    line_number=number,
                    data=line,
                )
                error.__cause__ = exc
                if not out:
                    raise error from exc
                self._pending = error
                break
        return out
