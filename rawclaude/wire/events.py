"""Stream event Structs and their decoder (layer 0: no IO).

Shapes follow "Streaming Messages"
(https://platform.claude.com/docs/en/build-with-claude/streaming): a stream is
``message_start``, then per content block ``content_block_start``, deltas and
``content_block_stop``, then ``message_delta`` (usage counts are cumulative)
and ``message_stop``; ``ping`` and ``error`` may come at any time.

The docs say new event types may be added and clients should handle unknown
ones gracefully. So an event, delta, content block or citation ``type`` this
version does not know decodes to an explicit Unknown value (a ``dict`` holding
the raw JSON) that is passed on, never dropped and never an error.

:func:`decode_event` is the library's hottest call. Its fast path is one
``Decoder.decode`` on the data bytes with a decoder built once at import; only
a ``ValidationError`` (an unknown tag, or a malformed event) sends it to the
slow path, which decodes to builtins and converts piece by piece.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import msgspec

from .errors import APIResponseValidationError
from .models import (
    Citation,
    Container,
    ContentBlock,
    ErrorDetail,
    Message,
    OutputTokensDetails,
    ServerToolUsage,
    _Unknown,
    block_from_builtins,
    citation_from_builtins,
    convert_message,
    tag_of,
    tags_of,
)

if TYPE_CHECKING:
    from typing import TypeAlias

__all__ = [
    "UnknownDelta",
    "UnknownEvent",
    "TextDelta",
    "InputJSONDelta",
    "ThinkingDelta",
    "SignatureDelta",
    "CitationsDelta",
    "Delta",
    "MessageDelta",
    "MessageDeltaUsage",
    "MessageStartEvent",
    "ContentBlockStartEvent",
    "ContentBlockDeltaEvent",
    "ContentBlockStopEvent",
    "MessageDeltaEvent",
    "MessageStopEvent",
    "PingEvent",
    "ErrorEvent",
    "StreamEvent",
    "decode_event",
]


class UnknownDelta(_Unknown):
    """A ``content_block_delta`` delta whose ``type`` this version does not know."""

    __slots__ = ()


class UnknownEvent(_Unknown):
    """A stream event whose ``type`` this version does not know."""

    __slots__ = ()


# --------------------------------------------------------------------------
# Deltas (docs: "Content block delta types")
# --------------------------------------------------------------------------


class _Delta(msgspec.Struct, tag_field="type", kw_only=True, gc=False):
    pass


class TextDelta(_Delta, tag="text_delta", kw_only=True):
    type: ClassVar[Literal["text_delta"]] = "text_delta"
    text: str


class InputJSONDelta(_Delta, tag="input_json_delta", kw_only=True):
    """A piece of a tool's ``input`` JSON; only the joined pieces parse."""

    type: ClassVar[Literal["input_json_delta"]] = "input_json_delta"
    partial_json: str


class ThinkingDelta(_Delta, tag="thinking_delta", kw_only=True):
    type: ClassVar[Literal["thinking_delta"]] = "thinking_delta"
    thinking: str


class SignatureDelta(_Delta, tag="signature_delta", kw_only=True):
    """The thinking block's signature, sent just before its content_block_stop."""

    type: ClassVar[Literal["signature_delta"]] = "signature_delta"
    signature: str


class CitationsDelta(_Delta, tag="citations_delta", kw_only=True):
    """One citation to append to the text block's ``citations``."""

    type: ClassVar[Literal["citations_delta"]] = "citations_delta"
    citation: Citation


_KnownDelta = TextDelta | InputJSONDelta | ThinkingDelta | SignatureDelta | CitationsDelta

# Static type includes UnknownDelta; the runtime annotation is what msgspec
# decodes in one call (see _models.ContentBlock for the same split).
if TYPE_CHECKING:
    Delta: TypeAlias = _KnownDelta | UnknownDelta
else:
    Delta = _KnownDelta


# --------------------------------------------------------------------------
# message_delta parts
# --------------------------------------------------------------------------


class MessageDelta(msgspec.Struct, kw_only=True, gc=False):
    """Top-level changes to the Message, carried by ``message_delta``."""

    stop_reason: str | None = None
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | None = None
    container: Container | None = None


