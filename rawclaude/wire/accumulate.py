"""Fold stream events into the final Message (layer 0: pure, no IO).

The result is exactly what the non-streaming call returns for the same
response ("Streaming Messages",
https://platform.claude.com/docs/en/build-with-claude/streaming):

* each block sits at its event ``index`` in ``content``;
* text, thinking and tool-input pieces are collected in lists and joined once
  at ``content_block_stop`` (linear in the stream's length; a tool's
  ``input_json_delta`` pieces are partial JSON and parse only when joined);
* ``message_delta`` sets ``stop_reason`` / ``stop_sequence`` / ``stop_details``
  and, when present, ``container``; its usage counts are cumulative totals, so
  each count it carries replaces the one from ``message_start`` (never added).

Blocks are rebuilt with ``msgspec.structs.replace``; the event objects a
caller may hold on to are never mutated.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from .errors import APIResponseValidationError
from .events import (
    CitationsDelta,
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    Delta,
    InputJSONDelta,
    MessageDeltaEvent,
    MessageDeltaUsage,
    MessageStartEvent,
    MessageStopEvent,
    SignatureDelta,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
)
from .models import (
    Citation,
    ContentBlock,
    MCPToolUseBlock,
    Message,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    UnknownBlock,
    Usage,
)

__all__ = ["MessageAccumulator"]

_TOOL_BLOCKS = (ToolUseBlock, ServerToolUseBlock, MCPToolUseBlock)

# Usage fields a message_delta may carry that the Message's usage also has.
_DELTA_USAGE_FIELDS = tuple(
    f for f in MessageDeltaUsage.__struct_fields__ if f in Usage.__struct_fields__
)


class _Open:
    """A content block between its start and stop events."""

    __slots__ = ("block", "cites", "pieces", "signature")

    def __init__(self, block: ContentBlock) -> None:
        self.block = block
        self.pieces: list[str] = []  # text, thinking or tool-input JSON pieces
        self.signature: str | None = None
        self.cites: list[Citation] | None = None


class MessageAccumulator:
    """Feed it every event of one stream; ``message()`` gives the Message."""

    __slots__ = (
        "_base",
        "_blocks",
        "_cache",
        "_changes",
        "_content_started",
        "_finished",
        "_open",
        "_usage",
    )

    def __init__(self) -> None:
        self._base: Message | None = None
        self._usage: Usage | None = None
        self._changes: dict[str, Any] = {}
        self._blocks: dict[int, ContentBlock] = {}
        self._open: dict[int, _Open] = {}
        self._finished = False
        self._content_started = False
        self._cache: Message | None = None

    @property
    def started(self) -> bool:
        """``message_start`` has been seen."""
        return self._base is not None

    @property
    def finished(self) -> bool:
        """``message_stop`` has been seen."""
        return self._finished

    @property
    def content_started(self) -> bool:
        """Any ``content_block_start`` or ``content_block_delta`` has been seen."""
        return self._content_started

    def usage(self) -> Usage | None:
        """The usage so far (final after ``message_delta``); None before message_start."""
        return self._usage

    def feed(self, event: StreamEvent) -> None:
        """Apply one event. ping, error and unknown events change nothing here."""
        # Ordered by frequency: deltas are nearly all of a stream's events, so
        # they get an exact class check (decode_event builds no subclasses),
        # and a text delta into an open text block is handled right here.
        if event.__class__ is ContentBlockDeltaEvent:
            open_block = self._open.get(event.index)
            delta = event.delta
            if (
                open_block is not None
                and delta.__class__ is TextDelta
                and open_block.block.__class__ is TextBlock
            ):
                open_block.pieces.append(delta.text)
                self._cache = None
                return
            self._on_delta(event, open_block)
        elif isinstance(event, ContentBlockStartEvent):
            self._on_start(event)
        elif isinstance(event, ContentBlockStopEvent):
            self._on_stop(event)
        elif isinstance(event, MessageStartEvent):
            self._on_message_start(event)
        elif isinstance(event, MessageDeltaEvent):
            self._on_message_delta(event)
        elif isinstance(event, MessageStopEvent):
            self._on_message_stop()
        else:
            return
        self._cache = None

    def message(self) -> Message:
        """The Message assembled so far; the final one once ``finished``.

        Blocks still open (no ``content_block_stop`` yet) appear with the text
        received so far; a tool block's ``input`` is filled in at its stop.
        Raises APIResponseValidationError if no ``message_start`` was seen.
        """
        if self._cache is not None:
            return self._cache
        base = self._require_start("message()")
        blocks = dict(self._blocks)
        for index, open_block in self._open.items():
            blocks[index] = _close(open_block, parse_input=False)
        content = [blocks[i] for i in sorted(blocks)]
        self._cache = msgspec.structs.replace(
            base, content=content, usage=self._usage, **self._changes
        )
        return self._cache

    # -- handlers -----------------------------------------------------------

    def _require_start(self, what: str) -> Message:
        if self._base is None:
            raise APIResponseValidationError(f"stream sent {what} before message_start")
        return self._base

    def _on_message_start(self, event: MessageStartEvent) -> None:
        if self._base is not None:
            raise APIResponseValidationError("stream sent a second message_start")
        self._base = event.message
        self._usage = event.message.usage
        # Content the message_start already carries (normally none) comes first.
        self._blocks = dict(enumerate(event.message.content))

    def _on_start(self, event: ContentBlockStartEvent) -> None:
        self._require_start("content_block_start")
        self._content_started = True
        self._open[event.index] = _Open(event.content_block)
        self._blocks.pop(event.index, None)

    def _on_delta(self, event: ContentBlockDeltaEvent, open_block: _Open | None) -> None:
        # Text into a text block never gets here: feed() does it inline.
        if open_block is None:
            raise APIResponseValidationError(
                f"content_block_delta for index {event.index}, which is not open"
            )
        _apply_delta(open_block, event.delta)

    def _on_stop(self, event: ContentBlockStopEvent) -> None:
        open_block = self._open.pop(event.index, None)
        if open_block is None:
            # A stray stop (even before message_start) changes nothing: the
            # caller still gets the event, as the official SDK's streams do.
            return
        self._blocks[event.index] = _close(open_block, parse_input=True)

    def _on_message_stop(self) -> None:
        # A tool call cut off before its content_block_stop has no input yet:
        # a final message with ``input={}`` would run the tool with nothing.
        for index, open_block in self._open.items():
            if isinstance(open_block.block, _TOOL_BLOCKS):
                raise APIResponseValidationError(
                    f"message_stop while tool block {index} was still open; its input is incomplete"
                )
        self._finished = True

    def _on_message_delta(self, event: MessageDeltaEvent) -> None:
        self._require_start("message_delta")
        delta, changes = event.delta, self._changes
        # stop_* are the final values even when null (as the official SDK does).
        changes["stop_reason"] = delta.stop_reason
        changes["stop_sequence"] = delta.stop_sequence
        changes["stop_details"] = delta.stop_details
        if delta.container is not None:
            changes["container"] = delta.container
        if event.context_management is not None:
            changes["context_management"] = event.context_management
        self._usage = _merge_usage(self._usage, event.usage)


def _merge_usage(usage: Usage | None, delta: MessageDeltaUsage) -> Usage | None:
    """Replace each count the delta carries: they are cumulative totals."""
    if usage is None:
        return None
    new = {}
    for name in _DELTA_USAGE_FIELDS:
        value = getattr(delta, name)
        if value is not None:
            new[name] = value
    return msgspec.structs.replace(usage, **new) if new else usage


def _apply_delta(open_block: _Open, delta: Delta) -> None:
    """Record one delta; a delta that does not fit its block is ignored."""
    block = open_block.block
    if isinstance(delta, TextDelta):
        if isinstance(block, TextBlock):
            open_block.pieces.append(delta.text)
    elif isinstance(delta, InputJSONDelta):
        # An unknown block with an ``input`` is likely a new kind of tool call.
        if isinstance(block, _TOOL_BLOCKS) or (
            isinstance(block, UnknownBlock) and "input" in block
        ):
            open_block.pieces.append(delta.partial_json)
    elif isinstance(delta, ThinkingDelta):
        if isinstance(block, ThinkingBlock):
            open_block.pieces.append(delta.thinking)
    elif isinstance(delta, SignatureDelta):
        # The API sends the whole signature in one delta just before the stop.
        if isinstance(block, ThinkingBlock):
            open_block.signature = delta.signature
    elif isinstance(delta, CitationsDelta) and isinstance(block, TextBlock):
        if open_block.cites is None:
            open_block.cites = []
        open_block.cites.append(delta.citation)


def _close(open_block: _Open, *, parse_input: bool) -> ContentBlock:
    """The finished block: pieces joined once, tool input parsed once."""
    block, pieces = open_block.block, open_block.pieces
    if isinstance(block, TextBlock):
        if not pieces and open_block.cites is None:
            return block
        cites = block.citations
        if open_block.cites is not None:
            cites = [*(cites or ()), *open_block.cites]
        return msgspec.structs.replace(block, text=block.text + "".join(pieces), citations=cites)
    if isinstance(block, ThinkingBlock):
        signature = block.signature if open_block.signature is None else open_block.signature
        return msgspec.structs.replace(
            block, thinking=block.thinking + "".join(pieces), signature=signature
        )
    if not pieces or not parse_input:
        return block
    if isinstance(block, UnknownBlock):
        return UnknownBlock({**block, "input": _parse_input(pieces)})
    if isinstance(block, _TOOL_BLOCKS):
        return msgspec.structs.replace(block, input=_parse_input(pieces))
    return block


def _slow_parse(raw: str) -> Any:
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise APIResponseValidationError(f"tool input is not valid JSON: {exc}", data=raw) from None
    except RecursionError:
        raise APIResponseValidationError("tool input is nested too deeply", data=raw) from None


def _parse_input(pieces: list[str]) -> dict[str, Any]:
    """Parse a tool's joined ``input_json_delta`` pieces; empty input is ``{}``."""
    raw = "".join(pieces)
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # orjson refuses some JSON msgspec takes (1e400, huge integers): ask it.
        value = _slow_parse(raw)
    if not isinstance(value, dict):
        raise APIResponseValidationError("tool input is not a JSON object", data=raw)
    return value
