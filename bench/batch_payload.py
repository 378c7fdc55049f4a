"""Realistic Message Batch results (JSONL) for the batch cases, built deterministically.

The mix of a ticket-triage batch: most requests are short Haiku
classifications (a label or a one-line JSON verdict), about one in fifty is a
long answer (a few KiB of mixed-script text with escapes), and a few are
errored, canceled or expired. Every line is what the API sends for that
outcome ("Retrieve Message Batch results"): ``{"custom_id", "result"}``.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from .payload import PIECES

MODEL = "claude-haiku-4-5-20251001"
LABELS = ("billing", "bug", "feature_request", "account", "refund", "spam", "other")


def _message(i: int, text: str, rng: random.Random) -> dict[str, Any]:
    return {
        "id": f"msg_01{i:022d}",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": text, "citations": None}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": rng.randint(80, 900),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": rng.choice((0, 0, 512)),
            "output_tokens": max(1, len(text) // 4),
            "service_tier": "batch",
        },
    }


def _long_text(rng: random.Random, size: int) -> str:
    parts: list[str] = []
    total = 0
    while total < size:
        piece = rng.choice(PIECES)
        parts.append(piece)
        total += len(piece)
    return "".join(parts)


def _result(i: int, rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.02:
        text = _long_text(rng, rng.randint(2_000, 12_000))
        return {"type": "succeeded", "message": _message(i, text, rng)}
    if roll < 0.03:
        error = {"type": "invalid_request_error", "message": "max_tokens: 64000 > 8192"}
        return {"type": "errored", "error": {"type": "error", "error": error}}
    if roll < 0.035:
        return {"type": "canceled"}
    if roll < 0.04:
        return {"type": "expired"}
    label = rng.choice(LABELS)
    if roll < 0.5:
        text = label
    else:
        text = orjson.dumps({"label": label, "confidence": round(rng.random(), 2)}).decode()
    return {"type": "succeeded", "message": _message(i, text, rng)}


def result_lines(count: int, seed: int = 1) -> list[bytes]:
    """``count`` results lines (without line ends), in a seeded order."""
    rng = random.Random(seed)
    return [
        orjson.dumps({"custom_id": f"ticket-{i:07d}", "result": _result(i, rng)})
        for i in range(count)
    ]


def results_body(count: int, seed: int = 1, line_end: bytes = b"\n") -> bytes:
    """The whole JSONL body for ``count`` results."""
    return b"".join(line + line_end for line in result_lines(count, seed))


def one_line_body(size: int) -> bytes:
    """One succeeded result whose line is ``size`` bytes long (a long answer)."""
    rng = random.Random(7)
    probe = orjson.dumps(
        {"custom_id": "big", "result": {"type": "succeeded", "message": _message(0, "", rng)}}
    )
    text = "a" * max(0, size - len(probe))
    rng = random.Random(7)
    line = orjson.dumps(
        {"custom_id": "big", "result": {"type": "succeeded", "message": _message(0, text, rng)}}
    )
    return line + b"\n"
