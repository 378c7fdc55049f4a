"""The mutable state of one fake server, shared between its loop and the test thread.

The reply queue and the request log are touched from both sides (a test thread
queues replies while the server thread pops them), so both sit behind a lock.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._blocks import text_block
from ._catalog import Catalog
from ._ratelimit import RateLimit, RateLimitState
from ._render import Content
from ._reply import Reply

MASK = "***"
_ECHO_CACHE_SIZE = 64


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it, with credentials masked."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    json: Any  # the parsed body; None when absent or not JSON
    query: dict[str, str] = field(default_factory=dict)


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased headers with the API key and bearer token replaced by ``***``."""
    masked: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key == "x-api-key":
            value = MASK
        elif key in ("authorization", "proxy-authorization"):
            scheme, _, _secret = value.partition(" ")
            value = f"{scheme} {MASK}" if _secret else MASK
        masked[key] = f"{masked[key]}, {value}" if key in masked else value
    return masked


@dataclass(frozen=True)
class Settings:
    api_key: str | None
    require_auth: bool
    ratelimit: RateLimit | None
    default_reply: Reply
    delta_text: str
    record: bool


class ServerState:
    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.settings = settings
        self.closing = asyncio.Event()  # replaced by a fresh one at each start
        self.catalog = catalog
        self.ratelimit = RateLimitState(settings.ratelimit) if settings.ratelimit else None
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._request_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._echo_cache: OrderedDict[str, Content] = OrderedDict()
        self._deltas_cache: OrderedDict[tuple[int, str], Content] = OrderedDict()

    # -- ids: deterministic per server, shaped like the real ones --------------------

    def next_request_id(self) -> str:
        return f"req_fake{next(self._request_ids):016d}"

    def next_message_id(self) -> str:
        return f"msg_fake{next(self._message_ids):016d}"

    # -- queue and log ---------------------------------------------------------------

    def queue(self, replies: tuple[Reply, ...]) -> None:
        with self._lock:
            self._queue.extend(replies)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def pop_reply(self) -> Reply | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def record(self, entry: RecordedRequest) -> None:
        if self.settings.record:
            with self._lock:
                self._requests.append(entry)

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    # -- cached default content: rendering 50,000 deltas once, not per request --------

    def echo_content(self, text: str) -> Content:
        return _cached(self._echo_cache, text, lambda: Content((text_block(text),)))

    def deltas_content(self, count: int, text: str) -> Content:
        return _cached(
            self._deltas_cache,
            (count, text),
            lambda: Content((text_block(deltas=[text] * count),)),
        )


def _cached(cache: OrderedDict[Any, Content], key: Any, build: Callable[[], Content]) -> Content:
    """A small LRU: repeated identical default replies reuse their rendered bytes."""
    content = cache.get(key)
    if content is None:
        content = build()
        cache[key] = content
        if len(cache) > _ECHO_CACHE_SIZE:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return content
