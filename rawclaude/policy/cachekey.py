"""The response-cache key and what may be cached (layer 0, pure).

The key is the SHA-256 of the canonical request: the API version, the sorted
betas, an optional namespace (the base URL, say: two gateways may answer
differently) and the request body as JSON with every object's keys sorted,
so ``{"a": 1, "b": 2}`` and ``{"b": 2, "a": 1}`` are one entry. The model is
part of the body. Nothing secret goes in (no header but the betas).

"Deterministic" here means: the same request can be answered with the same
response without the caller losing anything they asked for. A model samples,
so no call is deterministic in the strict sense; caching is opt-in exactly so
that callers who accept a stored answer get one. What is never cached
(:func:`cacheable_request` says why):

* streams (a stream's value is its timing; ``allow_streams`` lifts this);
* under the legacy API version (``2023-06-01``), sampling the caller asked for:
  ``temperature`` absent (the default is 1.0) or above 0, or ``top_p`` / ``top_k``
  set; with ``temperature: 0`` the caller asked for the most likely answer;
* requests whose answer depends on the world or on state outside the request:
  server tools (web search, web fetch, code execution, MCP connectors...),
  a ``container`` to reuse, ``mcp_servers``.

And responses (:func:`cacheable_response`): only a finished answer
(``end_turn``, ``stop_sequence``, ``max_tokens``, ``tool_use``), never a
``pause_turn`` (a server tool's turn to be continued) or a ``refusal``; errors are
never cached (they never reach the cache: they raise).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from ..wire.headers import LEGACY_API_VERSION

__all__ = ["cache_key", "cacheable_request", "cacheable_response"]

# Tools the API runs itself (docs: "Server tools"); client tools (custom ones,
# bash, text editor, computer use, memory) run in the caller's code.
_SERVER_TOOL_PREFIXES = ("web_search", "web_fetch", "code_execution", "mcp", "tool_search")
_CACHEABLE_STOPS = frozenset(("end_turn", "stop_sequence", "max_tokens", "tool_use"))


def cache_key(
    api_version: str,
    body: Mapping[str, Any],
    *,
    betas: Iterable[str] = (),
    namespace: str = "",
) -> str:
    """The hex SHA-256 of the canonical request."""
    canonical = {
        "api_version": api_version,
        "betas": sorted(set(betas)),
        "namespace": namespace,
        "body": body,
    }
    data = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(data).hexdigest()


def cacheable_request(
    api_version: str, body: Mapping[str, Any], *, allow_streams: bool = False
) -> str | None:
    """None when a request may be answered from the cache, else the reason it may not."""
    if body.get("stream") and not allow_streams:
        return "a stream"
    if api_version == LEGACY_API_VERSION:
        temperature = body.get("temperature")
        if temperature is None or temperature > 0:
            return "sampling (temperature absent or above 0 under the legacy API version)"
        if body.get("top_p") is not None or body.get("top_k") is not None:
            return "sampling (top_p / top_k)"
    if body.get("container") is not None or body.get("mcp_servers"):
        return "state outside the request (container / mcp_servers)"
    for tool in body.get("tools") or ():
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        if isinstance(kind, str) and kind.startswith(_SERVER_TOOL_PREFIXES):
            return f"a server tool ({kind})"
    return None


def cacheable_response(stop_reason: str | None) -> bool:
    """Whether a response with this stop reason may be stored."""
    return stop_reason in _CACHEABLE_STOPS
