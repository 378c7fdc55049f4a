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

from ._batches import BatchStore
from ._blocks import text_block
from ._cache import PromptCache
from ._catalog import Catalog
from ._checks import check_message_fields
from ._clock import Clock
from ._compose import echo_text, resolve, usage_for, validate
from ._files import FileStore
from ._ratelimit import RateLimit, RateLimitState
from ._render import Content
from ._reply import Reply
from ._wire import error_object, message_object, usage_object

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
    check_tool_results: bool = True
    batch_processing_seconds: float | None = 0.1
    max_file_bytes: int = 500 * 1024 * 1024


@dataclass
class ResultsFormat:
    """How ``GET .../results`` writes its JSONL (mutable: tests change it mid-run)."""

    chunk_size: int | None = None  # None: one write
    line_end: bytes = b"\n"
    seed: int | None = None  # None: request order; else a shuffle seeded with it


# A batch outcome scripted for a custom_id: a reply, or a result type as is.
BatchScript = Reply | str


class ServerState:
    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        clock: Clock | None = None,
        quota_bytes: int = 500 * 1024**3,
    ) -> None:
        self.settings = settings
        self.closing = asyncio.Event()  # replaced by a fresh one at each start
        self.catalog = catalog
        self.clock = clock or Clock()
        self.prompt_cache = PromptCache(self.clock)
        self.batches = BatchStore(self.batch_result)
        self.files = FileStore(quota_bytes)
        self.results_format = ResultsFormat()
        self._batch_scripts: dict[str, BatchScript] = {}
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
            self._batch_scripts.clear()

    # -- batch results: the same answer the body would get from /v1/messages ----------

    def script_batch(self, custom_id: str, script: BatchScript) -> None:
        with self._lock:
            self._batch_scripts[custom_id] = script

    def batch_result(self, custom_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            script = self._batch_scripts.pop(custom_id, None)
        if isinstance(script, str):
            return {"type": script}
        # The API checks each request's params when it processes it: an errored result.
        points = check_message_fields(params, need_max_tokens=True) or validate(
            params, tool_results=self.settings.check_tool_results
        )
        if not isinstance(points, list):
            return _errored(points.error_type, points.message)
        reply = script or self.settings.default_reply
        if reply.kind == "error":
            return _errored(reply.error_type, reply.error_message)
        if reply.kind in ("raw", "hang"):
            return _errored("api_error", "Internal server error")
        echo = self.echo_content(echo_text(params)) if reply.kind == "echo" else None
        reply = resolve(reply, params, echo, cut=True)
        assert reply.content is not None
        rendered = reply.content.rendered()
        input_tokens, extra = usage_for(params, reply, points, self.prompt_cache)
        usage = usage_object(input_tokens, rendered.output_tokens, extra)
        message = message_object(
            self.next_message_id(), params["model"], rendered.content, rendered.stop_reason, usage
        )
        return {"type": "succeeded", "message": message}

    # -- cached default content: rendering 50,000 deltas once, not per request --------

    def echo_content(self, text: str) -> Content:
        return _cached(self._echo_cache, text, lambda: Content((text_block(text),)))

    def deltas_content(self, count: int, text: str) -> Content:
        return _cached(
            self._deltas_cache,
            (count, text),
            lambda: Content((text_block(deltas=[text] * count),)),
        )


def _errored(error_type: str, message: str) -> dict[str, Any]:
    """An ``errored`` batch result: its ``error`` is the API's error response object."""
    return {"type": "errored", "error": error_object(error_type, message)}


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
