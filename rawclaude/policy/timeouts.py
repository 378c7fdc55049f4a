"""Timeouts as data (layer 0, pure): what each bounds, and how a per-call value
overrides a client's. ``rawclaude.io.transport`` maps them onto aiohttp.
"""

from __future__ import annotations

import math

import msgspec

from ..wire.errors import ConfigurationError

__all__ = ["Timeout", "coerce_timeout", "positive_seconds"]


class Timeout(msgspec.Struct, frozen=True, kw_only=True):
    """Timeouts in seconds; ``None`` switches one off.

    * ``connect``: establishing the TCP/TLS connection (default 5 s).
    * ``total``: a whole non-streaming call, response body included (default
      600 s: the API allows long generations).
    * ``stream_idle``: the longest time a stream may go without a byte
      (default 60 s; the API sends ``ping`` events while it thinks).
    """

    connect: float | None = 5.0
    total: float | None = 600.0
    stream_idle: float | None = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "total", "stream_idle"):
            value = getattr(self, name)
            if value is not None:
                positive_seconds(value, f"Timeout.{name} (None: no timeout)")

    def merge(self, override: Timeout | float | None, *, stream: bool) -> Timeout:
        """This (the client's) timeout overridden by a per-call value.

        A ``Timeout`` replaces it whole. A number sets the timeout that bounds
        the call: ``total`` for a non-streaming call, ``stream_idle`` for a
        stream (a stream has no total: it may rightly run for many minutes).
        """
        if override is None:
            return self
        if isinstance(override, Timeout):
            return override
        seconds = positive_seconds(override, "timeout")
        if stream:
            return msgspec.structs.replace(self, stream_idle=seconds)
        return msgspec.structs.replace(self, total=seconds)


def positive_seconds(value: object, what: str) -> float:
    # aiohttp reads 0 as "no timeout": refuse it rather than hang silently; and
    # an infinite one is spelled None.
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and value > 0 and math.isfinite(value):  # type: ignore[operator,arg-type]
        return float(value)  # type: ignore[arg-type]
    raise ConfigurationError(f"{what} must be a positive number of seconds, got {value!r}")


def coerce_timeout(value: Timeout | float | None) -> Timeout:
    """The client's ``timeout=`` argument: a Timeout, or seconds for ``total``."""
    if value is None:
        return Timeout()
    if isinstance(value, Timeout):
        return value
    return Timeout(total=positive_seconds(value, "timeout (or a rawclaude.Timeout)"))
