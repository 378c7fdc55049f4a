"""The fake server's clock: wall time plus an offset tests can advance.

Everything time-driven in the fake (batch processing and expiry, prompt-cache
TTLs, file timestamps) reads this clock, so ``server.advance_time(300)`` moves
all of it at once and a test never sleeps through a five-minute TTL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Clock:
    def __init__(self, source: Callable[[], float] | None = None) -> None:
        self._source = source or time.time
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._source() + self._offset

    def advance(self, seconds: float) -> None:
        if not seconds >= 0:  # also refuses NaN
            raise ValueError("time only moves forward: seconds must be >= 0")
        with self._lock:
            self._offset += seconds
