"""The response headers of a relayed stream."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["SSE_HEADERS"]

#: ``cache-control: no-cache`` so no cache stores or merges the stream;
#: ``x-accel-buffering: no`` so nginx (and proxies that honour it) pass each
#: event on as it comes instead of buffering the response.
SSE_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
    }
)
