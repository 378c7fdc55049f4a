"""The one race every handler runs: the body writer against the disconnect watcher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Coroutine
from typing import Any

from ..client.stream import MessageStream

__all__ = ["close_all", "first_of"]


async def first_of(writer: Coroutine[Any, Any, None], watcher: Coroutine[Any, Any, None]) -> None:
    """Run the body writer and the disconnect watcher; the first to end stops the other.

    Raises what the writer raised (the watcher only ever returns).
    """
    tasks = [asyncio.ensure_future(writer), asyncio.ensure_future(watcher)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    write = tasks[0]
    if not write.cancelled() and write.exception() is not None:
        raise write.exception()  # type: ignore[misc]


async def close_all(chunks: AsyncGenerator[bytes, None], stream: object) -> None:
    """Close the relay and the upstream stream (it may never have been iterated)."""
    await chunks.aclose()
    if isinstance(stream, MessageStream):
        await stream.close()
