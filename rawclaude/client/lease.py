"""The stream lease: one object owns a streaming response and every admission
ticket of its attempt, and releases them exactly once, whatever the caller does.

The ways a stream ends, and what each releases:

============  =======================================  ==========================
end           how                                      the connection
============  =======================================  ==========================
complete      read to ``message_stop`` (and drained)   back to the pool
closed        ``close()``, ``async with`` exit, break  closed (not reused half-read)
              out of an iterator inside ``async with``
error         a failure while reading, cancellation    closed
abandoned     dropped without close: collected         closed; ``ResourceWarning``
============  =======================================  ==========================

Nothing in a lease refers back to the stream object that reads it, so dropping
the stream drops the lease at once (no reference cycle waits for the garbage
collector), and :meth:`StreamLease.__del__` releases what is still held.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .admission import Ticket, release_all
from .call import Outcome

if TYPE_CHECKING:
    import aiohttp

    from .pipeline import Tracker

__all__ = ["StreamLease"]

#: Called once when the lease of a call's final attempt ends: (outcome, end).
OnEnd = Callable[[Outcome, str], None]


class StreamLease:
    """A streaming response and its admission tickets, released once."""

    __slots__ = ("__weakref__", "_on_end", "_tickets", "released", "response", "tracker")

    def __init__(
        self, response: aiohttp.ClientResponse, tickets: Sequence[Ticket], tracker: Tracker
    ) -> None:
        self.response: aiohttp.ClientResponse | None = response
        self._tickets = tickets
        #: The call's running record (status, request id, usage so far, TTFT).
        self.tracker = tracker
        self._on_end: OnEnd | None = None
        self.released = False

    @property
    def request_id(self) -> str | None:
        return self.tracker.request_id

    def on_end(self, callback: OnEnd) -> None:
        """Report the end of this lease (set for the attempt that became the stream)."""
        self._on_end = callback

    def first_content(self) -> None:
        """Mark the arrival of the first content event (time to first token)."""
        tracker = self.tracker
        if tracker.ttft is None:
            tracker.ttft = time.perf_counter() - tracker.started

    def release(self, outcome: Outcome, end: str) -> None:
        """Give back the response and the tickets (idempotent, synchronous)."""
        if self.released:
            return
        self.released = True
        resp, self.response = self.response, None
        if resp is not None:
            if end == "complete":
                resp.release()
            else:
                resp.close()
        tickets, self._tickets = self._tickets, ()
        if tickets:
            release_all(tickets, outcome)
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end(outcome, end)

    def fail(self, error: BaseException) -> None:
        """Release after ``error`` ended the stream (or its attempt)."""
        tracker = self.tracker
        self.release(Outcome(status=tracker.status, usage=tracker.usage, error=error), "error")

    def __del__(self) -> None:
        if self.released:
            return
        warnings.warn(
            f"a rawclaude stream (request_id={self.tracker.request_id}) was never closed; "
            "use `async with client.messages.stream(...)` or `await stream.close()`",
            ResourceWarning,
            stacklevel=1,
        )
        tracker = self.tracker
        # What was generated counts: the last usage the stream reported.
        self.release(Outcome(status=tracker.status, usage=tracker.usage), "abandoned")
