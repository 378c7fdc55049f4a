"""Budget math (pure tables) and the Redis ledger (real redis-server, 4 processes)."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis_server import RedisServer, free_port, redis_server

from rawclaude.io.redis_budget import RedisBudgetStore
from rawclaude.policy.budget import (
    Budget,
    BudgetBook,
    crossed_thresholds,
    micro_usd,
    period_of,
    request_cache_write,
    usd,
    worst_case_micros,
)
from rawclaude.policy.prices import PriceTable
from rawclaude.wire.errors import BudgetExceededError, BudgetUnavailableError, ConfigurationError

__all__ = ["redis_server"]

PRICES = PriceTable.default()


def ts(*args: int, offset_h: int = 0) -> float:
    zone = dt.timezone(dt.timedelta(hours=offset_h))
    return dt.datetime(*args, tzinfo=zone).timestamp()  # type: ignore[misc]


def test_micro_usd_rounds_up_and_checks() -> None:
    assert micro_usd("0.0000001") == 1 and micro_usd(50) == 50_000_000
    assert micro_usd(Decimal("1.5")) == 1_500_000 and usd(1_500_000) == Decimal("1.5")
    for bad in ("-1", "nan", "x"):
        with pytest.raises(ConfigurationError):
            micro_usd(bad)


@pytest.mark.parametrize(
    ("period", "offset_h", "now", "label", "reset"),
    [
        ("day", 0, ts(2026, 12, 1, 23, 59, 59), "2026-12-01", ts(2026, 12, 2)),
        ("day", 0, ts(2026, 12, 2), "2026-12-02", ts(2026, 12, 3)),
        ("day", -5, ts(2026, 12, 2, 3), "2026-12-01", ts(2026, 12, 2, offset_h=-5)),
        ("day", 9, ts(2026, 12, 1, 16), "2026-12-02", ts(2026, 12, 3, offset_h=9)),
        ("month", 0, ts(2026, 12, 31, 12), "2026-12", ts(2027, 1, 1)),
        ("month", 0, ts(2028, 2, 29, 1), "2028-02", ts(2028, 3, 1)),
        ("month", -8, ts(2027, 1, 1, 5), "2026-12", ts(2027, 1, 1, offset_h=-8)),
    ],
)
def test_periods(period: Any, offset_h: int, now: float, label: str, reset: float) -> None:
    budget = Budget("1", period=period, utc_offset=dt.timedelta(hours=offset_h))
    assert period_of(budget, now) == (label, reset)


@pytest.mark.parametrize(
    ("model", "kwargs", "micros"),
    [
        # Opus 4.6: 1000 in x $5 + 1000 out x $25 per MTok.
        ("claude-opus-4-6", {}, 30_000),
        ("claude-opus-4-6", {"cache_write": "5m"}, 31_250),  # input at $6.25
        ("claude-opus-4-6", {"cache_write": "1h"}, 35_000),  # input at $10
        ("claude-sonnet-4-6", {"inference_geo": "us"}, 19_800),  # (3k + 15k) x 1.1
        ("claude-opus-5-5", {"fast": True}, 48_000),  # (4k + 20k) x 2
    ],
)
def test_worst_case(model: str, kwargs: dict[str, Any], micros: int) -> None:
    price = PRICES[model]
    assert worst_case_micros(price, input_tokens=1000, max_tokens=1000, **kwargs) == micros


def test_worst_case_uses_the_long_prompt_tier() -> None:
    price = PRICES["claude-haiku-5-5"]
    # 150k in x $0.50 + 1k out x $2.50 per MTok (over 100k: the long-prompt rates).
    assert worst_case_micros(price, input_tokens=150_000, max_tokens=1000) == 77_500


def test_request_cache_write() -> None:
    assert request_cache_write({"messages": [{"content": "x"}]}) == "none"
    five = {"system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}]}
    assert request_cache_write(five) == "5m"
    hour = {"messages": [{"content": [{"cache_control": {"type": "ephemeral", "ttl": "1h"}}]}]}
    assert request_cache_write({**five, **hour}) == "1h"
    assert request_cache_write(None) == "none"


def test_crossed_thresholds() -> None:
    assert crossed_thresholds(0, 80, 100, (0.5, 0.8, 0.9)) == [0.5, 0.8]
    assert crossed_thresholds(80, 85, 100, (0.5, 0.8, 0.9)) == []


def test_book_reserves_refuses_and_settles() -> None:
    budget = Budget("0.10", warn_at=(0.5, 0.9))
    book = BudgetBook([budget])
    now = ts(2026, 12, 1, 12)
    first = book.reserve(60_000, {}, now)
    with pytest.raises(BudgetExceededError) as info:
        book.reserve(50_000, {}, now)  # 60k in flight + 50k > 100k
    err = info.value
    assert (err.limit, err.spent, err.reserved, err.requested) == (
        Decimal("0.1"), Decimal(0), Decimal("0.06"), Decimal("0.05"))  # fmt: skip
    assert err.reset_at == dt.datetime(2026, 12, 2, tzinfo=dt.timezone.utc)
    assert err.period == "2026-12-01" and "$0.1" in str(err) and err.tag is None
    fired = book.settle(first, 55_000)  # the actual cost was lower
    assert [t for _, t in fired] == [0.5]
    assert book.spent(budget, now) == 55_000
    second = book.reserve(45_000, {}, now)  # 55k + 45k = 100k fits exactly
    assert [t for _, t in book.settle(second, 45_000)] == [0.9]
    third = book.reserve(0, {}, now)
    assert book.settle(third, 0) == []  # thresholds fire once per period


def test_book_per_tag_and_midnight() -> None:
    total = Budget("1")
    tenant = Budget("0.01", tag="tenant", name="per-tenant")
    book = BudgetBook([total, tenant])
    late = ts(2026, 12, 1, 23, 59)
    a = book.reserve(10_000, {"tenant": "a"}, late)
    with pytest.raises(BudgetExceededError) as info:
        book.reserve(1, {"tenant": "a"}, late)
    assert info.value.tag == "a" and info.value.name == "per-tenant"
    book.reserve(10_000, {"tenant": "b"}, late)  # another tenant: its own ledger
    book.reserve(10_000, {}, late)  # untagged: only the total applies
    book.settle(a, 10_000)  # settled after midnight: still counts for Dec 1
    assert book.spent(total, late) == 10_000
    assert book.spent(total, ts(2026, 12, 2, 0, 1)) == 0
    assert book.spent(tenant, late, {"tenant": "a"}) == 10_000
    # Past midnight the book's cached lines turn over: a new day, new ledgers.
    after = ts(2026, 12, 2, 0, 1)
    fresh = book.reserve(10_000, {"tenant": "a"}, after)  # tenant a's Dec 2 ledger is empty
    assert [line.period for line in fresh.lines] == ["2026-12-02", "2026-12-02"]
    book.settle(fresh, 7_000)
    assert book.spent(tenant, after, {"tenant": "a"}) == 7_000 and book.spent(total, after) == 7_000
    assert book.spent(total, late) == 10_000  # Dec 1 unchanged


@pytest.mark.parametrize(
    "kwargs",
    [{"limit": "-1"}, {"limit": "1", "period": "week"}, {"limit": 1, "utc_offset": 90000},
     {"limit": 1, "warn_at": (0,)}, {"limit": 1, "warn_at": (1.5,)}, {"limit": 1, "tag": ""}],
)  # fmt: skip
def test_budget_checks_its_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Budget(**kwargs)


# ----------------------------------------------------------------- Redis


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisBudgetStore]:
    s = RedisBudgetStore(redis_server.url, name=f"b-{uuid.uuid4().hex}", lease_seconds=60)
    yield s
    await s.aclose()


async def test_redis_reserve_refuse_settle(store: RedisBudgetStore) -> None:
    budget = Budget("0.10", warn_at=(0.5,))
    book = BudgetBook([budget])  # only to build the lines
    lines = book.lines(60_000, {}, 0.0)
    first = await store.reserve(lines)
    assert first is not None and first.lease
    with pytest.raises(BudgetExceededError) as info:
        await store.reserve(book.lines(50_000, {}, 0.0))
    assert info.value.reserved == Decimal("0.06") and info.value.requested == Decimal("0.05")
    fired = await store.settle(first, 55_000)
    assert [t for _, t in fired] == [0.5]
    status = await store.status(budget)
    assert status is not None and (status.spent, status.reserved) == (55_000, 0)
    assert await store.settle(first, 0) == []  # settling twice adds nothing to reserved
    status = await store.status(budget)
    assert status is not None and status.reserved == 0


async def test_redis_period_is_the_server_clock(
    store: RedisBudgetStore, redis_server: RedisServer
) -> None:
    raw = aioredis.Redis.from_url(redis_server.url)
    seconds, micros = await raw.time()
    await raw.aclose()
    for budget in (Budget("1"), Budget("1", period="month", utc_offset=-5 * 3600)):
        status = await store.status(budget)
        assert status is not None
        label, reset = period_of(budget, seconds + micros / 1e6)
        assert (status.period, status.reset_at) == (label, reset)


@pytest.mark.parametrize(
    "now",
    [ts(2026, 12, 31, 23, 59, 59), ts(2027, 1, 1), ts(2028, 2, 29, 12), ts(2100, 3, 1),
     ts(1999, 12, 31, 20), ts(2026, 3, 1, 4, offset_h=9)],
)  # fmt: skip
async def test_redis_calendar_matches_python(store: RedisBudgetStore, now: float) -> None:
    for budget in (Budget("1"), Budget("1", period="month"),
                   Budget("1", period="month", utc_offset=9 * 3600),
                   Budget("1", utc_offset=-7 * 3600 - 1800)):  # fmt: skip
        status = await store.status(budget, now=now)
        assert status is not None
        assert (status.period, status.reset_at) == period_of(budget, now)


async def test_redis_all_or_nothing_and_tags(store: RedisBudgetStore) -> None:
    book = BudgetBook([Budget("1"), Budget("0.01", tag="tenant")])
    assert await store.reserve(book.lines(10_000, {"tenant": "a"}, 0.0))
    with pytest.raises(BudgetExceededError) as info:
        await store.reserve(book.lines(5_000, {"tenant": "a"}, 0.0))
    assert info.value.tag == "a"
    total = await store.status(Budget("1"))
    assert total is not None and total.reserved == 10_000  # the refused call took nothing
    assert await store.reserve(book.lines(5_000, {"tenant": "b"}, 0.0))


async def test_redis_dead_reservations_expire(store: RedisBudgetStore) -> None:
    book = BudgetBook([Budget("0.01")])
    # An explicit clock, but in the future: the keys' EXPIREAT follows it, and a
    # fixed date would already be past (Redis would drop the keys at once).
    t0 = (time.time() // 86400 + 2) * 86400 + 12 * 3600
    assert await store.reserve(book.lines(10_000, {}, t0), now=t0)  # its process "dies"
    with pytest.raises(BudgetExceededError):
        await store.reserve(book.lines(1, {}, t0), now=t0 + 59)
    assert await store.reserve(book.lines(10_000, {}, t0), now=t0 + 61)  # lease gone


async def test_redis_keys_expire_after_their_period(
    store: RedisBudgetStore, redis_server: RedisServer
) -> None:
    budget = Budget("1")
    reservation = await store.reserve(BudgetBook([budget]).lines(5, {}, 0.0))
    assert reservation is not None
    line = reservation.lines[0]
    raw = aioredis.Redis.from_url(redis_server.url)
    try:
        expire_at = await raw.expiretime(store.key(line.scope, line.period))
        assert line.reset_at + 86400 <= expire_at <= line.reset_at + 86400 + 61
    finally:
        await raw.aclose()


async def test_redis_warns_once_per_fleet(
    store: RedisBudgetStore, redis_server: RedisServer
) -> None:
    budget = Budget("0.01", warn_at=(0.8,))
    book = BudgetBook([budget])
    other = RedisBudgetStore(redis_server.url, name=store._base.split("{")[1].rstrip("}"))
    try:
        a = await store.reserve(book.lines(5_000, {}, 0.0))
        b = await other.reserve(book.lines(5_000, {}, 0.0))
        assert a and b
        fired = [*await store.settle(a, 4_500), *await other.settle(b, 4_500)]
        assert [t for _, t in fired] == [0.8]  # one of the two, not both
    finally:
        await other.aclose()


async def test_redis_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    url = f"redis://:pw-secret@127.0.0.1:{free_port()}/0"
    lines = BudgetBook([Budget("1")]).lines(1, {}, 0.0)
    closed = RedisBudgetStore(url)
    with pytest.raises(BudgetUnavailableError) as info:
        await closed.reserve(lines)
    assert "pw-secret" not in str(info.value) and "pw-secret" not in repr(closed)
    opened = RedisBudgetStore(url, on_unavailable="fail_open")
    assert await opened.reserve(lines) is None and await opened.reserve(lines) is None
    assert sum("unavailable" in r.message for r in caplog.records) == 1
    await closed.aclose()
    await opened.aclose()


_CHILD = """
import asyncio, sys
from rawclaude.io.redis_budget import RedisBudgetStore
from rawclaude.policy.budget import Budget, BudgetBook
from rawclaude.wire.errors import BudgetExceededError

