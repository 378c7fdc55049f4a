"""Realistic stream bytes for the in-process case, and the delta text for the server.

The text mixes ASCII, accented Latin, CJK, emoji (with ZWJ and skin-tone
sequences) and the JSON escapes real answers carry (newlines, quotes), so every
decoder pays for UTF-8 validation and unescaping as it would in production.
"""

from __future__ import annotations

import random
from urllib.parse import quote

import orjson

#: Pieces a delta is built from; most deltas are one to three of them.
PIECES = (
    "the ",
    "result ",
    "of ",
    "function ",
    "returns",
    ", and ",
    "a ",
    "value",
    ". ",
    "café ",
    "naïve ",
    "Größe ",
    "déjà vu ",
    "señor ",
    "crème brûlée ",
    "世界",
    "東京の",
    "数据",
    "こんにちは",
    "데이터 ",
    "模型",
    "🚀 ",
    "👍🏽",
    "🎉",
    "👩\u200d💻 ",
    "✅ ",
    "\n",
    "\n\n",
    '"quoted" ',
    "path\\to ",
    "\t",
)

#: The single delta the fake server repeats in the end-to-end cases.
SERVER_DELTA_TEXT = "Héllo wörld, 世界 🚀 "

MODEL = "claude-sonnet-4-6"


def server_delta_header() -> str:
    """``SERVER_DELTA_TEXT`` as the ``x-fake-delta-text`` header value (percent-encoded)."""
    return quote(SERVER_DELTA_TEXT, safe="")


def delta_texts(count: int, seed: int = 7) -> list[str]:
    """``count`` deterministic delta texts drawn from ``PIECES``."""
    rng = random.Random(seed)
    return ["".join(rng.choices(PIECES, k=rng.randint(1, 3))) for _ in range(count)]


def _frame(event: str, data: object) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _message_start() -> bytes:
    message: dict[str, object] = {
        "id": "msg_bench0001",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": MODEL,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 1},
    }
    return _frame("message_start", {"type": "message_start", "message": message})


def stream_bytes(deltas: list[str]) -> bytes:
    """A whole text stream as the API frames it: 6 framing events + one per delta."""
    block = {"type": "text", "text": ""}
    parts = [
        _message_start(),
        _frame(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": block},
        ),
        _frame("ping", {"type": "ping"}),
    ]
    for text in deltas:
        delta = {"type": "text_delta", "text": text}
        parts.append(
            _frame(
                "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
            )
        )
    parts.append(_frame("content_block_stop", {"type": "content_block_stop", "index": 0}))
    stop = {"stop_reason": "end_turn", "stop_sequence": None}
    parts.append(
        _frame(
            "message_delta",
            {"type": "message_delta", "delta": stop, "usage": {"output_tokens": len(deltas)}},
        )
    )
    parts.append(_frame("message_stop", {"type": "message_stop"}))
    return b"".join(parts)


#: Events in a stream of N deltas: message_start, block start, ping, block stop,
#: message_delta, message_stop.
FRAMING_EVENTS = 6


def chunked(data: bytes, size: int) -> list[bytes]:
    """``data`` cut every ``size`` bytes, wherever that falls (mid-event, mid-character)."""
    return [data[i : i + size] for i in range(0, len(data), size)]
