"""The production layer against the fake server: hooks, stages, middleware, providers."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from redis_server import RedisServer, redis_server

from rawclaude import Client, InternalServerError, OverloadedError
from rawclaude.client.logging_hook import LoggingHook, logging_hook_from_env
from rawclaude.io.redis_cache import RedisCacheBackend
from rawclaude.policy.breaker import BreakerConfig, State
from rawclaude.policy.budget import Budget
from rawclaude.policy.retry import RetryPolicy
from rawclaude.production.cache import MemoryCache, ResponseCache, cache_hit
from rawclaude.production.credentials import EnvCredential, FileCredential
from rawclaude.production.fallback import Fallbacks, Router
from rawclaude.production.meter import UsageMeter
from rawclaude.production.redaction import RedactionStage
from rawclaude.production.stages import BudgetGuard, CircuitBreakerStage
from rawclaude.testing import FakeServer, Reply
from rawclaude.wire.errors import (
    BudgetExceededError,
    CircuitOpenError,
    ConfigurationError,
    UnknownModelPriceError,
)

__all__ = ["redis_server"]

MODEL = "claude-sonnet-4-6"  # $3 in, $15 out per MTok
MSG = [{"role": "user", "content": "hello"}]


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    async with FakeServer() as srv:
        yield srv


def make(server: FakeServer, retries: int = 0, **kw: Any) -> Client:
    client = Client("sk-fake-secret", base_url=server.base_url, **kw)
    client.retry_policy = RetryPolicy(max_retries=retries, initial_delay=0.001, max_delay=0.01)
    return client


async def create(client: Client, **kw: Any) -> Any:
    params = {"model": MODEL, "max_tokens": 50, "messages": MSG, **kw}
    return await client.messages.create(**params)


def messages_sent(server: FakeServer) -> list[Any]:
    return [r for r in server.requests if r.path == "/v1/messages"]


# ----------------------------------------------------------------- hooks


async def test_meter_and_log_one_record_per_call(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    meter = UsageMeter()
    async with make(server, hooks=[meter, LoggingHook()]) as client:
        server.queue(Reply.text("a b c").with_usage(input_tokens=100, output_tokens=20))
        with caplog.at_level(logging.INFO, logger="rawclaude"):
            await client.messages.create(model=MODEL, max_tokens=50, messages=MSG,
                                         tags={"tenant": "acme"})  # fmt: skip
    total = meter.total()
    assert (total.calls, total.input_tokens, total.output_tokens) == (1, 100, 20)
    assert total.cost == Decimal("0.0006")  # 100 x $3 + 20 x $15 per MTok
    assert meter.by_tag("tenant")["acme"].cost == Decimal("0.0006")
    assert list(meter.by_model()) == [MODEL]
    records = [r for r in caplog.records if hasattr(r, "rawclaude")]
    assert len(records) == 1
    fields = records[0].rawclaude
    assert fields["cost"] == "0.0006" and fields["status"] == 200 and fields["attempts"] == 1
    assert fields["request_id"] and fields["tags"] == {"tenant": "acme"}
    assert all("sk-fake-secret" not in r.getMessage() for r in caplog.records)


async def test_log_content_only_when_enabled_cut_and_after_redaction(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret_card = "4111 1111 1111 1111"
    turns = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {
            "role": "user",
            "content": [{"type": "text", "text": f"pay with {secret_card} " + "x" * 80}],
        },
    ]
    quiet, loud = LoggingHook(), LoggingHook(content=True, max_content_chars=40)
    async with make(server, hooks=[quiet, loud], request_stages=[RedactionStage()]) as client:
        server.queue(Reply.text("the answer is " + "y" * 60))
        with caplog.at_level(logging.INFO, logger="rawclaude"):
            await client.messages.create(model=MODEL, max_tokens=50, messages=turns)
            server.queue(Reply.text("streamed " + "z" * 60))
            async with client.messages.stream(model=MODEL, max_tokens=50, messages=MSG) as s:
                async for _ in s.text_stream:
                    pass
    records = [r.rawclaude for r in caplog.records if hasattr(r, "rawclaude")]  # type: ignore[attr-defined]
    assert len(records) == 4
    plain = [f for f in records if "prompt" not in f]
    full = [f for f in records if "prompt" in f]
    assert len(plain) == 2 and len(full) == 2  # the default hook logs no content
    create_rec, stream_rec = full
    assert create_rec["prompt"].startswith("pay with [redacted card]")
    assert create_rec["prompt"].endswith("more chars]") and secret_card not in str(records)
    assert (
        create_rec["output"].startswith("the answer is yyy")
        and "more chars]" in create_rec["output"]
    )
    assert stream_rec["prompt"] == "hello" and stream_rec["output"].startswith("streamed zzz")
    logged = "".join(r.getMessage() for r in caplog.records)
    assert "prompt='pay with [redacted card]" in logged and "sk-fake-secret" not in logged
    for bad in ({"content": "yes"}, {"max_content_chars": 0}, {"max_content_chars": True}):
        with pytest.raises(ConfigurationError, match=next(iter(bad))):
            LoggingHook(**bad)  # type: ignore[arg-type]


async def test_meter_counts_an_abandoned_stream(server: FakeServer) -> None:
    meter = UsageMeter()
    async with make(server, hooks=[meter]) as client:
        server.queue(Reply.text("one two three four five six").with_usage(input_tokens=40))
        async with client.messages.stream(model=MODEL, max_tokens=50, messages=MSG) as stream:
            async for _ in stream:
                break  # abandoned after the first event
    total = meter.total()
    assert total.calls == 1 and total.input_tokens == 40  # what was used still counts
    assert total.cost > 0


def test_meter_batch_results_and_unpriced() -> None:
    meter = UsageMeter()
    usage = {"input_tokens": 1000, "output_tokens": 1000}
    lines = [
        {"custom_id": "a", "result": {"type": "succeeded",
                                      "message": {"model": MODEL, "usage": usage}}},
        {"custom_id": "b", "result": {"type": "errored", "error": {}}},
    ]  # fmt: skip
    assert meter.add_batch_results(lines) == 1
    assert meter.total().cost == Decimal("0.009")  # 0.018 at the batch discount
    meter.add(usage, model="claude-unknown-9")
    assert meter.unpriced == {"claude-unknown-9": 1}
    assert meter.total().cost == Decimal("0.009") and meter.total().unpriced_calls == 1


def test_anthropic_log_switches_logging_on() -> None:
    assert logging_hook_from_env({}) is None
    assert logging_hook_from_env({"ANTHROPIC_LOG": "warn"}) is None
    hook = logging_hook_from_env({"ANTHROPIC_LOG": "debug"})
    assert isinstance(hook, LoggingHook)
    assert logging.getLogger("rawclaude").isEnabledFor(logging.DEBUG)


# ----------------------------------------------------------------- budget


async def guarded(server: FakeServer, guard: BudgetGuard) -> None:
    async with make(server, admission=[guard]) as client:
        # The worst case (input estimate + 50 x $15/MTok) fits; the actual is lower.
        server.queue(Reply.text("w " * 40).with_usage(input_tokens=10, output_tokens=40))
        await create(client)
        await guard.aclose()  # settled (a Redis settlement runs in the background)
        with pytest.raises(BudgetExceededError) as info:
            await create(client)
    err = info.value
    assert err.limit == Decimal("0.001") and err.spent == Decimal("0.00063")  # 10x3 + 40x15
    assert err.spent + err.requested > err.limit and err.reserved == 0
    assert len(messages_sent(server)) == 1  # the refused call was never sent


async def test_budget_guard_in_process(server: FakeServer) -> None:
    guard = BudgetGuard(Budget("0.001"))
    await guarded(server, guard)
    assert guard.book.spent(guard.budgets[0], __import__("time").time()) > 0


async def test_budget_guard_redis(server: FakeServer, redis_server: RedisServer) -> None:
    from rawclaude.io.redis_budget import RedisBudgetStore

    store = RedisBudgetStore(redis_server.url, name=f"t-{uuid.uuid4().hex}")
    await guarded(server, BudgetGuard(Budget("0.001"), redis=store))
    await store.aclose()


async def test_budget_guard_warns_and_refuses_unpriced(server: FakeServer) -> None:
    warnings: list[Any] = []
    guard = BudgetGuard(Budget("1", warn_at=(0.0001,)), on_warn=warnings.append)
    async with make(server, admission=[guard]) as client:
        await create(client)
        await create(client)
        with pytest.raises(UnknownModelPriceError):
            await create(client, model="claude-unknown-9")
    assert [w.fraction for w in warnings] == [0.0001]  # once per period
    assert len(messages_sent(server)) == 2


# ----------------------------------------------------------------- breaker + fallbacks


async def test_breaker_opens_and_fails_fast(server: FakeServer) -> None:
    stage = CircuitBreakerStage(BreakerConfig(failure_threshold=2, cooldown=60))
    async with make(server, admission=[stage]) as client:
        server.queue(Reply.error(529), Reply.error(529))
        for _ in range(2):
            with pytest.raises(OverloadedError):
                await create(client)
        with pytest.raises(CircuitOpenError) as info:
            await create(client)
    assert info.value.state == "open" and 0 < info.value.retry_in <= 60
    assert MODEL in info.value.key and "sk-fake" not in str(info.value)
    assert len(messages_sent(server)) == 2


async def test_breaker_forgets_idle_circuits_and_keeps_open_ones(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Model ids come from callers: the in-process circuits stay bounded, and a
    circuit that knows something (open) is never the one forgotten."""
    from rawclaude.production import stages

    monkeypatch.setattr(stages, "_MAX_CIRCUITS", 4)
    stage = CircuitBreakerStage(BreakerConfig(failure_threshold=1, cooldown=60))
    async with make(server, admission=[stage]) as client:
        server.queue(Reply.error(529))
        with pytest.raises(OverloadedError):
            await create(client)
        for i in range(12):  # each model its own circuit, closed and clean
            await create(client, model=f"claude-other-{i}")
        assert len(stage.machines) <= 4
        with pytest.raises(CircuitOpenError):
            await create(client)