async def main():
    store = RedisBudgetStore(sys.argv[1], name=sys.argv[2])
    book = BudgetBook([Budget("0.05")])

    async def one():
        try:
            r = await store.reserve(book.lines(1000, {}, 0.0))
        except BudgetExceededError:
            return 0
        await asyncio.sleep(0)
        await store.settle(r, 1000)  # the actual equals the worst case
        return 1

    got = await asyncio.gather(*(one() for _ in range(40)))
    print(sum(got))
    await store.aclose()

asyncio.run(main())
"""


def test_budget_never_over_admits_across_4_processes(redis_server: RedisServer) -> None:
    from test_limiter_redis import _env

    name = f"fleet-{uuid.uuid4().hex}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, redis_server.url, name],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for _ in range(4)
    ]
    admitted = [int(p.communicate(timeout=60)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    # 160 attempts of $0.001 against $0.05: exactly 50 fit, never more.
    assert sum(admitted) == 50, admitted

    async def spent() -> int:
        store = RedisBudgetStore(redis_server.url, name=name)
        status = await store.status(Budget("0.05"))
        await store.aclose()
        assert status is not None
        return status.spent

    assert asyncio.run(spent()) == 50_000


def test_the_exceeded_error_names_the_budget_that_was_exceeded() -> None:
    # Two untagged daily budgets whose ledgers coincide (same name, same date label).
    book = BudgetBook([Budget("0.00001"), Budget("0.000005", utc_offset=60)])
    with pytest.raises(BudgetExceededError) as info:
        book.reserve(6, {}, ts(2026, 12, 1, 12, 0))
    assert info.value.limit == Decimal("0.000005")
