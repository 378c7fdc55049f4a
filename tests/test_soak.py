"""Reliability (issue 8, section 5): a bounded fault soak against a seeded hostile
127.0.0.1 server, and a cancellation storm against a RateLimiter.

Every call must end in success or a ``RawClaudeError``; nothing may hang; no
connection, task or limiter slot may be left behind.
"""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
from scripted_server import message_json, sse, text_stream_events

from rawclaude import Client, RateLimiter, RawClaudeError, Timeout
from rawclaude.policy.retry import RetryPolicy

MSG = [{"role": "user", "content": "Hello"}]
CALLS = 2000
CONCURRENCY = 128


def _response(status: int, body: bytes, content_type: str, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\nrequest-id: req_soak\r\n{extra}\r\n"
    )
    return head.encode() + body


def _stream_head(content_type: str = "text/event-stream") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\nconnection: close\r\n"
        "request-id: req_soak\r\n\r\n"
    ).encode()


GOOD = orjson.dumps(message_json("ok"))
EVENTS = b"".join(sse(e) for e in text_stream_events(["a", "b", "c"]))
ERROR_EVENT = (
    b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"x"}}\n\n'
)


class Hostile:
    """Answers each request with a fault drawn from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.faults: dict[str, int] = {}
        self.writers: set[asyncio.StreamWriter] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                keep = await self.answer(writer, b'"stream":true' in body)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # torn down mid-stall: a test server ends quietly
        finally:
            self.writers.discard(writer)
            writer.close()

    async def answer(self, w: asyncio.StreamWriter, streaming: bool) -> bool:
        name, fault = self.rng.choice(FAULTS)
        self.faults[name] = self.faults.get(name, 0) + 1
        return await fault(self, w, streaming)

    # Each fault writes its bytes and says whether the connection stays open.
    async def ok(self, w: asyncio.StreamWriter, streaming: bool) -> bool:
        if streaming:
            w.write(_stream_head() + EVENTS)
            await w.drain()
            return False
        w.write(_response(200, GOOD, "application/json"))
        await w.drain()
        return True

    async def reset(self, w: asyncio.StreamWriter, streaming: bool) -> bool:
        transport = w.transport
        transport.abort()  # type: ignore[attr-defined]
        return False

    async def stall(self, w: asyncio.StreamWriter, streaming: bool) -> bool:
        await asyncio.sleep(1.0)  # past the client's timeouts
        return False

    async def malformed(self, w: asyncio.StreamWriter, streaming: bool) -> bool:
        body = self.rng.choice([b"{not json", b'{"id": 1}', b"[" * 3000, b"\xff\xfe", b""])
        w.write(_response(200, body, "application/json"))
        await w.drain()
        return True

    async def truncated_sse(self, w: asyncio.StreamWriter, streaming: bool) -> bool:
        w.write(_stream_head() + EVENTS[: self.rng.randrange(1, len(EVENTS) - 1)])
        await w.drain()
        return False

    async def error_event(self, w: asyncio.StreamWriter, streaming: bool) -> bool:
        cut = EVENTS.index(b"event: content_block_delta")
        where = self.rng.choice([cut, len(EVENTS) - 30])
        w.write(_stream_head() + EVENTS[:where] + ERROR_EVENT)
        await w.drain()
        return False

    async def wrong_type(self, w: asyncio.StreamWriter, streaming: bool) -> bool:
        if streaming:
            w.write(_response(200, GOOD, "application/json", "connection: close\r\n"))
        else:
            w.write(_response(200, b"<html>hi</html>", "text/html"))
        await w.drain()
        return not streaming

    async def huge_header(self, w: asyncio.StreamWriter, streaming: bool) -> bool:
        w.write(_response(200, GOOD, "application/json", f"x-big: {'a' * 70000}\r\n"))
        await w.drain()
        return False

    async def status(self, w: asyncio.StreamWriter, streaming: bool) -> bool:
        status = self.rng.choice([400, 401, 404, 429, 500, 502, 529])
        body = self.rng.choice(
            [
                b'{"type":"error","error":{"type":"overloaded_error","message":"busy","n":1e400}}',
                b"<html>bad gateway</html>",
                b"",
                b'{"type":"error","error":' + b"[" * 2000,
            ]
        )
        w.write(_response(status, body, "application/json", "retry-after: 0\r\n"))
        await w.drain()
        return True

    async def garbage(self, w: asyncio.StreamWriter, streaming: bool) -> bool:
        w.write(bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 200))))
        await w.drain()
        return False


Fault = Callable[[Hostile, asyncio.StreamWriter, bool], Any]
FAULTS: list[tuple[str, Fault]] = [
    (name, getattr(Hostile, name))
    for name in (
        "ok",
        "ok",
        "ok",
        "reset",
        "stall",
        "malformed",
        "truncated_sse",
        "error_event",
        "wrong_type",
        "huge_header",
        "status",
        "garbage",
    )
]


@pytest.fixture
async def hostile() -> AsyncIterator[tuple[Hostile, str]]:
    h = Hostile(seed=8)
    server = await asyncio.start_server(h.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield h, f"http://127.0.0.1:{port}"
    for _ in range(40):  # let stalled handlers finish
        if not h.writers:
            break
        await asyncio.sleep(0.05)
    for writer in list(h.writers):
        writer.close()
    server.close()


async def _one(client: Client, i: int) -> str:
    try:
        if i % 2:
            async with client.messages.stream(model="m", max_tokens=5, messages=MSG) as s:
                await s.get_final_message()
        else:
            await client.messages.create(model="m", max_tokens=5, messages=MSG)
        return "ok"
    except RawClaudeError as exc:
        return type(exc).__name__


async def test_fault_soak_ends_every_call_in_data_or_a_typed_error(
    hostile: tuple[Hostile, str],
) -> None:
    faults, url = hostile
    limiter = RateLimiter(max_concurrency=CONCURRENCY)
    timeout = Timeout(connect=1.0, total=0.5, stream_idle=0.4)
    client = Client("k", base_url=url, limiter=limiter, timeout=timeout)
    client.retry_policy = RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.005)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def bounded(i: int) -> str:
        async with gate:
            return await _one(client, i)

    before = set(asyncio.all_tasks())
    outcomes = await asyncio.wait_for(asyncio.gather(*(bounded(i) for i in range(CALLS))), 120)
    assert len(outcomes) == CALLS
    assert "ok" in outcomes and len(set(outcomes)) > 3  # the faults were really met
    assert limiter.in_flight == 0
    connector = client._shared.session.get().connector
    assert connector is not None and not connector._acquired  # type: ignore[attr-defined]
    await client.close()
    gc.collect()
    await asyncio.sleep(0)
    left = set(asyncio.all_tasks()) - before - {asyncio.current_task()}
    assert all("Hostile.serve" in repr(t) for t in left)  # only the server's own
    assert len(faults.faults) >= 10


async def test_cancellation_storm_gives_every_slot_and_token_back(
    hostile: tuple[Hostile, str],
) -> None:
    _, url = hostile
    limiter = RateLimiter(
        max_concurrency=16, output_tokens_per_minute=60_000, input_tokens_per_minute=600_000
    )
    client = Client("k", base_url=url, limiter=limiter, timeout=Timeout(total=0.5, stream_idle=0.4))
    client.retry_policy = RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.005)
    rng = random.Random(3)
    tasks = [asyncio.create_task(_one(client, i)) for i in range(400)]
    for task in tasks:
        if rng.random() < 0.7:
            asyncio.get_running_loop().call_later(rng.random() * 0.3, task.cancel)
    done = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
    assert all(isinstance(r, (str, asyncio.CancelledError)) for r in done)
    assert any(isinstance(r, asyncio.CancelledError) for r in done)
    assert limiter.in_flight == 0
    buckets = limiter.buckets
    for _ in range(100):  # refills continue; nothing stays reserved
        if all(b.tokens >= b.capacity * 0.99 for b in buckets.values()):  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.05)
    # Output is reserved as max_tokens (5) per attempt: with everything back or
    # refilled the buckets are full again.
    assert all(b.tokens >= b.capacity * 0.99 for b in buckets.values())  # type: ignore[attr-defined]
    await client.close()
