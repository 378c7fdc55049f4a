"""Shared Redis token buckets against a real redis-server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis_server import RedisServer, free_port, own_redis_server, redis_server

from rawclaude.io.limiter import RateLimiter
from rawclaude.io.redis_limiter import RedisTokenBucket, redis_rate_limiter
from rawclaude.policy.ratelimit import RateLimitState, RateLimitWindow
from rawclaude.wire.errors import ConfigurationError, RateLimiterUnavailableError

__all__ = ["own_redis_server", "redis_server"]  # fixtures, imported for pytest

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "s3cret-pw-for-tests"


def _key() -> str:
    return f"test-{uuid.uuid4().hex}"


def _env() -> dict[str, str]:
    """The environment for a child Python that imports rawclaude from this tree."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
async def bucket_factory(redis_server: RedisServer) -> AsyncIterator[Any]:
    made: list[RedisTokenBucket] = []

    def make(key: str, rate: float, capacity: float, **kw: Any) -> RedisTokenBucket:
        bucket = RedisTokenBucket(redis_server.url, key, rate, capacity, **kw)
        made.append(bucket)
        return bucket

    yield make
    for bucket in made:
        await bucket.aclose()


async def test_acquire_try_acquire_refund_clamp(bucket_factory: Any) -> None:
    bucket = bucket_factory(_key(), 0.01, 5.0)  # next to no refill during the test
    await bucket.acquire(3)
    assert await bucket.tokens() == pytest.approx(2.0, abs=0.01)
    assert not await bucket.try_acquire(3)
    assert await bucket.try_acquire(2)
    await bucket.refund(10)
    assert await bucket.tokens() == pytest.approx(5.0)  # capped
    await bucket.clamp(1.5)
    assert await bucket.tokens() == pytest.approx(1.5, abs=0.01)
    await bucket.clamp(4)  # a higher remaining adds nothing
    assert await bucket.tokens() == pytest.approx(1.5, abs=0.01)
    await bucket.acquire(0)  # a no-op
    with pytest.raises(ValueError, match="capacity"):
        await bucket.acquire(6)
    with pytest.raises(ValueError):
        await bucket.refund(-1)