async def test_breaker_shared_through_redis(server: FakeServer, redis_server: RedisServer) -> None:
    from rawclaude.io.redis_breaker import RedisCircuitBreaker

    config = BreakerConfig(failure_threshold=2, cooldown=60)
    shared = RedisCircuitBreaker(redis_server.url, config=config,
                                 key_prefix=f"t{uuid.uuid4().hex}:")  # fmt: skip
    one, two = CircuitBreakerStage(config, redis=shared), CircuitBreakerStage(config, redis=shared)
    server.queue(Reply.error(500), Reply.error(500))
    async with make(server, admission=[one]) as a, make(server, admission=[two]) as b:
        for client in (a, b):
            with pytest.raises(InternalServerError):
                await create(client)
        await one.aclose()
        await two.aclose()
        with pytest.raises(CircuitOpenError):
            await create(a)  # tripped by the two clients together
    assert len(messages_sent(server)) == 2
    await shared.aclose()


async def test_fallbacks_move_to_the_next_model(server: FakeServer) -> None:
    events: list[Any] = []
    records: list[Any] = []

    class Seen:
        def on_complete(self, record: Any) -> None:
            records.append((record.model, record.ok))

    fallbacks = Fallbacks(["claude-haiku-4-5"], on_fallback=events.append)
    async with make(server, retries=1, middleware=[fallbacks], hooks=[Seen()]) as client:
        server.queue(Reply.error(529), Reply.error(529), Reply.text("from haiku"))
        message = await create(client)
    assert message.model == "claude-haiku-4-5"
    assert [(e.from_model, e.to_model) for e in events] == [(MODEL, "claude-haiku-4-5")]
    assert records == [(MODEL, False), ("claude-haiku-4-5", True)]
    assert [r.json["model"] for r in messages_sent(server)] == [MODEL, MODEL, "claude-haiku-4-5"]


