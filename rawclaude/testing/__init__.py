"""A fake Claude API server for your own tests and benchmarks.

It speaks the Messages API wire format closely enough that the official SDK
cannot tell it from the real API, on a real socket (127.0.0.1, a free port)::

    from rawclaude.testing import FakeServer, Reply

    async with FakeServer() as server:              # or: with FakeServer() as server:
        server.queue(Reply.text("Hi!"), Reply.error(529, headers={"retry-after": "0"}))
        client = Client(api_key="test", base_url=server.base_url)
        ...
        assert server.requests[0].json["model"] == "claude-sonnet-4-6"

With pytest, the ``claude_server`` fixture yields a running (threaded) server.
From a shell, ``python -m rawclaude.testing --port 8765`` (see ``--help``).

What it answers
  ``POST /v1/messages`` (JSON, or SSE when the body has ``"stream": true``),
  ``POST /v1/messages/count_tokens``, ``GET /v1/models`` (paged: ``limit``,
  ``after_id``, ``before_id``; ``FakeServer(models=[...])`` sets the catalog),
  ``GET /v1/models/{id}``.
  Message Batches: ``POST /v1/messages/batches``, ``GET /v1/messages/batches``
  (paged like models), ``GET|DELETE /v1/messages/batches/{id}``,
  ``POST .../{id}/cancel``, ``GET .../{id}/results`` (JSONL at ``results_url``).
  Files: ``POST /v1/files`` (multipart, streamed, ``max_file_bytes`` -> 413),
  ``GET /v1/files`` (``limit`` + ``after_id``/``before_id``, or ``page`` /
  ``next_page``), ``GET|DELETE /v1/files/{id}``, ``GET /v1/files/{id}/content``.
  Every API response has a ``request-id`` header (``req_...``) and error bodies
  a top-level ``request_id`` (and ``error.details.error_code`` for the Files
  errors ``file_not_downloadable``, ``file_expired``, ``storage_quota_exceeded``);
  rate-limit headers when ``ratelimit=`` is given.

What it checks, in order
  ``x-api-key`` or ``Authorization: Bearer`` (401); ``anthropic-version`` (400,
  any value); a JSON object body (400); ``model``, ``max_tokens`` (Messages
  only) and a non-empty ``messages`` list (400); each assistant ``tool_use``
  answered by a ``tool_result`` with its id at the start of the next user
  message (400 naming the id; ``check_tool_results=False`` turns it off); at
  most 4 ``cache_control`` breakpoints, no 1h one after a 5m one (400).

The default reply
  The text of the last user message (a string, or its text blocks joined by a
  space; "OK" when it has none), streamed as word-sized ``text_delta`` pieces
  that concatenate back exactly. ``stop_reason`` "end_turn", ``model`` echoes
  the request, ids are ``msg_fake<counter>``. With ``output_config.format``
  ``{"type": "json_schema", "schema": ...}`` it is instead the smallest JSON
  value valid under the schema. Usage: ``input_tokens`` is one
  token per 4 bytes of the canonical JSON of ``system`` + ``messages`` +
  ``tools`` (so count_tokens agrees); ``output_tokens`` is the number of delta
  events. Benchmarks can ask for another default per request with ``x-fake-*``
  headers (see ``rawclaude.testing._overrides``; those ignore ``max_tokens``).

Every message reply, scripted or default
  is cut to ``max_tokens`` deltas (``stop_reason`` "max_tokens"; a tool_use
  block that does not fit is left out). A request with ``cache_control``
  blocks gets ``cache_read_input_tokens`` for the longest prefix (tools, system,
  messages) seen within its TTL (5m, or ``"ttl": "1h"``),
  ``cache_creation_input_tokens`` and ``cache_creation`` for the rest up to the
  last breakpoint, and ``input_tokens`` for what follows it.

Scripting (besides ``server.queue(Reply...)``)
  ``Reply.tool_uses([(name, input), ...], text=None)`` several tool calls in
  one turn (``reply.tool_use_ids``); ``Reply.pause_turn(text=None)``;
  ``Reply.refusal(text=...)``.
  ``server.advance_time(seconds)`` / ``server.now()``: the clock behind batch
  processing and expiry (24 h) and cache TTLs (or ``FakeServer(clock=...)``).
  Batches finish evenly over ``FakeServer(batch_processing_seconds=0.1)`` of
  that clock (None: never by themselves); ``server.end_batch(id)`` ends one now;
  ``server.batches`` lists them as the API shows them. Results use the same
  reply logic as ``/v1/messages`` (echo by default);
  ``server.script_batch_result(custom_id, Reply.text(...) | Reply.error(...) |
  "canceled" | "expired")`` sets one (used once). A cancel turns the
  unfinished requests ``canceled``. ``server.set_results_format(chunk_size=7,
  line_end=b"\\r\\n", seed=1)`` (or ``FakeServer(results_chunk_size=...,
  results_line_end=..., results_seed=...)``) writes the JSONL in HTTP chunks
  of that size, with CRLF line ends, in a seeded shuffled order.
  ``server.add_file(data, filename=..., mime_type=..., downloadable=True)``
  stores a file as a tool would (returns its metadata); ``server.expire_file(id)``;
  ``server.files``; ``FakeServer(max_file_bytes=..., storage_quota_bytes=...)``.
  Uploads are recorded as ``{"file": {"filename", "mime_type", "size_bytes"}}``.

Only ``RateLimit``, ``Reply``, the block builders and ``RecordedRequest`` are
light to import; ``FakeServer`` (aiohttp.web) is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._blocks import text_block, thinking_block, tool_use_block
from ._ratelimit import RateLimit
from ._reply import Reply
from ._state import RecordedRequest

if TYPE_CHECKING:
    from ._server import FakeServer

__all__ = [
    "FakeServer",
    "RateLimit",
    "RecordedRequest",
    "Reply",
    "text_block",
    "thinking_block",
    "tool_use_block",
]


def __getattr__(name: str) -> Any:
    # aiohttp.web costs tens of milliseconds; the pytest plugin imports this
    # package at every pytest start, so the server module loads only when used.
    if name == "FakeServer":
        from ._server import FakeServer

        return FakeServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
