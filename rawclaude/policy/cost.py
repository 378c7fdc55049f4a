"""What a call cost (layer 0, pure): tokens by category times the model's prices.

How the API counts (docs: "Prompt caching", "Pricing"): ``usage.input_tokens``
is the *uncached* input only. Tokens written to the cache are in
``cache_creation_input_tokens`` and split by lifetime in
``cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens``
(a 1-hour write costs 2x base input, a 5-minute one 1.25x); tokens read from the
cache are in ``cache_read_input_tokens`` (0.1x or less). Each token is in
exactly one category, so nothing is billed twice. When a response has the
total but not the split (older responses), the whole total is a 5-minute write,
the API's default lifetime; when the split covers less than the total, the rest
is priced at 5 minutes too.

Multipliers stack: the Batch API discount (``batch=True``, or ``service_tier ==
"batch"`` in the usage, or a batch result) halves every category; US-only
inference (``usage.inference_geo == "us"``) costs 1.1x on models that take it;
fast mode (``usage.speed == "fast"``) its model's multiplier. A combination the
table has no price for is *unpriced*, never priced at the standard rate.

Amounts are exact :class:`~decimal.Decimal` USD; ``Cost.micro_usd`` rounds the
total up to a whole micro-dollar for integer ledgers (the budget).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from ..wire.errors import ConfigurationError, UnknownModelPriceError
from ..wire.models import Message, Usage
from .prices import ModelPrice, PriceTable, Rates

__all__ = ["Cost", "TokenUsage", "Unpriced", "cost", "token_usage", "try_cost"]

_MILLION = Decimal(1_000_000)
_ZERO = Decimal(0)
_ONE = Decimal(1)
_STANDARD_GEOS = frozenset(("", "global", "not_available"))


@dataclass(frozen=True, slots=True)
class TokenUsage:
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


@dataclass(frozen=True, slots=True)
class Cost:
    """A priced call: USD per category and the total (exact decimals)."""

    model: str
    priced_as: str
    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal
    total: Decimal
    tokens: TokenUsage
    batch: bool = False
    long_prompt: bool = False
    multiplier: Decimal = _ONE
    currency: str = "USD"
    priced: bool = True

    @property
    def micro_usd(self) -> int:
        """The total in whole micro-dollars, rounded up."""
        return int((self.total * _MILLION).to_integral_value(ROUND_CEILING))


@dataclass(frozen=True, slots=True)
class Unpriced:
    """A call that could not be priced: its tokens still count, its cost is unknown."""

    model: str | None
    reason: str
    tokens: TokenUsage
    batch: bool = False
    priced: bool = False


def cost(
    message_or_usage: Any,
    *,
    model: str | None = None,
    batch: bool = False,
    prices: PriceTable | None = None,
) -> Cost:
    """The cost of a call from its ``Message``, ``Usage``, JSON dict or batch result.

    ``model`` is needed with a bare usage (a message carries its own). Raises
    :class:`UnknownModelPriceError` when the model (or its geo / fast-mode
    combination) has no price.
    """
    result = try_cost(message_or_usage, model=model, batch=batch, prices=prices)
    if isinstance(result, Unpriced):
        raise UnknownModelPriceError(result.model or "<none>", result.reason)
    return result


def try_cost(
    message_or_usage: Any,
    *,
    model: str | None = None,
    batch: bool = False,
    prices: PriceTable | None = None,
) -> Cost | Unpriced:
    """Like :func:`cost`, but an unknown price is an :class:`Unpriced` result, not an error."""
    usage, found_model, in_batch = _unpack(message_or_usage)
    model = model or found_model
    tokens = token_usage(usage)
    batched = bool(batch) or in_batch or tokens.service_tier == "batch"
    if not model:
        return Unpriced(None, "no model given for a bare usage", tokens, batched)
    table = prices if prices is not None else PriceTable.default()
    # One call's usage is priced by several observers in a row (budget, meter,
    # log): the last answer is kept, keyed by equal tokens, model and table.
    memo = _LAST[0]
    if memo is not None and memo[1:4] == (model, table, batched) and memo[0] == tokens:
        return memo[4]
    result = _price(model, tokens, batched, table)
    _LAST[0] = (tokens, model, table, batched, result)
    return result


_LAST: list[tuple[TokenUsage, str, PriceTable, bool, Cost | Unpriced] | None] = [None]


def _price(model: str, tokens: TokenUsage, batched: bool, table: PriceTable) -> Cost | Unpriced:
    price = table.lookup(model)
    if price is None:
        return Unpriced(model, "not in the price table", tokens, batched)
    multiplier = _multiplier(price, tokens)
    if isinstance(multiplier, str):
        return Unpriced(model, multiplier, tokens, batched)
    return price_tokens(model, price, tokens, batch=batched, multiplier=multiplier)


def price_tokens(
    model: str, price: ModelPrice, tokens: TokenUsage, *, batch: bool, multiplier: Decimal
) -> Cost:
    """The cost of ``tokens`` at ``price`` (multipliers already resolved)."""
    rates, long = price.rates_for(tokens.prompt)
    factor = multiplier * (_ONE - price.batch_discount if batch else _ONE) / _MILLION
    parts = _parts(rates, tokens, factor)
    return Cost(
        model=model,
        priced_as=price.model,
        input=parts[0],
        output=parts[1],
        cache_write_5m=parts[2],
        cache_write_1h=parts[3],
        cache_read=parts[4],
        total=sum(parts, _ZERO),
        tokens=tokens,
        batch=batch,
        long_prompt=long,
        multiplier=multiplier,
    )


def _parts(rates: Rates, tokens: TokenUsage, factor: Decimal) -> tuple[Decimal, ...]:
    return (
        tokens.input * rates.input * factor,
        tokens.output * rates.output * factor,
        tokens.cache_write_5m * rates.cache_write_5m * factor,
        tokens.cache_write_1h * rates.cache_write_1h * factor,
        tokens.cache_read * rates.cache_read * factor,
    )


def _multiplier(price: ModelPrice, tokens: TokenUsage) -> Decimal | str:
    """Geo x fast-mode multiplier, or the reason there is no price for the combination."""
    multiplier = _ONE
    geo = tokens.inference_geo or ""
    if price.geo is not None and geo in price.geo:
        multiplier *= price.geo[geo]
    elif geo not in _STANDARD_GEOS:
        return f"no price for inference_geo {geo!r}"
    if tokens.speed not in (None, "", "standard"):
        if tokens.speed != "fast" or price.fast is None:
            return f"no price for speed {tokens.speed!r}"
        multiplier *= price.fast
    return multiplier


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


def _from_struct(usage: Usage) -> TokenUsage:
    # The typed response's fast path: plain attribute reads, no per-field lookups.
    total_write = usage.cache_creation_input_tokens or 0
    split = usage.cache_creation
    if split is not None:
        five, hour = split.ephemeral_5m_input_tokens, split.ephemeral_1h_input_tokens
        five += max(0, total_write - five - hour)
    else:
        five, hour = total_write, 0
    speed = getattr(usage, "speed", None)
    return TokenUsage(
        input=usage.input_tokens,
        output=usage.output_tokens,
        cache_write_5m=five,
        cache_write_1h=hour,
        cache_read=usage.cache_read_input_tokens or 0,
        inference_geo=_text(usage.inference_geo),
        speed=_text(speed),
        service_tier=_text(usage.service_tier),
    )


def _unpack(source: Any) -> tuple[Any, str | None, bool]:
    """(usage, model, is_batch_result) from a message, a batch result or a usage."""
    kind = type(source)
    if kind is Usage:
        return source, None, False
    if kind is Message:
        return source.usage, source.model, False
    if isinstance(source, TokenUsage):
        return source, None, False
    if isinstance(source, Mapping):
        result = source.get("result")
        if isinstance(result, Mapping) and "custom_id" in source:
            message = result.get("message")
            if result.get("type") != "succeeded" or not isinstance(message, Mapping):
                raise ConfigurationError(
                    f"a {result.get('type')!r} batch result has no usage to price"
                )
            return message.get("usage") or {}, _text(message.get("model")), True
        if "usage" in source:
            return source["usage"] or {}, _text(source.get("model")), False
        return source, None, False
    usage = getattr(source, "usage", None)
    if usage is not None:
        return usage, _text(getattr(source, "model", None)), False
    if hasattr(source, "input_tokens"):
        return source, None, False
    raise ConfigurationError(
        f"cost() takes a Message, a Usage, a JSON dict or a batch result, "
        f"not {type(source).__name__}"
    )


def _attr_getter(obj: Any) -> Any:
    return lambda name: getattr(obj, name, None)


def _count(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return 0


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