async def test_fallback_models_per_client_and_per_call(server: FakeServer) -> None:
    from rawclaude import FallbackEvent, Hook, RateLimitError

    moves: list[FallbackEvent] = []

    class Moves(Hook):
        def on_fallback(self, event: Any) -> None:
            moves.append(event)

    haiku, opus = "claude-haiku-4-5", "claude-opus-4-6"
    async with make(server, fallback_models=[haiku], hooks=[Moves()]) as client:
        server.queue(Reply.error(529), Reply.text("from haiku"))
        assert (await create(client)).model == haiku
        # Per call: its own list replaces the client's; [] turns fallbacks off.
        server.queue(Reply.error(500), Reply.text("from opus"))
        assert (await create(client, fallback_models=[opus])).model == opus
        server.queue(Reply.error(529))
        with pytest.raises(OverloadedError):
            await create(client, fallback_models=[])
        # A stream moves too, before any content.
        server.queue(Reply.error(529), Reply.text("streamed by haiku"))
        async with client.messages.stream(model=MODEL, max_tokens=50, messages=MSG) as stream:
            message = await stream.get_final_message()
        assert message.model == haiku
        # A 4xx is the request's fault: it never moves to another model.
        server.queue(Reply.error(429, headers={"x-should-retry": "false"}))
        with pytest.raises(RateLimitError):
            await create(client)
        # with_options changes the list for a copy.
        other = client.with_options(fallback_models=[opus, haiku], max_retries=0)
        server.queue(Reply.error(529), Reply.error(529), Reply.text("third"))
        assert (await create(other)).model == haiku
    assert [(m.from_model, m.to_model, m.kind) for m in moves] == [
        (MODEL, haiku, "messages.create"),
        (MODEL, opus, "messages.create"),
        (MODEL, haiku, "messages.stream"),
        (MODEL, opus, "messages.create"),
        (opus, haiku, "messages.create"),
    ]
    assert [r.json["model"] for r in messages_sent(server)] == [
        MODEL, haiku, MODEL, opus, MODEL, MODEL, haiku, MODEL, MODEL, opus, haiku,
    ]  # fmt: skip
    # Only calls that generate a message move (not count_tokens: another model's count).
    from types import SimpleNamespace

    from rawclaude.client import fallback

    tried: list[Any] = []

    async def overloaded(call: Any) -> Any:
        tried.append(call)
        raise InternalServerError("down", status_code=500, headers={}, body=None)

    count = SimpleNamespace(kind="messages.count_tokens", model=MODEL, params={"model": MODEL})
    with pytest.raises(InternalServerError):
        await fallback.run(count, overloaded, [haiku])  # type: ignore[arg-type]
    assert tried == [count]
    for bad in ("claude-haiku-4-5", [""], [3], 5):
        with pytest.raises(ConfigurationError, match="fallback_models"):
            Client("k", fallback_models=bad)
    async with make(server) as client:
        with pytest.raises(ConfigurationError, match="fallback_models"):
            await create(client, fallback_models="claude-haiku-4-5")
    assert len(messages_sent(server)) == 11  # the bad argument sent nothing