class MessageDeltaUsage(msgspec.Struct, kw_only=True, gc=False):
    """Usage on ``message_delta``: cumulative totals; absent ones are None."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    server_tool_use: ServerToolUsage | None = None
    output_tokens_details: OutputTokensDetails | None = None


# --------------------------------------------------------------------------
# Events (docs: "Event types")
# --------------------------------------------------------------------------


class _Event(msgspec.Struct, tag_field="type", kw_only=True, gc=False):
    pass


class MessageStartEvent(_Event, tag="message_start", kw_only=True):
    """Carries the Message with empty ``content``."""

    type: ClassVar[Literal["message_start"]] = "message_start"
    message: Message


class ContentBlockStartEvent(_Event, tag="content_block_start", kw_only=True):
    type: ClassVar[Literal["content_block_start"]] = "content_block_start"
    index: int
    content_block: ContentBlock


class ContentBlockDeltaEvent(_Event, tag="content_block_delta", kw_only=True):
    type: ClassVar[Literal["content_block_delta"]] = "content_block_delta"
    index: int
    delta: Delta


class ContentBlockStopEvent(_Event, tag="content_block_stop", kw_only=True):
    type: ClassVar[Literal["content_block_stop"]] = "content_block_stop"
    index: int


class MessageDeltaEvent(_Event, tag="message_delta", kw_only=True):
    type: ClassVar[Literal["message_delta"]] = "message_delta"
    delta: MessageDelta
    usage: MessageDeltaUsage = msgspec.field(default_factory=MessageDeltaUsage)
    context_management: dict[str, Any] | None = None


class MessageStopEvent(_Event, tag="message_stop", kw_only=True):
    type: ClassVar[Literal["message_stop"]] = "message_stop"


class PingEvent(_Event, tag="ping", kw_only=True):
    type: ClassVar[Literal["ping"]] = "ping"


class ErrorEvent(_Event, tag="error", kw_only=True):
    """An error inside a 200 stream, e.g. ``overloaded_error``."""

    type: ClassVar[Literal["error"]] = "error"
    error: ErrorDetail
    request_id: str | None = None


_KnownEvent = (
    MessageStartEvent
    | ContentBlockStartEvent
    | ContentBlockDeltaEvent
    | ContentBlockStopEvent
    | MessageDeltaEvent
    | MessageStopEvent
    | PingEvent
    | ErrorEvent
)

#: Every value :func:`decode_event` returns.
StreamEvent: TypeAlias = _KnownEvent | UnknownEvent

_EVENT_DECODER: msgspec.json.Decoder[_KnownEvent] = msgspec.json.Decoder(_KnownEvent)
_EVENT_TAGS = tags_of(_KnownEvent)
_DELTA_TAGS = tags_of(_KnownDelta)


def decode_event(data: bytes | str) -> StreamEvent:
    """Decode one SSE ``data`` payload into a stream event.

    Raises APIResponseValidationError (carrying the bytes) on bad JSON, or on
    an event of a known type with the wrong shape.
    """
    try:
        return _EVENT_DECODER.decode(data)
    except msgspec.ValidationError:
        pass  # maybe a type we do not know yet: take the slow path below
    except msgspec.DecodeError as exc:
        raise APIResponseValidationError(f"invalid JSON in stream event: {exc}", data=data) from exc
    except RecursionError:
        raise APIResponseValidationError("stream event is nested too deeply", data=data) from None
    try:
        # The typed decoder can stop at a wrong type before it sees that the
        # JSON is malformed later on, so DecodeError can still happen here.
        return _event_from_builtins(msgspec.json.decode(data))
    except msgspec.DecodeError as exc:  # includes ValidationError
        raise APIResponseValidationError(f"unexpected stream event: {exc}", data=data) from exc
    except RecursionError:
        raise APIResponseValidationError("stream event is nested too deeply", data=data) from None


# Loose shapes for the slow path: the typed fields are checked by msgspec, the
# nested object is converted separately so an unknown type inside survives.


class _LooseBlockStart(msgspec.Struct):
    index: int
    content_block: Any


class _LooseBlockDelta(msgspec.Struct):
    index: int
    delta: Any


class _LooseMessageStart(msgspec.Struct):
    message: Any


def _event_from_builtins(obj: Any) -> StreamEvent:
    tag = tag_of(obj)
    if tag not in _EVENT_TAGS:
        return UnknownEvent(obj)
    if tag == "content_block_start":
        start = msgspec.convert(obj, _LooseBlockStart)
        block = block_from_builtins(start.content_block)
        return ContentBlockStartEvent(index=start.index, content_block=block)
    if tag == "content_block_delta":
        loose = msgspec.convert(obj, _LooseBlockDelta)
        return ContentBlockDeltaEvent(index=loose.index, delta=_delta_from_builtins(loose.delta))
    if tag == "message_start":
        message = convert_message(msgspec.convert(obj, _LooseMessageStart).message)
        return MessageStartEvent(message=message)
    # A known event without nested unions failed the fast path: re-raise its error.
    event: StreamEvent = msgspec.convert(obj, _KnownEvent)
    return event


def _delta_from_builtins(obj: Any) -> Delta:
    tag = tag_of(obj)
    if tag not in _DELTA_TAGS:
        return UnknownDelta(obj)
    if tag == "citations_delta":
        if not isinstance(obj, dict):  # for mypy; tag_of checked it
            raise msgspec.ValidationError("delta must be an object")
        return CitationsDelta(citation=citation_from_builtins(obj.get("citation")))
    delta: Delta = msgspec.convert(obj, _KnownDelta)
    return delta
