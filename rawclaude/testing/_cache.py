"""A simulated prompt cache: which prefix of a request was seen within its TTL.

Following "Prompt caching":
- The prompt is read in the order ``tools``, ``system``, ``messages``; a block
  with ``cache_control`` ends a cacheable prefix (a "breakpoint"); at most 4.
- ``cache_control`` is ``{"type": "ephemeral"}`` with ``ttl`` "5m" (default) or
  "1h"; a 1h breakpoint may not come after a 5m one.
- A hit on the longest cached prefix reports ``cache_read_input_tokens``; what
  lies between it and the last breakpoint is written (``cache_creation_input_tokens``,
  split by TTL in ``cache_creation``); ``input_tokens`` is only what follows the
  last breakpoint. Using an entry refreshes its TTL.
Tokens use the fake's one-token-per-4-bytes estimate. The API's minimum
cacheable length (about 1024 tokens) is not simulated: any prefix is cached.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any

import orjson

from ._checks import ApiError
from ._clock import Clock

MAX_BREAKPOINTS = 4
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


@dataclass(frozen=True)
class Breakpoint:
    key: str  # digest of the model and the prefix up to and including the block
    tokens: int  # the prefix's estimated tokens
    ttl: str


def _pieces(body: dict[str, Any]) -> list[tuple[Any, Any]]:
    """(canonical piece, its cache_control) in the API's prompt order."""
    pieces: list[tuple[Any, Any]] = []

    def add(where: str, block: Any) -> None:
        if isinstance(block, dict):
            rest = {k: v for k, v in block.items() if k != "cache_control"}
            pieces.append(([where, rest], block.get("cache_control")))
        else:
            pieces.append(([where, block], None))

    for tool in body.get("tools") or ():
        add("tools", tool)
    system = body.get("system")
    for block in system if isinstance(system, list) else ([system] if system else []):
        add("system", block)
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        role = message.get("role") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else [content]:
            add(f"messages:{role}", block)
    return pieces


def breakpoints(body: dict[str, Any], total_tokens: int) -> list[Breakpoint] | ApiError:
    """The request's breakpoints, checked as the API checks them."""
    digest = hashlib.sha256(str(body.get("model")).encode())
    size = 0
    found: list[Breakpoint] = []
    for piece, cache_control in _pieces(body):
        data = orjson.dumps(piece, option=orjson.OPT_SORT_KEYS)
        digest.update(len(data).to_bytes(8, "big") + data)
        size += len(data)
        if cache_control is None:
            continue
        ttl = cache_control.get("ttl", "5m") if isinstance(cache_control, dict) else None
        if ttl not in TTL_SECONDS:
            return ApiError(400, "invalid_request_error", "cache_control.ttl: must be '5m' or '1h'")
        if ttl == "1h" and any(b.ttl == "5m" for b in found):
            return ApiError(
                400,
                "invalid_request_error",
                "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control "
                "block (blocks are processed in the order tools, system, messages)",
            )
        tokens = min(total_tokens, (size + 3) // 4)
        found.append(Breakpoint(digest.copy().hexdigest(), tokens, ttl))
    if len(found) > MAX_BREAKPOINTS:
        return ApiError(
            400,
            "invalid_request_error",
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {len(found)}.",
        )
    return found


class PromptCache:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def use(self, points: list[Breakpoint], total_tokens: int) -> tuple[int, dict[str, Any]]:
        """(uncached input tokens, the usage cache fields); reads and writes the cache."""
        now = self._clock.now()
        with self._lock:
            hit = max(
                (i for i, p in enumerate(points) if self._expiry.get(p.key, 0.0) > now),
                default=-1,
            )
            for point in points:
                expires = now + TTL_SECONDS[point.ttl]
                self._expiry[point.key] = max(self._expiry.get(point.key, 0.0), expires)
        read = points[hit].tokens if hit >= 0 else 0
        created = {"5m": 0, "1h": 0}
        previous = read
        for point in points[hit + 1 :]:
            created[point.ttl] += point.tokens - previous
            previous = point.tokens
        fields = {
            "cache_creation_input_tokens": created["5m"] + created["1h"],
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": created["5m"],
                "ephemeral_1h_input_tokens": created["1h"],
            },
        }
        return total_tokens - points[-1].tokens, fields

    def clear(self) -> None:
        with self._lock:
            self._expiry.clear()
