"""Price table and cost: table tests against figures computed by hand."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources
from typing import Any

import msgspec
import pytest

from rawclaude.policy.cost import Cost, TokenUsage, Unpriced, cost, token_usage, try_cost
from rawclaude.policy.prices import ModelPrice, PriceTable, Rates, normalize_model_id
from rawclaude.wire.errors import ConfigurationError, UnknownModelPriceError
from rawclaude.wire.models import Message, Usage

D = Decimal


def usage(**fields: Any) -> dict[str, Any]:
    return {"input_tokens": 0, "output_tokens": 0, **fields}


def test_shipped_table_has_date_source_and_every_rate() -> None:
    raw = json.loads(
        resources.files("rawclaude.policy").joinpath("data/prices.json").read_text("utf-8")
    )
    assert raw["as_of"] == "2026-12-01" and "platform.claude.com" in raw["source"]
    table = PriceTable.default()
    assert table.as_of == raw["as_of"] and len(table) == len(raw["models"])
    for key in table:
        rates = table[key].rates
        # The documented caching multipliers hold for every base rate in the table.
        assert rates.cache_write_1h == rates.input * 2, key
        if key == "claude-3-haiku":  # the pricing page lists $0.30 and $0.03 (rounded up)
            continue
        assert rates.cache_write_5m == rates.input * D("1.25"), key
        assert rates.cache_read <= rates.input * D("0.1"), key
        assert table[key].batch_discount == D("0.5")


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("claude-opus-4-5-20251101", "claude-opus-4-5"),
        ("claude-opus-4-5", "claude-opus-4-5"),
        ("claude-opus-4", "claude-opus-4"),  # never Opus 4.5 by prefix
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("claude-3-haiku-20240307", "claude-3-haiku"),
        ("claude-opus-5-5[1m]", "claude-opus-5-5"),
        ("Claude-Sonnet-4-6", "claude-sonnet-4-6"),
        ("us.anthropic.claude-sonnet-4-6-v1:0", "claude-sonnet-4-6"),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
        ("claude-opus-4-5@20251101", "claude-opus-4-5"),
        ("claude-opus-9", None),
        ("gpt-4o", None),
        ("", None),
    ],
)
def test_model_ids_resolve_to_their_family(model: str, key: str | None) -> None:
    assert PriceTable.default().resolve(model) == key
    assert (model in PriceTable.default()) is (key is not None)


def test_normalize_model_id() -> None:
    assert normalize_model_id(" eu.anthropic.claude-opus-4-1-20250805-v1:0 ") == "claude-opus-4-1"


# Opus 4.6: $5 input, $25 output, $6.25 5m write, $10 1h write, $0.50 read per MTok.
OPUS = "claude-opus-4-6"
CASES: list[tuple[str, dict[str, Any], bool, dict[str, str]]] = [
    (
        "split 5m and 1h writes",
        usage(
            input_tokens=1000,
            output_tokens=500,
            cache_creation_input_tokens=3000,
            cache_creation={"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
            cache_read_input_tokens=10000,
        ),
        False,
        {
            "input": "0.005",
            "output": "0.0125",
            "cache_write_5m": "0.00625",
            "cache_write_1h": "0.02",
            "cache_read": "0.005",
            "total": "0.04875",
        },
    ),
    (
        "the same in a batch: every category halved",
        usage(
            input_tokens=1000,
            output_tokens=500,
            cache_creation_input_tokens=3000,
            cache_creation={"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
            cache_read_input_tokens=10000,
        ),
        True,
        {"input": "0.0025", "cache_write_1h": "0.01", "total": "0.024375"},
    ),
    (
        "a total without split is all 5m",
        usage(
            input_tokens=1000,
            output_tokens=500,
            cache_creation_input_tokens=3000,
            cache_read_input_tokens=10000,
        ),
        False,
        {"cache_write_5m": "0.01875", "cache_write_1h": "0", "total": "0.04125"},
    ),
    (
        "the unattributed rest of a split is 5m",
        usage(
            input_tokens=1000,
            output_tokens=500,
            cache_creation_input_tokens=3000,
            cache_creation={"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 1000},
            cache_read_input_tokens=10000,
        ),
        False,
        {"cache_write_5m": "0.0125", "cache_write_1h": "0.01", "total": "0.045"},
    ),
    (
        "a split with no total (null) is taken as given",
        usage(
            input_tokens=0,
            output_tokens=0,
            cache_creation_input_tokens=None,
            cache_creation={"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 100},
        ),
        False,
        {"cache_write_1h": "0.001", "total": "0.001"},
    ),
    (
        "nulls and absent fields are zero",
        usage(
            input_tokens=10,
            output_tokens=1,
            cache_creation_input_tokens=None,
            cache_read_input_tokens=None,
        ),
        False,
        {"total": "0.000075"},
    ),
]


@pytest.mark.parametrize(("name", "raw", "batch", "expected"), CASES, ids=[c[0] for c in CASES])
def test_cost_by_hand(
    name: str, raw: dict[str, Any], batch: bool, expected: dict[str, str]
) -> None:
    result = cost(raw, model=OPUS, batch=batch)
    for field, value in expected.items():
        assert getattr(result, field) == D(value), field
    assert result.total == sum(
        (
            result.input,
            result.output,
            result.cache_write_5m,
            result.cache_write_1h,
            result.cache_read,
        ),
        D(0),
    )
    assert result.currency == "USD" and result.batch is batch and result.priced
    # The typed Usage struct gives the same answer as the JSON dict.
    struct = msgspec.convert(raw, Usage)
    assert cost(struct, model=OPUS, batch=batch) == result


def test_a_message_carries_its_model() -> None:
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-haiku-4-5-20251001",
        "stop_reason": "end_turn",
        "usage": usage(input_tokens=2000, output_tokens=400, cache_read_input_tokens=1000),
    }
    message = msgspec.json.decode(json.dumps(body), type=Message)
    result = cost(message)
    # Haiku 4.5: 2000 x $1 + 400 x $5 + 1000 x $0.10, per MTok.
    assert result.total == D("0.0041") and result.priced_as == "claude-haiku-4-5"
    assert result.model == "claude-haiku-4-5-20251001"
    assert cost(body) == result
    assert cost(message, model="claude-opus-4-6").priced_as == "claude-opus-4-6"  # override


def test_batch_results_and_batch_service_tier_get_the_discount() -> None:
    message = {"model": "claude-sonnet-4-6", "usage": usage(input_tokens=1000, output_tokens=1000)}
    line = {"custom_id": "a", "result": {"type": "succeeded", "message": message}}
    # Sonnet 4.6: (1000 x $3 + 1000 x $15) / MTok = 0.018; halved in a batch.
    assert cost(message).total == D("0.018")
    assert cost(line).total == D("0.009") and cost(line).batch
    tiered = {**message, "usage": {**message["usage"], "service_tier": "batch"}}
    assert cost(tiered).total == D("0.009")
    errored = {"custom_id": "b", "result": {"type": "errored", "error": {}}}
    with pytest.raises(ConfigurationError, match="errored"):
        cost(errored)


@pytest.mark.parametrize(
    ("prompt", "expected", "long"),
    [
        # Haiku 5.5 up to 100,000 prompt tokens: $0.10 in, $0.50 out, $0.01 read.
        ({"input_tokens": 80_000, "cache_read_input_tokens": 20_000}, "0.0087", False),
        # Over 100,000 (input + cache reads): every token at $0.50 / $2.50 / $0.05.
        ({"input_tokens": 90_000, "cache_read_input_tokens": 20_000}, "0.0485", True),
        # Cache writes count towards the threshold too: 60k + 50k 1h write.
        (
            {
                "input_tokens": 60_000,
                "cache_creation_input_tokens": 50_000,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": 0,
                    "ephemeral_1h_input_tokens": 50_000,
                },
            },
            "0.0825",  # 60k x 0.5 + 50k x 1.00 + 1k x 2.50, per MTok
            True,
        ),
    ],
)
def test_long_prompt_tier(prompt: dict[str, int], expected: str, long: bool) -> None:
    result = cost(usage(output_tokens=1000, **prompt), model="claude-haiku-5-5")
    assert result.total == D(expected) and result.long_prompt is long


def test_geo_and_fast_multipliers_and_unpriced_combinations() -> None:
    base = usage(input_tokens=1000, output_tokens=1000)
    us = cost({**base, "inference_geo": "us"}, model="claude-sonnet-4-6")
    assert us.total == D("0.0198") and us.multiplier == D("1.1")  # 0.018 x 1.1
    assert cost({**base, "inference_geo": "global"}, model="claude-sonnet-4-6").total == D("0.018")
    fast = cost(
        usage(input_tokens=1_000_000, output_tokens=1_000_000, speed="fast"),
        model="claude-opus-5-5",
    )
    assert fast.total == D("48")  # ($4 + $20) x 2
    # Haiku 4.5 takes no inference_geo; Sonnet 4.6 has no known fast-mode price.
    for raw, model in (
        ({**base, "inference_geo": "us"}, "claude-haiku-4-5"),
        ({**base, "speed": "fast"}, "claude-sonnet-4-6"),
        ({**base, "inference_geo": "eu"}, "claude-sonnet-4-6"),
    ):
        result = try_cost(raw, model=model)
        assert isinstance(result, Unpriced) and not result.priced
        assert result.tokens.input == 1000
        with pytest.raises(UnknownModelPriceError, match=model):
            cost(raw, model=model)


def test_unknown_model_is_reported_never_zero() -> None:
    raw = usage(input_tokens=5, output_tokens=5)
    result = try_cost(raw, model="claude-opus-9")
    assert isinstance(result, Unpriced) and result.reason == "not in the price table"
    with pytest.raises(UnknownModelPriceError) as info:
        cost(raw, model="claude-opus-9")
    assert info.value.model == "claude-opus-9" and isinstance(info.value, LookupError)
    assert "PriceTable.merge" in str(info.value)
    assert isinstance(try_cost(raw), Unpriced)  # a bare usage and no model
    with pytest.raises(ConfigurationError, match="int"):
        cost(42)


def test_merge_overrides_extends_and_aliases() -> None:
    table = PriceTable.default().merge(
        {
            "claude-sonnet-4-6": {"cache_read": "0.15"},
            "My-Gateway-Model": {"alias_of": "claude-opus-4-6-20260205"},
            "claude-next": {
                "input": 1,
                "output": "2",
                "cache_write_5m": "1.25",
                "cache_write_1h": 2,
                "cache_read": 0.1,
            },
        }
    )
    assert table["claude-sonnet-4-6"].rates.cache_read == D("0.15")
    assert table["claude-sonnet-4-6"].rates.input == D("3")  # the rest kept
    assert table.resolve("my-gateway-model") == "claude-opus-4-6"
    assert table["claude-next"].rates.cache_read == D("0.1")  # str(float), not binary 0.1
    assert cost(usage(input_tokens=10), model="claude-next", prices=table).total == D("0.00001")
    assert "claude-next" not in PriceTable.default()  # the default table is unchanged
    custom = ModelPrice(model="x", rates=Rates(D(1), D(1), D(1), D(1), D(1)))
    assert table.merge({"Mine": custom})["mine"].model == "mine"


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"input": "1"}, "needs 'output'"),
        (
            {"input": "-1", "output": 1, "cache_write_5m": 1, "cache_write_1h": 1, "cache_read": 1},
            ">= 0",
        ),
        (
            {
                "input": "nan",
                "output": 1,
                "cache_write_5m": 1,
                "cache_write_1h": 1,
                "cache_read": 1,
            },
            ">= 0",
        ),
        ({"input": True}, "number"),
        ({"inptu": 1}, "unknown fields"),
        ({"alias_of": "claude-opus-9"}, "not in the table"),
        ({"alias_of": "claude-opus-4-6", "input": 1}, "no other fields"),
        ("3 dollars", "mapping"),
    ],
)
def test_merge_rejects_bad_entries(entry: Any, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        PriceTable.default().merge({"new-model": entry})


def test_totals_do_not_drift_and_micro_usd_rounds_up() -> None:
    one = cost(usage(input_tokens=1), model="claude-3-haiku")  # $0.25 / MTok
    assert one.total == D("0.00000025") and one.micro_usd == 1
    many = sum(
        (
            cost(usage(input_tokens=3, output_tokens=7), model="claude-sonnet-4-6").total
            for _ in range(10_000)
        ),
        D(0),
    )
    assert many == D("1.14")  # 10,000 x (3 x 3 + 7 x 15) / MTok, exactly
    assert cost(usage(), model=OPUS).micro_usd == 0


def test_token_usage_from_struct() -> None:
    struct = msgspec.convert(
        usage(
            input_tokens=1,
            output_tokens=2,
            cache_read_input_tokens=3,
            cache_creation_input_tokens=4,
            inference_geo="us",
        ),
        Usage,
    )
    assert token_usage(struct) == TokenUsage(1, 2, 4, 0, 3, inference_geo="us")
    assert token_usage(struct).prompt == 8
    assert isinstance(cost(struct, model=OPUS), Cost)


def test_call_tokens_is_shared_per_usage_object() -> None:
    """A call's observers (budget, meter, log) share one TokenUsage; another usage
    object, even an equal one, gets its own."""
    from rawclaude.wire.usage import call_tokens

    first = Usage(input_tokens=1, output_tokens=2)
    tokens = call_tokens(first)
    assert tokens == TokenUsage(1, 2)
    assert call_tokens(first) is tokens
    other = Usage(input_tokens=1, output_tokens=5)
    assert call_tokens(other) == TokenUsage(1, 5)
    assert call_tokens(first) == tokens
    assert call_tokens(None) is None
    assert call_tokens({"input_tokens": 3, "output_tokens": 4}) == TokenUsage(3, 4)


def test_integer_units_equal_the_decimal_cost_everywhere() -> None:
    """cost_units (the path budget, meter and log take) is try_cost's total, exactly:
    every shipped model, both tiers, batch, geo and fast mode, random token counts."""
    import random

    from rawclaude.policy.cost import UNITS_PER_USD, cost_units, format_units, units_to_usd

    rng = random.Random(7)
    table = PriceTable.default()
    checked = 0
    for key in table:
        for _ in range(40):
            raw = usage(
                input_tokens=rng.choice([0, 1, 7, 999, 150_000, 250_000]),
                output_tokens=rng.randrange(0, 70_000),
                cache_read_input_tokens=rng.choice([0, 3, 100_000]),
                cache_creation={
                    "ephemeral_5m_input_tokens": rng.choice([0, 11, 60_000]),
                    "ephemeral_1h_input_tokens": rng.choice([0, 13]),
                },
                inference_geo=rng.choice([None, "global", "us", "eu"]),
                speed=rng.choice([None, "standard", "fast"]),
                service_tier=rng.choice([None, "standard", "batch"]),
            )
            raw["cache_creation_input_tokens"] = sum(raw["cache_creation"].values())
            batch = rng.random() < 0.2
            decimal = try_cost(raw, model=key, batch=batch)
            units = cost_units(token_usage(raw), key, batch=batch)
            if isinstance(decimal, Unpriced):
                assert units is None, (key, raw)
                continue
            assert units is not None and units_to_usd(units) == decimal.total, (key, raw)
            assert D(format_units(units)) == decimal.total
            assert -(-units // 10**9) == decimal.micro_usd
            checked += 1
    assert checked > len(table) * 10
    assert cost_units(token_usage(usage(input_tokens=5)), "claude-opus-9") is None
    assert cost_units(token_usage(usage(input_tokens=5)), None) is None
    # A user rate finer than a unit (1e-15 USD) is priced in decimals, rounded up.
    rates = {"output": 1, "cache_write_5m": 1, "cache_write_1h": 1, "cache_read": 1}
    fine = PriceTable.default().merge({"fine": {"input": "0.0000000000001", **rates}})
    # The last answer is remembered per table, model, batch and tokens, never across them.
    tokens = TokenUsage(input=1_000_000)
    assert cost_units(tokens, "claude-sonnet-4-6") == 3 * 10**15
    assert cost_units(tokens, "claude-sonnet-4-6", batch=True) == 3 * 10**15 // 2
    cheaper = table.merge({"claude-sonnet-4-6": {"input": "1"}})
    assert cost_units(tokens, "claude-sonnet-4-6", prices=cheaper) == 10**15
    assert cost_units(TokenUsage(input=2), "claude-sonnet-4-6", prices=cheaper) == 2 * 10**9
    units = cost_units(TokenUsage(input=3), "fine", prices=fine)
    assert units == 1  # 1e-13 USD per MTok x 3 tokens = 3e-19 USD: one unit, rounded up
    assert UNITS_PER_USD == 10**15 and format_units(0) == "0" and format_units(10**15) == "1"
    for amount in ("0.000000000000001", "0.00098", "0.5", "3", "3.000000000000005", "12345.6"):
        assert format_units(int(D(amount) * UNITS_PER_USD)) == amount