async def test_open_circuit_falls_back_at_once(server: FakeServer) -> None:
    stage = CircuitBreakerStage(BreakerConfig(failure_threshold=1, cooldown=60))
    async with make(server, admission=[stage],
                    middleware=[Fallbacks(["claude-haiku-4-5"])]) as client:  # fmt: skip
        server.queue(Reply.error(529))
        await create(client)  # sonnet trips, haiku answers
        await create(client)  # sonnet's circuit is open: straight to haiku
    assert [r.json["model"] for r in messages_sent(server)] == [
        MODEL, "claude-haiku-4-5", "claude-haiku-4-5"]  # fmt: skip
    assert stage.machines[next(k for k in stage.machines if MODEL in k)].state is State.OPEN


async def test_router_picks_the_model(server: FakeServer) -> None:
    def route(params: dict[str, Any]) -> str | None:
        return "claude-haiku-4-5" if len(str(params["messages"])) < 100 else None

    async with make(server, middleware=[Router(route)]) as client:
        assert (await create(client)).model == "claude-haiku-4-5"
        long = [{"role": "user", "content": "x" * 200}]
        assert (await create(client, messages=long)).model == MODEL
    with pytest.raises(ConfigurationError):
        Fallbacks("claude-haiku-4-5")


# ----------------------------------------------------------------- redaction


