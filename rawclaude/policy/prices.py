"""Prices per model (layer 0, pure): the table shipped with rawclaude, and yours on top.

The shipped table is ``rawclaude/policy/data/prices.json``: USD per million
tokens for base input, output, cache writes (5 minutes and 1 hour), cache reads,
plus the batch discount, with the date it was read (``as_of``) and its source
(the Claude pricing page and the model overview pages). Amounts are
:class:`~decimal.Decimal`, so totals never drift the way float sums do.

Prices change and new models appear, so the table is a value you can extend::

    prices = PriceTable.default().merge({
        "claude-sonnet-5-5": {"cache_read": "0.10"},        # override one rate
        "my-gateway-model": {"alias_of": "claude-opus-5-5"},  # price as another model
        "claude-next": {"input": "3", "output": "15", "cache_write_5m": "3.75",
                        "cache_write_1h": "6", "cache_read": "0.30"},
    })

Model ids resolve to their family entry: a dated id (``claude-opus-4-5-20251101``),
an alias (``claude-3-5-haiku-latest``), a context suffix (``claude-opus-5-5[1m]``),
Bedrock ids (``us.anthropic.claude-sonnet-4-6-v1:0``) and Vertex ids
(``claude-opus-4-5@20251101``) all find the same entry. No prefix guessing:
``claude-opus-4`` is Opus 4, never Opus 4.5. A model with no entry is unknown
(:class:`~rawclaude.UnknownModelPriceError` or an ``Unpriced`` result), never zero.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from importlib import resources
from types import MappingProxyType
from typing import Any

from ..wire.errors import ConfigurationError, UnknownModelPriceError

__all__ = [
    "LongPrompt",
    "ModelPrice",
    "PriceTable",
    "Rates",
    "normalize_model_id",
]

_RATE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
_ENTRY_FIELDS = frozenset(
    (*_RATE_FIELDS, "name", "source", "long_prompt", "geo", "fast", "batch_discount", "alias_of")
)
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens for each token category."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal


@dataclass(frozen=True, slots=True)
class LongPrompt:
    """Rates for a request whose prompt is over ``threshold_tokens`` (on every token of it)."""

    threshold_tokens: int
    rates: Rates


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """One model's prices.

    ``geo`` maps ``usage.inference_geo`` values to a multiplier (None: the model
    takes no ``inference_geo``); ``fast`` is the fast-mode multiplier (None: no
    known fast-mode price); ``batch_discount`` the fraction the Batch API takes off.
    """

    model: str
    rates: Rates
    name: str = ""
    long_prompt: LongPrompt | None = None
    geo: Mapping[str, Decimal] | None = None
    fast: Decimal | None = None
    batch_discount: Decimal = Decimal("0.5")
    source: str = ""

    def rates_for(self, prompt_tokens: int) -> tuple[Rates, bool]:
        """The rates for a request with ``prompt_tokens`` of prompt, and whether long-prompt."""
        long = self.long_prompt
        if long is not None and prompt_tokens > long.threshold_tokens:
            return long.rates, True
        return self.rates, False


# Bedrock: "[region.]anthropic.<id>-v1:0"; Vertex: "<id>@20251101"; the API's
# dated ids "<id>-20251101" and aliases "<id>-latest"; "[1m]" context suffixes.
_BRACKET = re.compile(r"\[[^\]]*\]$")
_BEDROCK_PREFIX = re.compile(r"^(?:[a-z]{2,6}\.)?anthropic\.")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_VERTEX_VERSION = re.compile(r"@(?:\d{8}|latest|default)$")
_DATED = re.compile(r"-(?:\d{8}|latest)$")


def normalize_model_id(model: str) -> str:
    """The family id of a model id: provider prefixes, versions, dates and suffixes removed."""
    text = model.strip().lower()
    text = _BRACKET.sub("", text)
    text = _BEDROCK_PREFIX.sub("", text)
    text = _BEDROCK_VERSION.sub("", text)
    text = _VERTEX_VERSION.sub("", text)
    return _DATED.sub("", text)


class PriceTable(Mapping[str, ModelPrice]):
    """Model prices by family id; ``table[model]`` resolves any form of a model id.

    ``table[model]`` raises :class:`UnknownModelPriceError`; ``table.lookup(model)``
    returns None. ``merge`` returns a new table (a table never changes, so one
    can be shared by every client and thread).
    """

    def __init__(
        self,
        models: Mapping[str, ModelPrice],
        *,
        aliases: Mapping[str, str] | None = None,
        as_of: str = "",
        source: str = "",
    ) -> None:
        self._models = MappingProxyType(dict(models))
        self._aliases = MappingProxyType(dict(aliases or {}))
        self.as_of = as_of
        self.source = source
        for alias, target in self._aliases.items():
            if target not in self._models:
                raise ConfigurationError(f"prices: alias {alias!r} points to unknown {target!r}")
        self._resolve_cached = functools.lru_cache(maxsize=256)(self._resolve)
        #: Data derived from this table and cached against it (cost.py's rates
        #: in integer units); a table never changes, so it never goes stale.
        self.derived: dict[Any, Any] = {}

    @classmethod
    def default(cls) -> PriceTable:
        """The table shipped with rawclaude (read once per process)."""
        return _default_table()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PriceTable:
        """A table from the JSON layout of the shipped file (``models``, ``batch_discount``...)."""
        discount = _decimal("batch_discount", data.get("batch_discount", "0.5"))
        empty = cls({}, as_of=str(data.get("as_of", "")), source=str(data.get("source", "")))
        return empty._merged(_mapping("models", data.get("models", {})), discount)

    def merge(self, entries: Mapping[str, Mapping[str, Any] | ModelPrice]) -> PriceTable:
        """A new table: ``entries`` added, or laid over existing entries field by field.

        An entry is a :class:`ModelPrice`, or a mapping with the rate fields
        (``input``, ``output``, ``cache_write_5m``, ``cache_write_1h``,
        ``cache_read``; strings or numbers, USD per MTok) and optionally ``name``,
        ``long_prompt``, ``geo``, ``fast``, ``batch_discount``; or ``{"alias_of":
        "<model>"}`` to price a model id as another. A new model needs all five
        rates; an existing one may override some.
        """
        return self._merged(_mapping("entries", entries), None)

    def _merged(self, entries: Mapping[str, Any], discount: Decimal | None) -> PriceTable:
        models = dict(self._models)
        aliases = dict(self._aliases)
        for raw_key, entry in entries.items():
            key = _model_key(raw_key)
            if isinstance(entry, ModelPrice):
                models[key] = replace(entry, model=key)
                aliases.pop(key, None)
                continue
            entry = _mapping(f"prices[{raw_key!r}]", entry)
            if "alias_of" in entry:
                aliases[key] = self._alias_target(raw_key, entry, models, aliases)
                models.pop(key, None)
                continue
            base = models.get(key) or models.get(aliases.get(key, ""))
            models[key] = _entry(key, entry, base, discount)
            aliases.pop(key, None)
        return PriceTable(models, aliases=aliases, as_of=self.as_of, source=self.source)

    @staticmethod
    def _alias_target(
        raw_key: str,
        entry: Mapping[str, Any],
        models: Mapping[str, ModelPrice],
        aliases: Mapping[str, str],
    ) -> str:
        if set(entry) - {"alias_of"}:
            raise ConfigurationError(f"prices[{raw_key!r}]: alias_of takes no other fields")
        wanted = _model_key(entry["alias_of"])
        target = None
        for candidate in (wanted, normalize_model_id(wanted)):
            candidate = aliases.get(candidate, candidate)
            if candidate in models:
                target = candidate
                break
        if target is None:
            raise ConfigurationError(
                f"prices[{raw_key!r}]: alias_of {entry['alias_of']!r} is not in the table"
            )
        return target

    def resolve(self, model: str) -> str | None:
        """The entry a model id is priced by, or None when there is none."""
        if not isinstance(model, str):
            return None
        return self._resolve_cached(model)

    def _resolve(self, model: str) -> str | None:
        for candidate in (model.strip().lower(), normalize_model_id(model)):
            if candidate in self._models:
                return candidate
            target = self._aliases.get(candidate)
            if target is not None:
                return target
        return None

    def lookup(self, model: str) -> ModelPrice | None:
        key = self.resolve(model)
        return None if key is None else self._models[key]

    def __getitem__(self, model: str) -> ModelPrice:
        price = self.lookup(model)
        if price is None:
            raise UnknownModelPriceError(str(model))
        return price

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.resolve(model) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    @property
    def aliases(self) -> Mapping[str, str]:
        return self._aliases

    def __repr__(self) -> str:
        return f"PriceTable({len(self._models)} models, as_of={self.as_of!r})"


@functools.lru_cache(maxsize=1)
def _default_table() -> PriceTable:
    text = resources.files(__package__).joinpath("data/prices.json").read_text("utf-8")
    return PriceTable.from_mapping(json.loads(text))


def _entry(
    key: str, entry: Mapping[str, Any], base: ModelPrice | None, discount: Decimal | None
) -> ModelPrice:
    unknown = set(entry) - _ENTRY_FIELDS
    if unknown:
        raise ConfigurationError(f"prices[{key!r}]: unknown fields {sorted(unknown)}")
    where = f"prices[{key!r}]"
    rates = _rates(where, entry, base.rates if base else None)
    price = base or ModelPrice(model=key, rates=rates)
    changes: dict[str, Any] = {"model": key, "rates": rates}
    if "name" in entry:
        changes["name"] = str(entry["name"])
    if "source" in entry:
        changes["source"] = str(entry["source"])
    if "long_prompt" in entry:
        changes["long_prompt"] = _long_prompt(f"{where}.long_prompt", entry["long_prompt"])
    if "geo" in entry:
        changes["geo"] = _geo(f"{where}.geo", entry["geo"])
    if "fast" in entry:
        changes["fast"] = (
            None if entry["fast"] is None else _decimal(f"{where}.fast", entry["fast"])
        )
    if "batch_discount" in entry:
        changes["batch_discount"] = _fraction(f"{where}.batch_discount", entry["batch_discount"])
    elif discount is not None and base is None:
        changes["batch_discount"] = _fraction("batch_discount", discount)
    return replace(price, **changes)


def _rates(where: str, entry: Mapping[str, Any], base: Rates | None) -> Rates:
    values: dict[str, Decimal] = {}
    for name in _RATE_FIELDS:
        if name in entry:
            values[name] = _decimal(f"{where}.{name}", entry[name])
        elif base is not None:
            values[name] = getattr(base, name)
        else:
            raise ConfigurationError(f"{where}: a new model needs {name!r} (USD per MTok)")
    return Rates(**values)


def _long_prompt(where: str, value: Any) -> LongPrompt | None:
    if value is None:
        return None
    value = _mapping(where, value)
    threshold = value.get("threshold_tokens")
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold <= 0:
        raise ConfigurationError(f"{where}.threshold_tokens must be a positive int")
    extra = set(value) - {*_RATE_FIELDS, "threshold_tokens"}
    if extra:
        raise ConfigurationError(f"{where}: unknown fields {sorted(extra)}")
    return LongPrompt(threshold, _rates(where, value, None))


def _geo(where: str, value: Any) -> Mapping[str, Decimal] | None:
    if value is None:
        return None
    geo = {str(k): _decimal(f"{where}[{k!r}]", v) for k, v in _mapping(where, value).items()}
    return MappingProxyType(geo)


def _decimal(where: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ConfigurationError(f"{where} must be a number or a decimal string, got {value!r}")
    try:
        # str() first: Decimal(0.1) would keep the float's binary error.
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ConfigurationError(f"{where} must be a decimal number, got {value!r}") from None
    if not number.is_finite() or number < 0:
        raise ConfigurationError(f"{where} must be a finite number >= 0, got {value!r}")
    return number


def _fraction(where: str, value: Any) -> Decimal:
    number = _decimal(where, value)
    if number > _ONE:
        raise ConfigurationError(f"{where} is a fraction between 0 and 1, got {value!r}")
    return number


def _mapping(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _model_key(model: Any) -> str:
    if not isinstance(model, str) or not model.strip():
        raise ConfigurationError(f"a price table key must be a model id string, got {model!r}")
    return model.strip().lower()
