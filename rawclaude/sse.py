"""Server-sent events: the sans-IO parser the streaming client runs on.

Usable on its own, for any ``text/event-stream`` body::

    parser = SSEParser()
    async for chunk in response.content.iter_any():
        for event in parser.feed(chunk):
            handle(event.event, event.data)
    parser.end()
"""

from .wire.errors import SSEError
from .wire.sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEParser

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "SSEError", "SSEParser", "ServerSentEvent"]
