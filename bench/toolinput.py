"""Case 10's input and pipelines: one tool_use block whose JSON input streams in as
``input_json_delta`` pieces of about 50 bytes, parsed by each client's own code.

Each pipeline takes pre-cut chunks of SSE bytes and returns the tool's final
``input`` (a dict), so the worker can check all three agree before timing.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import msgspec
import orjson

from .payload import MODEL, PIECES, _frame

#: ~50-byte pieces, as the API streams a tool's input.
PIECE_BYTES = 50


def pieces_of(raw: bytes, size: int = PIECE_BYTES) -> list[str]:
    """``raw`` cut every ``size`` bytes, moved back to a character boundary."""
    out, start = [], 0
    while start < len(raw):
        end = min(start + size, len(raw))
        while end < len(raw) and (raw[end] & 0xC0) == 0x80:  # a UTF-8 continuation byte
            end -= 1
        out.append(raw[start:end].decode())
        start = end
    return out


def tool_input(size: int, seed: int = 11) -> dict[str, Any]:
    """A tool input of about ``size`` bytes of JSON: file edits with mixed text."""
    rng = random.Random(seed)
    files: list[dict[str, Any]] = []
    total = 0
    while total < size:
        text = "".join(rng.choices(PIECES, k=rng.randint(20, 60)))
        entry = {"path": f"src/module_{len(files)}.py", "line": rng.randint(1, 9999), "text": text}
        files.append(entry)
        total += len(orjson.dumps(entry)) + 1
    return {"action": "write_files", "dry_run": False, "files": files}


def stream_bytes(value: dict[str, Any]) -> tuple[bytes, int]:
    """The SSE bytes of one tool_use block streaming ``value``; and the delta count."""
    pieces = pieces_of(orjson.dumps(value))
    message = {
        "id": "msg_bench0002",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": MODEL,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 1},
    }
    block = {"type": "tool_use", "id": "toolu_bench", "name": "write_files", "input": {}}
    parts = [
        _frame("message_start", {"type": "message_start", "message": message}),
        _frame(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": block},
        ),
    ]
    for piece in pieces:
        delta = {"type": "input_json_delta", "partial_json": piece}
        event = {"type": "content_block_delta", "index": 0, "delta": delta}
        parts.append(_frame("content_block_delta", event))
    parts.append(_frame("content_block_stop", {"type": "content_block_stop", "index": 0}))
    stop = {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": len(pieces)},
    }
    parts.append(_frame("message_delta", stop))
    parts.append(_frame("message_stop", {"type": "message_stop"}))
    return b"".join(parts), len(pieces)


#: message_start, block start, block stop, message_delta, message_stop.
FRAMING_EVENTS = 5


def rawclaude_pipeline() -> Callable[[list[bytes]], Any]:
    """MessageStream's own per-chunk path (as case 1): parse, decode, accumulate."""
    from rawclaude.client.stream import MessageStream
    from rawclaude.wire.models import ToolUseBlock

    def run(chunks: list[bytes]) -> Any:
        stream = MessageStream(SimpleNamespace(timeout=None))  # type: ignore[arg-type]
        feed, batch = stream._parser.feed_data, stream._decode_batch
        for chunk in chunks:
            batch(feed(chunk))
        stream._parser.end()
        block = stream._acc.message().content[0]
        assert isinstance(block, ToolUseBlock)
        return block.input

    return run


def sdk_pipeline() -> Callable[[list[bytes]], Any]:
    """What ``AsyncMessageStream`` does per event (SDK internals, as case 1)."""
    from anthropic._models import construct_type
    from anthropic._streaming import SSEDecoder
    from anthropic.lib.streaming._messages import accumulate_event, build_events
    from anthropic.types import RawMessageStreamEvent

    def run(chunks: list[bytes]) -> Any:
        snapshot: Any = None
        json_bufs: dict[int, bytes] = {}
        for sse in SSEDecoder().iter_bytes(iter(chunks)):
            if sse.event is None or sse.event == "ping" or not sse.data:
                continue
            event: Any = construct_type(type_=RawMessageStreamEvent, value=sse.json())
            snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
            build_events(event=event, message_snapshot=snapshot)
        assert snapshot is not None
        return snapshot.content[0].input

    return run


class _Delta(msgspec.Struct, gc=False):
    partial_json: str = ""


class _Event(msgspec.Struct, gc=False):
    type: str
    delta: _Delta | None = None


_EVENT = msgspec.json.Decoder(_Event)


def floor_pipeline() -> Callable[[list[bytes]], Any]:
    """The floor: split on blank lines, decode each payload, join the pieces, parse once."""

    def run(chunks: list[bytes]) -> Any:
        buf, pieces = b"", []
        append, decode = pieces.append, _EVENT.decode
        for chunk in chunks:
            *frames, buf = (buf + chunk).split(b"\n\n")
            for frame in frames:
                event = decode(frame.partition(b"data: ")[2])
                if event.delta is not None:
                    append(event.delta.partial_json)
        return orjson.loads("".join(pieces))

    return run


PIPELINES: dict[str, Callable[[], Callable[[list[bytes]], Any]]] = {
    "rawclaude": rawclaude_pipeline,
    "sdk": sdk_pipeline,
    "floor": floor_pipeline,
}
