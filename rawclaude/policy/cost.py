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

The observers that price every call (budget, meter, log) take the integer
path, :func:`cost_units`: the same exact cost in *units* of 1e-15 USD, from
rates scaled to whole units per token once per (table, model, multipliers).
Every shipped rate times every multiplier is a whole number of units; a user
rate finer than that is priced in decimals and rounded up to a unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from ..wire.errors import ConfigurationError, UnknownModelPriceError
from ..wire.models import Message, Usage
from ..wire.usage import TokenUsage, token_usage
from .prices import ModelPrice, PriceTable, Rates

__all__ = [
    "UNITS_PER_MICRO_USD",
    "UNITS_PER_USD",
    "Cost",
    "ScaledRates",
    "TokenUsage",
    "Unpriced",
    "cost",
    "cost_units",
    "format_units",
    "token_usage",
    "try_cost",
    "units_to_usd",
    "usage_source",
]

_MILLION = Decimal(1_000_000)
_ZERO = Decimal(0)
_ONE = Decimal(1)
_STANDARD_GEOS = frozenset(("", "global", "not_available"))


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
    usage, found_model, in_batch = usage_source(message_or_usage)
    model = model or found_model
    tokens = token_usage(usage)
    batched = bool(batch) or in_batch or tokens.service_tier == "batch"
    if not model:
        return Unpriced(None, "no model given for a bare usage", tokens, batched)
    table = prices if prices is not None else PriceTable.default()
    return _price(model, tokens, batched, table)


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


#: Cost units: 1e-15 USD (a micro-dollar is 10**9 of them).
UNITS_PER_USD = 10**15
UNITS_PER_MICRO_USD = 10**9
_UNITS = Decimal(UNITS_PER_USD)
_UNITS_PER_TOKEN = Decimal(UNITS_PER_MICRO_USD)  # at a rate of 1 USD per MTok
_MEMO_SIZE = 4096

_Scaled = tuple[int, int, int, int, int]


class ScaledRates:
    """One model's rates times a multiplier, as whole units (1e-15 USD) per token."""

    __slots__ = ("base", "batch", "long", "multiplier", "price", "threshold")

    def __init__(self, price: ModelPrice, multiplier: Decimal, *, batch: bool) -> None:
        self.price = price
        self.multiplier = multiplier
        self.batch = batch
        factor = multiplier * (_ONE - price.batch_discount if batch else _ONE) * _UNITS_PER_TOKEN
        self.base = _scaled(price.rates, factor)
        long = price.long_prompt
        self.threshold = -1 if long is None else long.threshold_tokens
        self.long = None if long is None else _scaled(long.rates, factor)

    def units(self, i: int, o: int, w5: int, w1: int, r: int) -> int:
        """The cost in units of input ``i``, output ``o``, cache writes ``w5`` / ``w1``
        and cache reads ``r``."""
        rates = self.base
        if self.threshold >= 0 and i + w5 + w1 + r > self.threshold:
            rates = self.long
        if rates is not None:
            return i * rates[0] + o * rates[1] + w5 * rates[2] + w1 * rates[3] + r * rates[4]
        # A user rate finer than a unit: priced in decimals, rounded up to a unit.
        tokens = TokenUsage(i, o, w5, w1, r)
        total = price_tokens(self.price.model, self.price, tokens, batch=self.batch,
                             multiplier=self.multiplier).total  # fmt: skip
        return int((total * _UNITS).to_integral_value(ROUND_CEILING))


def _scaled(rates: Rates, factor: Decimal) -> _Scaled | None:
    out = []
    for rate in (rates.input, rates.output, rates.cache_write_5m, rates.cache_write_1h,
                 rates.cache_read):  # fmt: skip
        value = rate * factor
        if value != value.to_integral_value():
            return None
        out.append(int(value))
    return (out[0], out[1], out[2], out[3], out[4])


def cost_units(
    tokens: TokenUsage,
    model: str | None,
    *,
    batch: bool = False,
    prices: PriceTable | None = None,
) -> int | None:
    """The exact cost of ``tokens`` in units (1e-15 USD), None when it has no price.

    The same amount as :func:`try_cost`'s total, in integers: the rates for a
    (model, batch, geo, speed) are scaled once and cached on the table.
    """
    if not model:
        return None
    table = prices if prices is not None else PriceTable.default()
    # One call's tokens are priced by several observers in a row (budget, meter, log).
    last = _LAST_UNITS[0]
    if last[0] is table and last[1] == model and last[2] is batch and last[3] == tokens:
        known: int | None = last[4]
        return known
    batched = batch or tokens.service_tier == "batch"
    key = (model, batched, tokens.inference_geo, tokens.speed)
    memo = table.derived
    scaled = memo.get(key, _MISSING)
    if scaled is _MISSING:
        scaled = _scaled_for(table, model, batched, tokens)
        if len(memo) >= _MEMO_SIZE:
            memo.clear()  # model ids come from callers: the memo stays bounded
        memo[key] = scaled
    units: int | None = None
    if scaled is not None:
        units = scaled.units(tokens.input, tokens.output, tokens.cache_write_5m,
                             tokens.cache_write_1h, tokens.cache_read)  # fmt: skip
    _LAST_UNITS[0] = (table, model, batch, tokens, units)
    return units


_MISSING: Any = object()
#: The last (table, model, batch, tokens, units) priced: replaced whole, so threads may share it.
_LAST_UNITS: list[tuple[Any, ...]] = [(None, None, None, None, None)]


def _scaled_for(
    table: PriceTable, model: str, batched: bool, tokens: TokenUsage
) -> ScaledRates | None:
    price = table.lookup(model)
    if price is None:
        return None
    multiplier = _multiplier(price, tokens)
    if isinstance(multiplier, str):
        return None
    return ScaledRates(price, multiplier, batch=batched)


def units_to_usd(units: int) -> Decimal:
    """Units (1e-15 USD) as exact USD."""
    return Decimal(units) / _UNITS


def format_units(units: int) -> str:
    """Units as a plain USD amount without trailing zeros (``"0.0042"``, ``"3"``)."""
    digits = str(units)  # a unit is 1e-15 USD: the point goes 15 digits from the right
    if len(digits) > 15:
        whole, frac = digits[:-15], digits[-15:].rstrip("0")
    else:
        whole, frac = "0", digits.rjust(15, "0").rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def usage_source(source: Any) -> tuple[Any, str | None, bool]:
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


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
