"""The one ``retry-after`` parser (layer 0, pure), used by the retry policy and
the rate-limit state alike, so the two can never disagree.

``retry-after-ms`` (milliseconds; sent by the API next to ``retry-after`` and
preferred by the official SDKs) wins when present; else ``retry-after``, which
per RFC 9110 section 10.2.3 is delay-seconds or an HTTP-date. Values that are
neither (a sign, ``nan``, ``inf``, ``1_000``) are ignored, never guessed at.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import timezone
from email.utils import parsedate_to_datetime

__all__ = ["parse_retry_after"]

_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+", re.ASCII)
_RETRY_AFTER = "retry-after"
_RETRY_AFTER_MS = "retry-after-ms"


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asked us to wait, or None; ``now`` is a Unix time."""
    ms = _parse_seconds(headers.get(_RETRY_AFTER_MS))
    if ms is not None:
        return ms / 1000.0
    value = headers.get(_RETRY_AFTER)
    if value is None:
        return None
    seconds = _parse_seconds(value)
    if seconds is not None:
        return seconds
    return _seconds_until_http_date(value, now)


def _parse_seconds(value: str | None) -> float | None:
    """RFC 9110 delay-seconds (we also accept a decimal fraction); never negative."""
    if value is None:
        return None
    value = value.strip()
    # Digits with an optional fraction, nothing else: float() alone would also
    # take signs, "nan", "inf", exponents and "1_000".
    if _SECONDS.fullmatch(value) is None:
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) else None


def _seconds_until_http_date(value: str, now: float) -> float | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with unknown local zone (RFC 5322)
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)
