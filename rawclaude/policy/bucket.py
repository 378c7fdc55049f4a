"""Token-bucket arithmetic (layer 0, pure): no clock, no loop, tables for tests.

``rawclaude.io.limiter`` decides *when* to call these; they decide *how much*.
"""

from __future__ import annotations

import math

from ..wire.errors import ConfigurationError

__all__ = [
    "check_amount",
    "full_at",
    "grant_delay",
    "non_negative",
    "positive",
    "time_until",
    "tokens_at",
]

# Float slack when comparing token counts: a timer set for exactly the moment
# N tokens are there must not find 0.9999999 of the last one and sleep again.
_EPSILON = 1e-9


def tokens_at(full_at: float, now: float, rate: float, capacity: float) -> float:
    """Tokens in a bucket that is full at ``full_at``, at time ``now``.

    A bucket's state is one time: when it is (or was) full again. Before then
    it lacks ``(full_at - now) * rate`` tokens; from then on it holds
    ``capacity``. Taking ``n`` tokens moves ``full_at`` ``n / rate`` later (from
    ``now`` at the earliest); giving ``n`` back moves it ``n / rate`` earlier,
    and the cap needs no arithmetic: a ``full_at`` in the past is full.
    """
    return capacity - (full_at - now) * rate if full_at > now else capacity


def full_at(tokens: float, now: float, rate: float, capacity: float) -> float:
    """When a bucket holding ``tokens`` at ``now`` is full: the inverse of :func:`tokens_at`."""
    return now + (capacity - tokens) / rate


def time_until(tokens: float, amount: float, rate: float) -> float:
    """Seconds of refill before ``amount`` tokens are there (0.0 if they already are)."""
    deficit = amount - tokens
    if deficit <= _EPSILON * max(1.0, amount):
        return 0.0
    return deficit / rate


def grant_delay(tokens: float, amount: float, rate: float, paused_for: float) -> float:
    """Seconds before ``amount`` can be granted: the pause or the refill, whichever ends last.

    Tokens keep refilling during a pause; a pause only holds back grants.
    """
    return max(0.0, paused_for, time_until(tokens, amount, rate))


def check_amount(amount: float, capacity: float) -> float:
    """A valid request size for a bucket of ``capacity``, else ``ValueError`` at once."""
    amount = non_negative("amount", amount)
    if amount > capacity:
        raise ValueError(
            f"cannot acquire {amount:g} tokens from a bucket of capacity "
            f"{capacity:g}: it would never be granted"
        )
    return amount


def positive(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def non_negative(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)
