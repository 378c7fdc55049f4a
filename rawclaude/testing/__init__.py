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
  ``POST /v1/messages/count_tokens``, ``GET /v1/models``, ``GET /v1/models/{id}``.
  Every API response has a ``request-id`` header (``req_...``) and error bodies
  a top-level ``request_id``; rate-limit headers when ``ratelimit=`` is given.

What it checks, in order
  ``x-api-key`` or ``Authorization: Bearer`` (401); ``anthropic-version`` (400,
  any value); a JSON object body (400); ``model``, ``max_tokens`` (Messages
  only) and a non-empty ``messages`` list (400).

The default reply
  The text of the last user message (a string, or its text blocks joined by a
  space; "OK" when it has none), streamed as word-sized ``text_delta`` pieces
  that concatenate back exactly. ``stop_reason`` "end_turn", ``model`` echoes
  the request, ids are ``msg_fake<counter>``. Usage: ``input_tokens`` is one
  token per 4 bytes of the canonical JSON of ``system`` + ``messages`` +
  ``tools`` (so count_tokens agrees); ``output_tokens`` is the number of delta
  events. Benchmarks can ask for another default per request with ``x-fake-*``
  headers (see ``rawclaude.testing._overrides``).

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