async def test_waits_for_the_hinted_time_without_polling(bucket_factory: Any) -> None:
    bucket = bucket_factory(_key(), 20.0, 2.0)
    await bucket.acquire(2)
    calls = 0
    script = bucket._script

    async def counting(*args: Any, **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        return await script(*args, **kw)

    bucket._script = counting
    start = time.monotonic()
    await bucket.acquire(2)  # 2 tokens at 20/s: 0.1 s
    assert time.monotonic() - start == pytest.approx(0.1, abs=0.05)
    assert calls <= 3  # one refusal with the wait, one grant (and maybe one for dust)


async def test_state_uses_redis_server_clock_and_sets_a_ttl(
    bucket_factory: Any, raw: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _key()
    bucket = bucket_factory(key, 2.0, 10.0)
    monkeypatch.setattr(time, "time", lambda: 0.0)  # a worker clock decades off
    await bucket.acquire(1)
    seconds, micros = await raw.time()
    stored_raw = await raw.hget(f"rawclaude:{key}", "ts")
    assert stored_raw is not None
    stored = float(stored_raw)
    assert abs(stored - (seconds + micros / 1e6)) < 1.0  # the server's clock, not ours
    ttl_ms = await raw.pttl(f"rawclaude:{key}")
    assert 0 < ttl_ms <= (2 * 10.0 / 2.0 + 1) * 1000  # twice the full-refill time + 1 s
    await bucket.pause_for(30)
    assert await raw.pttl(f"rawclaude:{key}") > 30_000  # a pause outlives its key never


async def test_pause_is_shared_by_every_holder_of_the_key(bucket_factory: Any) -> None:
    key = _key()
    a = bucket_factory(key, 100.0, 10.0)
    b = bucket_factory(key, 100.0, 10.0)  # as another process would
    await a.pause_for(0.2)
    assert await b.paused_for() == pytest.approx(0.2, abs=0.05)
    assert not await b.try_acquire(1)
    start = time.monotonic()
    await b.acquire(1)
    assert time.monotonic() - start == pytest.approx(0.2, abs=0.07)


async def test_cancelled_waiter_takes_nothing(bucket_factory: Any) -> None:
    bucket = bucket_factory(_key(), 10.0, 5.0)
    await bucket.acquire(5)
    waiter = asyncio.create_task(bucket.acquire(4))
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    tokens = await bucket.tokens()
    assert tokens is not None and 0.3 < tokens < 1.5  # refilled ~0.5, nothing taken
    assert not bucket._lock.locked()


async def test_cancel_during_a_granting_script_call_gives_tokens_back(
    bucket_factory: Any,
) -> None:
    bucket = bucket_factory(_key(), 0.01, 5.0)
    await bucket.tokens()  # connect first
    waiter = asyncio.create_task(bucket.acquire(3))
    await asyncio.sleep(0)  # the script call is on its way
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    for _ in range(50):  # the refund runs in the background
        if not bucket._tasks and await bucket.tokens() == pytest.approx(5.0, abs=0.01):
            break
        await asyncio.sleep(0.01)
    assert await bucket.tokens() == pytest.approx(5.0, abs=0.01)


async def test_evalsha_falls_back_after_script_flush(
    bucket_factory: Any, raw: aioredis.Redis
) -> None:
    bucket = bucket_factory(_key(), 0.001, 5.0)  # no refill to speak of on a slow machine
    await bucket.acquire(1)
    await raw.script_flush()  # as after a restart or failover: NOSCRIPT next time
    await bucket.acquire(1)
    assert await bucket.tokens() == pytest.approx(3.0, abs=0.05)


async def test_fail_closed_when_nothing_listens(caplog: pytest.LogCaptureFixture) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    bucket = RedisTokenBucket(url, _key(), 1.0, 1.0)
    start = time.monotonic()
    with pytest.raises(RateLimiterUnavailableError) as info:
        await bucket.acquire(1)
    assert time.monotonic() - start < 3.0  # fails fast, does not hang every request
    assert isinstance(info.value.__cause__, RedisConnectionError)
    for text in (str(info.value), repr(info.value), repr(bucket), caplog.text):
        assert PASSWORD not in text
    assert "127.0.0.1" in str(info.value)
    await bucket.aclose()


async def test_fail_closed_when_the_server_stops(own_redis_server: RedisServer) -> None:
    limiter = redis_rate_limiter(
        own_redis_server.url, key=_key(), requests_per_minute=600, max_concurrency=1
    )
    res = await limiter.reserve(input_tokens=10, output_tokens=10)
    await res.release()
    own_redis_server.stop()
    with pytest.raises(RateLimiterUnavailableError) as info:
        await limiter.reserve(input_tokens=10, output_tokens=10)
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(limiter)
    assert limiter.in_flight == 0
    assert not limiter._slots or limiter._slots.free > 0  # the slot was given back
    await limiter.aclose()


async def test_fail_open_grants_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    bucket = RedisTokenBucket(url, _key(), 1.0, 2.0, on_unavailable="fail_open")
    with caplog.at_level(logging.WARNING, logger="rawclaude.limiter"):
        for _ in range(3):
            await asyncio.wait_for(bucket.acquire(2), 5)
        assert await bucket.try_acquire(2)
        await bucket.refund(1)
        await bucket.clamp(0)
        await bucket.pause_for(10)
        assert await bucket.tokens() is None
    warnings = [r for r in caplog.records if r.name == "rawclaude.limiter"]
    assert len(warnings) == 1
    assert "failing open" in warnings[0].getMessage()
    assert PASSWORD not in caplog.text
    await bucket.aclose()


def test_bad_configuration_never_shows_the_url() -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisTokenBucket(f"http://user:{PASSWORD}@host/0", "k", 1.0, 1.0)
    assert PASSWORD not in str(info.value)
    with pytest.raises(ConfigurationError):
        RedisTokenBucket("redis://127.0.0.1:1/0", "k", 1.0, 1.0, on_unavailable="maybe")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        RedisTokenBucket("redis://127.0.0.1:1/0", "k", 0.0, 1.0)


async def test_works_with_a_password_and_never_shows_it(own_redis_server: RedisServer) -> None:
    bucket = RedisTokenBucket(own_redis_server.url, _key(), 1.0, 3.0)
    assert await bucket.try_acquire(1)
    text = repr(bucket)
    assert PASSWORD not in text
    assert f"127.0.0.1:{own_redis_server.port}/0" in text
    await bucket.aclose()


def _state(**kw: Any) -> RateLimitState:
    return RateLimitState(observed_at=time.time(), **kw)


async def test_rate_limiter_on_shared_buckets(redis_server: RedisServer) -> None:
    key = _key()

    def make() -> RateLimiter:
        return redis_rate_limiter(
            redis_server.url, key=key, requests_per_minute=600, output_tokens_per_minute=6000
        )

    a, b = make(), make()  # two workers of one fleet
    out_a = a.buckets["output_tokens"]
    assert isinstance(out_a, RedisTokenBucket)
    res = await a.reserve(input_tokens=100, output_tokens=4000)
    assert await out_a.tokens() == pytest.approx(2000, abs=20)
    await res.release(output_tokens_used=1000)
    assert await out_a.tokens() == pytest.approx(5000, abs=20)

    a.observe(200, _state(requests=RateLimitWindow(limit=600, remaining=3)))
    await a.flush()
    req_b = b.buckets["requests"]
    assert isinstance(req_b, RedisTokenBucket)
    assert await req_b.tokens() == pytest.approx(3, abs=0.5)  # b sees a's observation

    a.observe(429, _state(retry_after=0.2))
    await a.flush()
    start = time.monotonic()
    res_b = await b.reserve(input_tokens=1, output_tokens=1)  # b never saw the 429
    assert time.monotonic() - start == pytest.approx(0.2, abs=0.08)
    await res_b.release()
    assert "RedisTokenBucket(key='rawclaude:" in repr(a)
    await a.aclose()
    await b.aclose()


# A worker process: connects, says "ready", waits for "go" on stdin, then takes
# N single tokens with C concurrent tasks and prints the wall-clock grant times.
WORKER = r"""
import asyncio, json, sys, time
from rawclaude.io.limiter import RateLimiter
from rawclaude.io.redis_limiter import RedisTokenBucket

async def main(url, key, rate, capacity, n, concurrency):
    bucket = RedisTokenBucket(url, key, rate, capacity)
    await bucket.tokens()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    times, todo = [], list(range(n))
    async def one():
        while todo:
            todo.pop()
            await bucket.acquire(1)
            times.append(time.time())
    await asyncio.gather(*(one() for _ in range(concurrency)))
    await bucket.aclose()
    print(json.dumps(times), flush=True)

a = sys.argv
asyncio.run(main(a[1], a[2], float(a[3]), float(a[4]), int(a[5]), int(a[6])))
"""


def test_processes_sharing_one_bucket_never_exceed_it(redis_server: RedisServer) -> None:
    key, rate, capacity, procs_n, per_proc = _key(), 40.0, 10.0, 4, 15
    env = _env()
    args = [redis_server.url, key, str(rate), str(capacity), str(per_proc), "5"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        for _ in range(procs_n)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.strip() == b"ready", proc.stderr.read() if proc.stderr else line
        t0 = time.time()
        asyncio.run(_create_full_bucket(redis_server.url, key, rate, capacity))
        outs = [proc.communicate(b"go\n", timeout=30) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    grants = sorted(t for out, err in outs for t in json.loads(out.decode().splitlines()[-1]))
    assert len(grants) == procs_n * per_proc
    # Token-bucket invariant: by any time t, at most rate * (t - t0) + capacity
    # granted. t0 is taken before the bucket exists and each grant time after
    # Redis granted it, so the check cannot fail a correct limiter.
    for k, t in enumerate(grants, start=1):
        assert k <= rate * (t - t0) + capacity + 1e-3, (k, t - t0)
    ideal = (len(grants) - capacity) / rate
    assert grants[-1] - t0 <= 2 * ideal + 0.5  # and nobody slept much past their turn


async def _create_full_bucket(url: str, key: str, rate: float, capacity: float) -> None:
    bucket = RedisTokenBucket(url, key, rate, capacity)
    await bucket.refund(0)  # the first write creates the bucket, full
    await bucket.aclose()


def test_import_rawclaude_never_imports_redis() -> None:
    code = (
        "import sys, rawclaude, rawclaude.io.redis_limiter\n"
        "assert 'redis' not in sys.modules, sorted(m for m in sys.modules if 'redis' in m)\n"
    )
    env = _env()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
