"""``FakeServer``: a local stand-in for the Claude API, on a real socket.

Two ways to run it::

    async with FakeServer() as server:      # in the running event loop
        ...
    with FakeServer() as server:            # in its own loop, on a daemon thread
        ...

Either way ``server.base_url`` is where to point a client, ``server.queue(...)``
scripts the next replies and ``server.requests`` lists what arrived.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

from ._app import make_app
from ._catalog import Catalog
from ._clock import Clock
from ._files import MAX_FILE_BYTES, STORAGE_QUOTA_BYTES
from ._ratelimit import RateLimit
from ._reply import Reply
from ._state import RecordedRequest, ServerState, Settings

# In-flight handlers normally end at once on shutdown (every wait watches the
# closing event); this only bounds a handler stuck elsewhere.
_SHUTDOWN_TIMEOUT = 2.0
_THREAD_START_TIMEOUT = 30.0


class FakeServer:
    """A fake Claude API on aiohttp.web. See the package docstring for the wire behaviour."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ratelimit: RateLimit | None = None,
        require_auth: bool = True,
        api_key: str | None = None,
        default_reply: Reply | None = None,
        delta_text: str = "hello ",
        models: Sequence[str | Mapping[str, Any]] | None = None,
        record: bool = True,
        check_tool_results: bool = True,
        batch_processing_seconds: float | None = 0.1,
        results_chunk_size: int | None = None,
        results_line_end: bytes = b"\n",
        results_seed: int | None = None,
        max_file_bytes: int = MAX_FILE_BYTES,
        storage_quota_bytes: int = STORAGE_QUOTA_BYTES,
        clock: Callable[[], float] | None = None,
    ) -> None:
        settings = Settings(
            api_key=api_key,
            require_auth=require_auth,
            ratelimit=ratelimit,
            default_reply=default_reply or Reply.echo(),
            delta_text=delta_text,
            record=record,
            check_tool_results=check_tool_results,
            batch_processing_seconds=batch_processing_seconds,
            max_file_bytes=max_file_bytes,
        )
        self._host = host
        self._port = port
        self._state = ServerState(settings, Catalog(models), Clock(clock), storage_quota_bytes)
        self.set_results_format(
            chunk_size=results_chunk_size, line_end=results_line_end, seed=results_seed
        )
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        # Never the expected api_key.
        where = self.base_url if self._bound_port is not None else "not started"
        return f"<FakeServer {where}>"

    # -- what tests use ----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._bound_port is None:
            raise RuntimeError("the FakeServer is not running")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._bound_port}"

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise RuntimeError("the FakeServer is not running")
        return self._bound_port

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, oldest first."""
        return self._state.requests()

    @property
    def pending(self) -> int:
        """How many queued replies are still waiting for a request."""
        return self._state.pending()

    def queue(self, *replies: Reply) -> None:
        """Script the next replies to ``POST /v1/messages``, consumed in order."""
        for reply in replies:
            if not isinstance(reply, Reply):
                raise TypeError(f"expected a Reply, got {type(reply).__name__}")
        self._state.queue(replies)

    def reset(self) -> None:
        """Forget queued replies, scripted batch results and recorded requests."""
        self._state.clear()

    # -- time ----------------------------------------------------------------------------

    def now(self) -> float:
        """The server clock (epoch seconds): wall time plus every ``advance_time``."""
        return self._state.clock.now()

    def advance_time(self, seconds: float) -> None:
        """Move the server clock forward: batch processing and expiry, cache TTLs."""
        self._state.clock.advance(seconds)

    # -- message batches -----------------------------------------------------------------

    def script_batch_result(
        self, custom_id: str, result: Reply | Literal["canceled", "expired"]
    ) -> None:
        """The outcome of the next batch request with this ``custom_id`` (used once).

        A message reply gives a ``succeeded`` result, ``Reply.error(...)`` an
        ``errored`` one carrying that error; "canceled" / "expired" as they say.
        """
        if isinstance(result, str) and result not in ("canceled", "expired"):
            raise ValueError('result must be a Reply, "canceled" or "expired"')
        if isinstance(result, Reply) and result.kind in ("raw", "hang"):
            raise ValueError("a batch result cannot be a raw or hanging reply")
        self._state.script_batch(custom_id, result)

    def end_batch(self, batch_id: str) -> None:
        """End a batch now: its unfinished requests finish (or are canceled, when canceling)."""
        self._state.batches.end(batch_id, self.now())

    @property
    def batches(self) -> list[dict[str, Any]]:
        """Every batch as ``GET /v1/messages/batches/{id}`` would show it, newest first."""
        base = self.base_url if self._bound_port is not None else ""
        return [batch.to_json(base) for batch in self._state.batches.all(self.now())]

    def set_results_format(
        self, *, chunk_size: int | None = None, line_end: bytes = b"\n", seed: int | None = None
    ) -> None:
        """How batch results are written: ``chunk_size`` bytes per HTTP chunk (None: one
        write), ``line_end`` after each line (b"\\n" or b"\\r\\n"), ``seed`` to shuffle."""
        if chunk_size is not None and chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        if line_end not in (b"\n", b"\r\n", b"\r"):
            raise ValueError("line_end must be one of LF, CRLF, CR")
        fmt = self._state.results_format
        fmt.chunk_size, fmt.line_end, fmt.seed = chunk_size, line_end, seed

    # -- files ---------------------------------------------------------------------------

    def add_file(
        self,
        data: bytes,
        *,
        filename: str = "file.bin",
        mime_type: str = "application/octet-stream",
        downloadable: bool = True,
    ) -> dict[str, Any]:
        """Store a file as a tool would have created it; returns its metadata (``["id"]``)."""
        added = self._state.files.add(
            bytes(data), filename, mime_type, downloadable=downloadable, now=self.now()
        )
        if not isinstance(added, dict):
            raise ValueError(added.message)
        return added

    def expire_file(self, file_id: str) -> None:
        """From now on, downloading this file answers 404 ``file_expired``."""
        self._state.files.expire(file_id)

    @property
    def files(self) -> list[dict[str, Any]]:
        """The metadata of every stored file, newest first."""
        return self._state.files.listing()

    # -- async form --------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the FakeServer is already running")
        app = make_app(self._state)
        runner = web.AppRunner(
            app,
            access_log=None,
            # A client that gives up cancels its handler, so hung and slow
            # replies do not pile up in a long benchmark run.
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._bound_port = _bound_port(runner)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._state.closing.set()  # wakes every delayed or hanging reply
        await runner.cleanup()
        self._bound_port = None

    async def __aenter__(self) -> FakeServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- threaded form -----------------------------------------------------------------

    def __enter__(self) -> FakeServer:
        if self._thread is not None:
            raise RuntimeError("the FakeServer is already running")
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._serve_in_thread, args=(started,), name="rawclaude-fake-server", daemon=True
        )
        self._thread.start()
        try:
            started.result(timeout=_THREAD_START_TIMEOUT)
        except BaseException:
            self._thread.join()
            self._thread = None
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = None

    def _serve_in_thread(self, started: concurrent.futures.Future[None]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                started.set_exception(exc)
                return
            started.set_result(None)
            loop.run_forever()  # until __exit__ stops it
            loop.run_until_complete(self.stop())
        finally:
            _close_loop(loop)
            self._loop = None


def _bound_port(runner: web.AppRunner) -> int:
    """The port the OS chose for port 0, read from the listening socket."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise RuntimeError("the fake server is not listening on a TCP socket")


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left, finish async generators, close: no warnings at exit."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())  # e.g. getaddrinfo threads
    loop.close()
