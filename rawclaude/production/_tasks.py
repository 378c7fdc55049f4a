"""Background work started from a synchronous ``release`` (a ticket may be released
in a finalizer): kept referenced until done, failures logged, awaitable at close."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("rawclaude")


class Background:
    def __init__(self, what: str) -> None:
        self.what = what
        self.tasks: set[asyncio.Future[Any]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    def bind(self) -> None:
        if self.loop is None:
            self.loop = asyncio.get_running_loop()

    def start(self, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            self._track(loop.create_task(coro))
        elif self.loop is not None and not self.loop.is_closed():
            # Released outside the loop (a finalizer in another thread): hand it over.
            self.loop.call_soon_threadsafe(lambda: self._track(asyncio.ensure_future(coro)))
        else:
            coro.close()
            log.warning("rawclaude: %s lost: no event loop to run it", self.what)

    def _track(self, task: asyncio.Future[Any]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("rawclaude: %s failed: %r", self.what, task.exception())

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
