"""Pre-rendering a reply's content into SSE bytes, once.

The benchmark suite streams up to 50,000 events through the fake server, so the
bytes of everything after ``message_start`` (the only event that differs per
request: message id, model, input tokens) are built once with orjson and kept,
both as one frame per event (for delays and faults) and joined into ~64 KiB
batches (for the fast path: a few large writes instead of one per event).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._blocks import Block
from ._wire import sse_frame

BATCH_BYTES = 64 * 1024

# "Streaming Messages": ping events may appear anywhere; the documented example
# sends one right after the first content_block_start.
PING_FRAME = sse_frame("ping", {"type": "ping"})
MESSAGE_STOP_FRAME = sse_frame("message_stop", {"type": "message_stop"})


@dataclass(frozen=True)
class Rendered:
    """Everything after ``message_start``, ready to write."""

    frames: tuple[bytes, ...]
    batches: tuple[bytes, ...]
    output_tokens: int
    content: list[dict[str, Any]]
    stop_reason: str


@dataclass(frozen=True, eq=False)
class Content:
    """What a message reply says; renders itself once and keeps the bytes."""

    blocks: tuple[Block, ...]
    stop_reason: str = "end_turn"
    output_tokens: int | None = None  # None: one output token per delta event
    _cache: list[Rendered] = field(default_factory=list, init=False, repr=False)

    def rendered(self) -> Rendered:
        # A list slot rather than an attribute because the dataclass is frozen;
        # a race between two threads only renders the same bytes twice.
        if not self._cache:
            self._cache.append(render(self))
        return self._cache[0]


def _block_frames(index: int, block: Block) -> tuple[list[bytes], int]:
    frames = [
        sse_frame(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": block.start()},
        )
    ]
    if index == 0:
        frames.append(PING_FRAME)
    deltas = block.delta_objects()
    frames.extend(
        sse_frame(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}
        )
        for d in deltas
    )
    frames.append(sse_frame("content_block_stop", {"type": "content_block_stop", "index": index}))
    return frames, len(deltas)


def render(content: Content) -> Rendered:
    frames: list[bytes] = []
    deltas = 0
    for index, block in enumerate(content.blocks):
        block_frames, block_deltas = _block_frames(index, block)
        frames.extend(block_frames)
        deltas += block_deltas
    if not content.blocks:
        frames.append(PING_FRAME)
    output_tokens = deltas if content.output_tokens is None else content.output_tokens
    # message_delta usage is cumulative (the final total), per "Streaming Messages".
    message_delta = {
        "type": "message_delta",
        "delta": {"stop_reason": content.stop_reason, "stop_sequence": None},
        "usage": {"output_tokens": output_tokens},
    }
    frames.append(sse_frame("message_delta", message_delta))
    frames.append(MESSAGE_STOP_FRAME)
    return Rendered(
        frames=tuple(frames),
        batches=tuple(batch(frames)),
        output_tokens=output_tokens,
        content=[block.final() for block in content.blocks],
        stop_reason=content.stop_reason,
    )


def batch(frames: list[bytes] | tuple[bytes, ...], size: int = BATCH_BYTES) -> list[bytes]:
    """Join consecutive frames into chunks of about ``size`` bytes (never splitting one)."""
    batches: list[bytes] = []
    pending: list[bytes] = []
    pending_size = 0
    for frame in frames:
        pending.append(frame)
        pending_size += len(frame)
        if pending_size >= size:
            batches.append(b"".join(pending))
            pending, pending_size = [], 0
    if pending:
        batches.append(b"".join(pending))
    return batches
