"""Tokens of one call by billing category (layer 0, pure): what pricing starts from.

``usage.input_tokens`` is the *uncached* input only; cache writes are
``cache_creation_input_tokens``, split by lifetime in ``cache_creation``
(unattributed writes count as 5-minute ones, the API's default); cache reads
are ``cache_read_input_tokens``. Each token is in exactly one category.
:mod:`rawclaude.policy.cost` prices them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from .models import Usage

__all__ = ["TokenUsage", "call_tokens", "token_usage"]


class TokenUsage(msgspec.Struct, frozen=True, gc=False):
    """Tokens of one call by billing category (each token in exactly one)."""

    input: int = 0
    output: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0
    inference_geo: str | None = None
    speed: str | None = None
    service_tier: str | None = None

    @property
    def prompt(self) -> int:
        """Every prompt token: uncached input, cache writes and cache reads."""
        return self.input + self.cache_write_5m + self.cache_write_1h + self.cache_read

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h


def token_usage(usage: Any) -> TokenUsage:
    """Tokens by category from a ``Usage`` struct, a usage dict or a :class:`TokenUsage`."""
    if isinstance(usage, TokenUsage):
        return usage
    if type(usage) is Usage:
        return _from_struct(usage)
    get = usage.get if isinstance(usage, dict | Mapping) else _attr_getter(usage)
    total_write = _count(get("cache_creation_input_tokens"))
    split = get("cache_creation")
    if split is not None:
        split_get = split.get if isinstance(split, Mapping) else _attr_getter(split)
        five = _count(split_get("ephemeral_5m_input_tokens"))
        hour = _count(split_get("ephemeral_1h_input_tokens"))
        five += max(0, total_write - five - hour)  # unattributed: the default 5 minutes
    else:
        five, hour = total_write, 0
    return TokenUsage(
        input=_count(get("input_tokens")),
        output=_count(get("output_tokens")),
        cache_write_5m=five,
        cache_write_1h=hour,
        cache_read=_count(get("cache_read_input_tokens")),
        inference_geo=_text(get("inference_geo")),
        speed=_text(get("speed")),
        service_tier=_text(get("service_tier")),
    )


def call_tokens(usage: Usage | None) -> TokenUsage | None:
    """:func:`token_usage` of a call's decoded usage, remembered for the last one.

    A call's end is read by several observers in a row (the budget guard, the
    meter, the log), each asking for the same usage's tokens: they get one
    TokenUsage. Only for usage the client decoded and no one changes (the
    stream accumulator replaces its usage, never updates it).
    """
    if usage is None:
        return None
    last = _LAST[0]
    if last[0] is usage:
        return last[1]
    tokens = token_usage(usage)
    _LAST[0] = (usage, tokens)
    return tokens


#: The last (usage, tokens): replaced whole, so threads may share it.
_LAST: list[tuple[Any, TokenUsage | None]] = [(None, None)]


def _from_struct(usage: Usage) -> TokenUsage:
    # The typed response's fast path: plain attribute reads, no per-field lookups.
    total_write = usage.cache_creation_input_tokens or 0
    split = usage.cache_creation
    if split is not None:
        five, hour = split.ephemeral_5m_input_tokens, split.ephemeral_1h_input_tokens
        five += max(0, total_write - five - hour)
    else:
        five, hour = total_write, 0
    # Decoded fields are typed (str or None); speed may be UNSET (not sent).
    speed = usage.speed
    return TokenUsage(
        usage.input_tokens,
        usage.output_tokens,
        five,
        hour,
        usage.cache_read_input_tokens or 0,
        usage.inference_geo,
        speed if type(speed) is str else None,
        usage.service_tier,
    )


def _attr_getter(obj: Any) -> Any:
    return lambda name: getattr(obj, name, None)


def _count(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return 0


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
