"""Ready handlers that relay a Claude stream to a browser as server-sent events.

Each takes what ``client.messages.stream(...)`` returns (or an open
``MessageStream``) and answers with ``rawclaude.relay``'s events, the headers a
``text/event-stream`` response needs behind a proxy, and the upstream stream
closed as soon as the browser goes away::

    # aiohttp.web
    async def chat(request):
        return await rawclaude.web.sse_response(request, client.messages.stream(...))

    # Starlette / FastAPI
    @app.get("/chat")
    async def chat(q: str):
        return rawclaude.web.SSEResponse(client.messages.stream(...))

    # any ASGI framework or server: an ASGI application for one response
    app = rawclaude.web.SSEApp(client.messages.stream(...))

Each handler imports its framework on first use only. They import the relay and
the stream from their modules, not from ``rawclaude`` itself: the root package
names the agents' helpers too, and web and agents are independent layer-3 siblings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._headers import SSE_HEADERS

if TYPE_CHECKING:
    from ._aiohttp import sse_response
    from ._asgi import SSEApp
    from ._starlette import SSEResponse

__all__ = ["SSE_HEADERS", "SSEApp", "SSEResponse", "sse_response"]

_LAZY = {"sse_response": "._aiohttp", "SSEApp": "._asgi", "SSEResponse": "._starlette"}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value
    return value