async def test_redaction_stage_rewrites_before_sending(server: FakeServer) -> None:
    reports: list[Any] = []
    stage = RedactionStage(on_report=reports.append)
    async with make(server, request_stages=[stage]) as client:
        text = "card 4111 1111 1111 1111, mail jane@example.com"
        await create(client, messages=[{"role": "user", "content": text}])
        await create(client)
    sent = messages_sent(server)
    assert sent[0].json["messages"][0]["content"] == "card [redacted card], mail [redacted email]"
    assert sent[1].json["messages"] == MSG
    assert [dict(r.counts) for r in reports] == [{"card": 1, "email": 1}]
    assert stage.totals == {"card": 1, "email": 1}


# ----------------------------------------------------------------- cache


async def test_cache_hit_costs_nothing_and_says_so(server: FakeServer) -> None:
    meter = UsageMeter()
    cache = ResponseCache(ttl=60)
    async with make(server, middleware=[cache], hooks=[meter]) as client:
        first = await create(client)
        second = await create(client)
        other = await create(client, max_tokens=51)
    assert not cache_hit(first) and cache_hit(second) and not cache_hit(other)
    assert second.content == first.content and second.request_id is None
    assert len(messages_sent(server)) == 2 and meter.total().calls == 2
    assert cache.stats["hits"] == 1


async def test_cache_single_flight(server: FakeServer) -> None:
    cache = ResponseCache()
    async with make(server, middleware=[cache]) as client:
        server.queue(Reply.text("slow").with_delays(first_event=0.05))
        results = await asyncio.gather(*(create(client) for _ in range(8)))
    assert len(messages_sent(server)) == 1
    assert sum(cache_hit(m) for m in results) == 7 and cache.stats["collapsed"] == 7


async def test_cache_never_stores_errors_or_uncacheable(server: FakeServer) -> None:
    cache = ResponseCache()
    async with make(server, middleware=[cache]) as client:
        server.queue(Reply.error(500))
        with pytest.raises(InternalServerError):
            await create(client)
        await create(client)  # the error was not cached
        server.queue(Reply.pause_turn("more"))
        await create(client, max_tokens=7)
        await create(client, max_tokens=7)  # pause_turn is not stored
    async with make(server, middleware=[cache], api_version="2023-06-01") as legacy:
        await create(legacy)
        await create(legacy)  # sampling at the default temperature: not cached
    assert len(messages_sent(server)) == 6


async def test_cache_shared_through_redis(server: FakeServer, redis_server: RedisServer) -> None:
    prefix = f"t{uuid.uuid4().hex}:"
    one = RedisCacheBackend(redis_server.url, key_prefix=prefix)
    two = RedisCacheBackend(redis_server.url, key_prefix=prefix)
    async with make(server, middleware=[ResponseCache(one)]) as a:
        await create(a)
    async with make(server, middleware=[ResponseCache(two)]) as b:
        assert cache_hit(await create(b))
    assert len(messages_sent(server)) == 1
    await one.aclose()
    await two.aclose()


async def test_memory_cache_bounds() -> None:
    now = [0.0]
    cache = MemoryCache(max_entries=2, max_bytes=10, clock=lambda: now[0])
    await cache.set("a", b"1234", 5)
    await cache.set("b", b"1234", 5)
    assert await cache.get("a") == b"1234"  # a is now the most recent
    await cache.set("c", b"1234", 5)
    assert await cache.get("b") is None and len(cache) == 2
    await cache.set("d", b"12345678", 5)  # over max_bytes with the rest: evicts
    assert cache.size <= 10
    now[0] = 6.0
    assert await cache.get("d") is None  # expired


