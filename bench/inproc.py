"""Case 1's three pipelines: SSE bytes -> events -> decoded -> accumulated text.

Each takes the pre-cut chunks and returns the final text, so the worker can check
that all three agree before any number is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from . import floor


def rawclaude_pipeline() -> Callable[[list[bytes]], str]:
    """MessageStream's own per-chunk work when it has it (``_decode_batch``: decode,
    error check, accumulate), else the public pieces: SSEParser, decode_event,
    MessageAccumulator."""
    from rawclaude.client.stream import MessageStream
    from rawclaude.wire.models import TextBlock

    if not hasattr(MessageStream, "_decode_batch"):
        return _rawclaude_pieces()

    def run(chunks: list[bytes]) -> str:
        # No pipeline, request or timeout: only the socket-free parts are used.
        stream = MessageStream(SimpleNamespace(timeout=None))  # type: ignore[arg-type]
        feed, batch = stream._parser.feed_data, stream._decode_batch
        for chunk in chunks:
            batch(feed(chunk))
        stream._parser.end()
        block = stream._acc.message().content[0]
        assert isinstance(block, TextBlock)
        return block.text

    return run


def _rawclaude_pieces() -> Callable[[list[bytes]], str]:
    from rawclaude.wire.accumulate import MessageAccumulator
    from rawclaude.wire.events import decode_event
    from rawclaude.wire.models import TextBlock
    from rawclaude.wire.sse import SSEParser

    def run(chunks: list[bytes]) -> str:
        parser, acc = SSEParser(), MessageAccumulator()
        feed, add = parser.feed, acc.feed
        for chunk in chunks:
            for sse in feed(chunk):
                add(decode_event(sse.data))
        parser.end()
        block = acc.message().content[0]
        assert isinstance(block, TextBlock)
        return block.text

    return run


def sdk_pipeline() -> Callable[[list[bytes]], str]:
    """What ``AsyncMessageStream`` does per event, minus the socket (SDK internals)."""
    from anthropic._models import construct_type
    from anthropic._streaming import SSEDecoder
    from anthropic.lib.streaming._messages import accumulate_event, build_events
    from anthropic.types import RawMessageStreamEvent

    def run(chunks: list[bytes]) -> str:
        snapshot: Any = None
        json_bufs: dict[int, bytes] = {}
        for sse in SSEDecoder().iter_bytes(iter(chunks)):
            # AsyncStream.__stream__ skips these, then json-decodes and constructs.
            if sse.event is None or sse.event == "ping" or not sse.data:
                continue
            event: Any = construct_type(type_=RawMessageStreamEvent, value=sse.json())
            snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
            build_events(event=event, message_snapshot=snapshot)
        assert snapshot is not None
        return str(snapshot.content[0].text)

    return run


def floor_pipeline() -> Callable[[list[bytes]], str]:
    return floor.parse_all


PIPELINES: dict[str, Callable[[], Callable[[list[bytes]], str]]] = {
    "rawclaude": rawclaude_pipeline,
    "sdk": sdk_pipeline,
    "floor": floor_pipeline,
}