# ----------------------------------------------------------------- credentials


def test_file_credential_follows_rotation(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("sk-one\n")
    cred = FileCredential(path)
    assert cred.get() == "sk-one"
    new = tmp_path / "key.new"
    new.write_text("sk-two-rotated")
    os.replace(new, path)  # how orchestrators swap a mounted secret
    assert cred.get() == "sk-two-rotated"
    assert "sk-" not in repr(cred)
    path.write_text("")
    with pytest.raises(ConfigurationError, match="empty") as info:
        cred.refresh()
    assert "sk-" not in str(info.value)


async def test_env_credential_refreshes_after_401(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAWCLAUDE_TEST_KEY", "sk-old")
    cred = EnvCredential("RAWCLAUDE_TEST_KEY")
    async with Client(api_key=cred, base_url=server.base_url) as client:
        assert cred.get() == "sk-old"
        monkeypatch.setenv("RAWCLAUDE_TEST_KEY", "sk-new")  # rotated outside
        server.queue(Reply.error(401))
        await create(client)  # 401 -> refresh -> retried once with the new key
    assert cred.get() == "sk-new" and len(messages_sent(server)) == 2
    assert "sk-" not in repr(cred)
    monkeypatch.delenv("RAWCLAUDE_TEST_KEY")
    with pytest.raises(ConfigurationError, match="RAWCLAUDE_TEST_KEY"):
        cred.refresh()


async def test_anthropic_log_env_adds_the_hook_to_clients(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ANTHROPIC_LOG", "info")
    async with make(server) as client:
        with caplog.at_level(logging.INFO, logger="rawclaude"):
            await create(client)
    assert sum(hasattr(r, "rawclaude") for r in caplog.records) == 1


async def test_opentelemetry_span_and_metrics(server: FakeServer) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from rawclaude.production.otel import OpenTelemetryHook

    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    hook = OpenTelemetryHook(tracer_provider=tracer_provider,
                             meter_provider=MeterProvider(metric_readers=[reader]))  # fmt: skip
    async with make(server, hooks=[hook]) as client:
        server.queue(Reply.text("a b").with_usage(input_tokens=12, output_tokens=3))
        async with client.messages.stream(model=MODEL, max_tokens=50, messages=MSG) as stream:
            await stream.get_final_message()
        server.queue(Reply.error(529))
        with pytest.raises(OverloadedError):
            await create(client)
    ok, failed = exporter.get_finished_spans()
    assert ok.name == f"chat {MODEL}"
    attrs = dict(ok.attributes or {})
    assert attrs["gen_ai.provider.name"] == "anthropic" and attrs["gen_ai.request.model"] == MODEL
    assert attrs["gen_ai.usage.input_tokens"] == 12 and attrs["gen_ai.usage.output_tokens"] == 3
    assert [e.name for e in ok.events] == ["gen_ai.first_token"]
    assert ok.end_time is not None and ok.start_time is not None and ok.end_time > ok.start_time
    assert dict(failed.attributes or {})["error.type"] == "OverloadedError"
    assert not failed.status.is_ok
    data = reader.get_metrics_data()
    assert data is not None
    names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {"gen_ai.client.token.usage", "gen_ai.client.operation.duration",
            "gen_ai.client.operation.time_to_first_chunk"} <= names  # fmt: skip


def test_logging_hook_records_match_the_standard_ones(caplog: pytest.LogCaptureFixture) -> None:
    """The hook copies a template LogRecord; what a handler sees is what
    Logger.makeRecord would have made (time aside), in every thread, and a
    custom record factory is still honoured."""
    import threading

    from rawclaude.client import logging_hook
    from rawclaude.client.hooks import CallRecord

    hook = LoggingHook("rawclaude.test-records")
    record = CallRecord(kind="messages.create", method="POST", url="u", model="m", ok=True,
                        status=200, attempts=1, latency=0.5)  # fmt: skip
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, entry: logging.LogRecord) -> None:
            seen.append(entry)

    logger = logging.getLogger("rawclaude.test-records")
    logger.addHandler(Keep())
    logger.setLevel(logging.INFO)
    try:
        hook.on_complete(record)
        worker = threading.Thread(target=hook.on_complete, args=(record,), name="other")
        worker.start()
        worker.join()
        hook.on_complete(record)
        fields = hook.fields(record)
        standard = logger.makeRecord(
            logger.name, logging.INFO, logging_hook.__file__, 0, seen[0].msg, (fields,), None,
            extra={"rawclaude": fields},
        )  # fmt: skip
        timing = {"created", "msecs", "relativeCreated"}
        for got in (seen[0], seen[2]):
            formatted = {"message", "asctime"}  # set by a Formatter the record went through
            assert set(got.__dict__) - formatted == set(standard.__dict__)
            for name, value in standard.__dict__.items():
                if name not in timing and name not in ("args", "rawclaude"):
                    assert getattr(got, name) == value, name
            assert got.args == fields and got.rawclaude == fields  # type: ignore[attr-defined]
            assert abs(got.created - standard.created) < 5
            assert abs(got.relativeCreated - standard.relativeCreated) < 5000
            assert "model=m status=200" in got.getMessage()
        assert seen[1].threadName == "other" and seen[1].thread == worker.ident
        assert seen[2].thread == threading.get_ident()
        made: list[str] = []
        factory = logging.getLogRecordFactory()

        def mine(*args: Any, **kwargs: Any) -> logging.LogRecord:
            made.append("mine")
            return factory(*args, **kwargs)

        logging.setLogRecordFactory(mine)
        try:
            hook.on_complete(record)
        finally:
            logging.setLogRecordFactory(factory)
        assert made == ["mine"] and seen[3].rawclaude == fields  # type: ignore[attr-defined]
        # A forked child's records carry its own process id.
        import os

        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: log once, send the record's process id, leave
            try:
                hook.on_complete(record)
                os.write(write, str(seen[-1].process).encode())
            finally:
                os._exit(0)
        os.close(write)
        os.waitpid(pid, 0)
        assert int(os.read(read, 64)) == pid
        os.close(read)
    finally:
        logger.handlers.clear()


def test_a_forgotten_circuit_still_counts_the_calls_it_admitted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Calls in flight when their circuit is forgotten report to the live one, so
    the breaker still opens; a circuit whose failure is a window old counts as idle."""
    from types import SimpleNamespace

    from rawclaude.client.call import Outcome
    from rawclaude.production import stages

    monkeypatch.setattr(stages, "_MAX_CIRCUITS", 2)
    now = [1000.0]
    stage = CircuitBreakerStage(BreakerConfig(failure_threshold=3, cooldown=60),
                                clock=lambda: now[0])  # fmt: skip

    def call(model: str) -> Any:
        return SimpleNamespace(pipeline=SimpleNamespace(base_url="http://h"), model=model)

    held = [stage.admit_now(call("a")) for _ in range(3)]
    for other in ("b", "c", "d"):
        stage.admit_now(call(other)).release(Outcome(status=200, complete=True))  # type: ignore[union-attr]
    assert len(stage.machines) <= 3
    for ticket in held:
        ticket.release(Outcome(status=529))  # type: ignore[union-attr]
    with pytest.raises(CircuitOpenError):
        stage.admit_now(call("a"))
    # A failure a whole window old leaves a circuit with nothing to remember.
    stage.admit_now(call("e")).release(Outcome(status=500))  # type: ignore[union-attr]
    now[0] += 120
    for other in ("f", "g", "h", "i"):
        stage.admit_now(call(other)).release(Outcome(status=200, complete=True))  # type: ignore[union-attr]
    assert "http://h|e" not in stage.machines
    assert "http://h|a" in stage.machines  # open: kept
