"""client.messages.batches against the fake server (and a scripted one for bad bodies)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web

from rawclaude import (
    BadRequestError,
    BatchWaitTimeoutError,
    Client,
    ConfigurationError,
    JSONLError,
    NotFoundError,
    UnsupportedParameterError,
)
from rawclaude.client import batches as batches_module
from rawclaude.client.hooks import CallRecord, Hook
from rawclaude.testing import FakeServer, Reply
from rawclaude.wire.batches import (
    MessageBatch,
    MessageBatchCanceledResult,
    MessageBatchErroredResult,
    MessageBatchExpiredResult,
    MessageBatchRequestCounts,
    MessageBatchSucceededResult,
)
from rawclaude.wire.models import TextBlock

PARAMS = {
    "model": "claude-haiku-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "Classify: refund please"}],
}


def req(custom_id: str, text: str = "Classify: refund please") -> dict[str, Any]:
    messages = [{"role": "user", "content": text}]
    return {"custom_id": custom_id, "params": {**PARAMS, "messages": messages}}


class Records(Hook):
    def __init__(self) -> None:
        self.done: list[CallRecord] = []

    def on_complete(self, record: CallRecord) -> None:
        self.done.append(record)

    def results_calls(self) -> list[CallRecord]:
        return [r for r in self.done if r.url.endswith("/results")]


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    async with FakeServer(batch_processing_seconds=None) as srv:
        yield srv


@pytest.fixture
def records() -> Records:
    return Records()


@pytest.fixture
async def client(server: FakeServer, records: Records) -> AsyncIterator[Client]:
    async with Client("sk-fake", base_url=server.base_url, hooks=[records]) as c:
        yield c


def posts(server: FakeServer) -> list[Any]:
    return [r for r in server.requests if r.method == "POST" and r.path == "/v1/messages/batches"]


async def ended(client: Client, server: FakeServer, requests: list[dict[str, Any]]) -> MessageBatch:
    batch = await client.messages.batches.create(requests)
    server.end_batch(batch.id)
    return await client.messages.batches.retrieve(batch.id)


# -- create, retrieve, results --------------------------------------------------


async def test_create_wait_results_round_trip(client: Client, server: FakeServer) -> None:
    batch = await client.messages.batches.create([req("a", "one"), req("b", "two")])
    assert batch.processing_status == "in_progress" and batch.request_counts.processing == 2
    assert batch.results_url is None and batch.request_id is not None
    server.end_batch(batch.id)
    seen: list[int] = []
    done = await client.messages.batches.wait(
        batch.id, poll_interval=0.01, on_progress=lambda b: seen.append(b.request_counts.succeeded)
    )
    assert done.ended and done.results_url is not None and seen == [2]
    got = {r.custom_id: r async for r in client.messages.batches.results(done)}
    assert set(got) == {"a", "b"}
    for custom_id, text in (("a", "one"), ("b", "two")):
        result = got[custom_id].result
        assert isinstance(result, MessageBatchSucceededResult)
        block = result.message.content[0]
        assert isinstance(block, TextBlock) and block.text == text


async def test_scripted_outcomes_are_typed(client: Client, server: FakeServer) -> None:
    server.script_batch_result("err", Reply.error(400, "invalid_request_error", "too long"))
    server.script_batch_result("can", "canceled")
    server.script_batch_result("exp", "expired")
    batch = await ended(client, server, [req("ok"), req("err"), req("can"), req("exp")])
    assert batch.request_counts.errored == 1 and batch.request_counts.expired == 1
    got = await client.messages.batches.results_by_custom_id(batch.id)
    assert isinstance(got["ok"].result, MessageBatchSucceededResult)
    errored = got["err"].result
    assert isinstance(errored, MessageBatchErroredResult)
    assert errored.error_type == "invalid_request_error" and "too long" in errored.error_message
    assert isinstance(got["can"].result, MessageBatchCanceledResult)
    assert isinstance(got["exp"].result, MessageBatchExpiredResult)


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r", b"\n"])
async def test_results_with_line_ends_split_across_chunks(
    client: Client, server: FakeServer, line_end: bytes
) -> None:
    """7-byte HTTP chunks cut CRLFs in two (and everything else); seeded shuffle."""
    requests = [req(f"r{i}", f"text {i} é 世界") for i in range(40)]
    batch = await ended(client, server, requests)
    server.set_results_format(chunk_size=7, line_end=line_end, seed=3)
    got = [r async for r in client.messages.batches.results(batch.id)]
    assert sorted(r.custom_id for r in got) == sorted(f"r{i}" for i in range(40))
    assert [r.custom_id for r in got] != [f"r{i}" for i in range(40)]  # no fixed order
    texts = {r.custom_id: r.result.message.content[0].text for r in got}  # type: ignore[union-attr]
    assert texts == {f"r{i}": f"text {i} é 世界" for i in range(40)}


async def test_results_of_a_batch_not_ended(client: Client, server: FakeServer) -> None:
    batch = await client.messages.batches.create([req("a")])
    with pytest.raises(ConfigurationError, match="wait"):
        async for _ in client.messages.batches.results(batch.id):
            pass


# -- release on every exit ---------------------------------------------------------


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_break_releases_the_response(
    client: Client, server: FakeServer, records: Records
) -> None:
    batch = await ended(client, server, [req(f"r{i}") for i in range(30)])
    server.set_results_format(chunk_size=50)
    async for _ in client.messages.batches.results(batch.id):
        break
    await settle()
    (call,) = records.results_calls()
    assert call.end == "closed"


async def test_exception_in_the_loop_releases_the_response(
    client: Client, server: FakeServer, records: Records
) -> None:
    batch = await ended(client, server, [req(f"r{i}") for i in range(30)])
    server.set_results_format(chunk_size=50)
    with pytest.raises(KeyError):
        async for _ in client.messages.batches.results(batch.id):
            raise KeyError("caller's bug")
    await settle()
    assert [c.end for c in records.results_calls()] == ["closed"]


async def test_async_with_releases_at_block_end(
    client: Client, server: FakeServer, records: Records
) -> None:
    batch = await ended(client, server, [req(f"r{i}") for i in range(30)])
    server.set_results_format(chunk_size=50)
    async with client.messages.batches.results(batch.id) as results:
        async for _ in results:
            break
        # `results` still holds the iterator: no finalizer runs; the block's end
        # must release the response.
        assert records.results_calls() == []
    assert [c.end for c in records.results_calls()] == ["closed"]


async def test_reading_to_the_end_completes_the_call(
    client: Client, server: FakeServer, records: Records
) -> None:
    batch = await ended(client, server, [req("a"), req("b")])
    assert len([r async for r in client.messages.batches.results(batch.id)]) == 2
    assert [c.end for c in records.results_calls()] == ["complete"]


async def test_cancellation_releases_the_response(
    client: Client, server: FakeServer, records: Records
) -> None:
    batch = await ended(client, server, [req(f"r{i}") for i in range(200)])
    server.set_results_format(chunk_size=64)
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in client.messages.batches.results(batch.id):
            started.set()
            await asyncio.sleep(10)

    task = asyncio.ensure_future(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await settle()
    assert [c.end for c in records.results_calls()] == ["closed"]


# -- a results body that is not what the API sends -----------------------------------


@pytest.fixture
async def bad_results() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server whose /results body is whatever the test puts in the list."""
    body: list[bytes] = []

    async def results(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/x-jsonl"})
        await resp.prepare(request)
        for piece in body:
            await resp.write(piece)
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/results", results)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/results", body
    await runner.cleanup()


def ended_batch(results_url: str) -> MessageBatch:
    counts = {"processing": 0, "succeeded": 1, "errored": 0, "canceled": 0, "expired": 0}
    return MessageBatch(
        id="msgbatch_x",
        processing_status="ended",
        request_counts=MessageBatchRequestCounts(**counts),
        created_at="2026-12-01T00:00:00Z",
        expires_at="2026-12-02T00:00:00Z",
        results_url=results_url,
    )


async def test_a_bad_line_names_its_number_and_releases(
    bad_results: tuple[str, list[bytes]], records: Records
) -> None:
    url, body = bad_results
    good = b'{"custom_id":"a","result":{"type":"canceled"}}'
    body.extend([good + b"\r\n\r\n", good[:10], good[10:] + b"\n", b'{"custom_id": 1}\n', good])
    got: list[str] = []
    async with Client("sk-fake", base_url=url.rsplit("/", 1)[0], hooks=[records]) as client:
        with pytest.raises(JSONLError) as info:
            async for result in client.messages.batches.results(ended_batch(url)):
                got.append(result.custom_id)
    assert got == ["a", "a"] and info.value.line_number == 4
    await settle()
    # Released once (the small body may have been read to its end already).
    assert [c.end in ("closed", "complete") for c in records.results_calls()] == [True]


async def test_line_cap_is_a_typed_error(bad_results: tuple[str, list[bytes]]) -> None:
    url, body = bad_results
    body.append(b'{"custom_id":"a","result":{"type":"canceled"}}\n')
    async with Client("sk-fake", base_url=url.rsplit("/", 1)[0]) as client:
        with pytest.raises(JSONLError, match="max_line_size=10"):
            async for _ in client.messages.batches.results(ended_batch(url), max_line_size=10):
                pass
    with pytest.raises(ConfigurationError, match="max_line_size"):
        client.messages.batches.results("msgbatch_x", max_line_size=0)


# -- create checks, create_many ------------------------------------------------------


async def test_create_checks_everything_before_sending(client: Client, server: FakeServer) -> None:
    with pytest.raises(ConfigurationError, match=r"requests\[1\] \(custom_id='a'\)"):
        await client.messages.batches.create([req("a"), req("a")])
    with pytest.raises(UnsupportedParameterError, match=r"requests\[0\]"):
        await client.messages.batches.create([{"custom_id": "t", "params": {**PARAMS, "top_k": 3}}])
    with pytest.raises(ConfigurationError, match="create_many"):
        await client.messages.batches.create(req(f"r{i}") for i in range(100_001))
    assert posts(server) == []


def generated(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield req(f"r{i}")


async def agenerated(n: int) -> AsyncIterator[dict[str, Any]]:
    for i in range(n):
        await asyncio.sleep(0)
        yield req(f"r{i}")


@pytest.mark.parametrize("source", [generated, agenerated])
async def test_create_many_splits_by_the_limits(
    client: Client, server: FakeServer, source: Any
) -> None:
    made = await client.messages.batches.create_many(source(7), max_requests=3)
    assert [b.request_counts.processing for b in made] == [3, 3, 1]
    assert len(posts(server)) == 3
    by_id = {b["id"]: b for b in server.batches}
    assert all(
        by_id[b.id]["request_counts"]["processing"] == b.request_counts.processing for b in made
    )


async def test_create_many_splits_by_bytes(client: Client, server: FakeServer) -> None:
    made = await client.messages.batches.create_many(generated(10), max_bytes=700)
    assert sum(b.request_counts.processing for b in made) == 10 and len(made) > 2


async def test_create_many_error_keeps_the_batches_already_made(
    client: Client, server: FakeServer
) -> None:
    def requests() -> Iterator[dict[str, Any]]:
        yield from generated(4)
        yield {"custom_id": "bad id", "params": PARAMS}

    with pytest.raises(ConfigurationError, match=r"requests\[4\]") as info:
        await client.messages.batches.create_many(requests(), max_requests=2)
    # r0-r1 went out when r2 arrived; r2-r3 wait with the bad request, unsent.
    created = info.value.created_batches  # type: ignore[attr-defined]
    assert [b.request_counts.processing for b in created] == [2]
    assert len(posts(server)) == 1


async def test_create_many_of_nothing(client: Client) -> None:
    assert await client.messages.batches.create_many([]) == []
    with pytest.raises(ConfigurationError):
        await client.messages.batches.create_many("abc")  # type: ignore[arg-type]


# -- list, cancel, delete -------------------------------------------------------------


async def test_list_walks_every_page(client: Client, server: FakeServer) -> None:
    made = [await client.messages.batches.create([req(f"r{i}")]) for i in range(5)]
    listed = [b.id async for b in client.messages.batches.list(limit=2)]
    assert listed == [b.id for b in reversed(made)]  # newest first
    page = await client.messages.batches.list(limit=2)
    assert [b.id for b in page.data] == listed[:2] and page.has_more
    older = [b.id async for b in client.messages.batches.list(limit=2, after_id=listed[1])]
    assert older == listed[2:]
    pages = [len(p.data) async for p in client.messages.batches.list(limit=2).pages()]
    assert pages == [2, 2, 1]
    with pytest.raises(ConfigurationError, match="limit"):
        client.messages.batches.list(limit=0)


async def test_cancel_then_delete(client: Client, server: FakeServer) -> None:
    batch = await client.messages.batches.create([req("a"), req("b")])
    with pytest.raises(BadRequestError):
        await client.messages.batches.delete(batch.id)  # not ended yet
    canceling = await client.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at
    server.end_batch(batch.id)
    got = await client.messages.batches.results_by_custom_id(batch.id)
    assert {type(r.result) for r in got.values()} == {MessageBatchCanceledResult}
    deleted = await client.messages.batches.delete(batch)
    assert deleted.id == batch.id and deleted.type == "message_batch_deleted"
    with pytest.raises(NotFoundError):
        await client.messages.batches.retrieve(batch.id)


async def test_bad_ids_refused_before_sending(client: Client, server: FakeServer) -> None:
    for bad in ("", None, 5):
        with pytest.raises(ConfigurationError, match="batch_id"):
            await client.messages.batches.retrieve(bad)  # type: ignore[arg-type]
    assert server.requests == []


async def test_results_by_custom_id_refuses_a_repeated_id(
    client: Client, server: FakeServer
) -> None:
    one = await ended(client, server, [req("a")])
    two = await ended(client, server, [req("a")])
    with pytest.raises(ConfigurationError, match="'a' appears twice"):
        await client.messages.batches.results_by_custom_id(one, two)


# -- wait -------------------------------------------------------------------------------


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between polls, recorded instead of slept."""
    recorded: list[float] = []

    async def fake_sleep(delay: float) -> None:
        recorded.append(delay)
        await asyncio.sleep(0)

    monkeypatch.setattr(batches_module, "_sleep", fake_sleep)
    return recorded


async def test_wait_polls_and_reports_progress(
    client: Client, server: FakeServer, sleeps: list[float]
) -> None:
    batch = await client.messages.batches.create([req("a"), req("b")])
    seen: list[str] = []

    async def progress(b: MessageBatch) -> None:
        seen.append(b.processing_status)
        if len(seen) == 3:
            server.end_batch(batch.id)

    done = await client.messages.batches.wait(batch.id, poll_interval=5, on_progress=progress)
    assert done.ended and seen == ["in_progress", "in_progress", "in_progress", "ended"]
    assert sleeps == [5.0, 5.0, 5.0]


async def test_wait_honours_retry_after(sleeps: list[float]) -> None:
    """A poll answered 429 (retries used up) waits what the server asked, then goes on."""
    state = {"polls": 0}

    async def get(request: web.Request) -> web.Response:
        state["polls"] += 1
        if state["polls"] == 1:
            return web.json_response(
                {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
                status=429,
                headers={"retry-after": "7"},
            )
        status = "ended" if state["polls"] > 2 else "in_progress"
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        payload = {
            "id": "msgbatch_1",
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "created_at": "2026-12-01T00:00:00Z",
            "expires_at": "2026-12-02T00:00:00Z",
        }
        return web.json_response(payload, headers={"retry-after": "3"})

    app = web.Application()
    app.router.add_get("/v1/messages/batches/msgbatch_1", get)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with Client("sk-fake", base_url=base, max_retries=0) as client:
            done = await client.messages.batches.wait("msgbatch_1", poll_interval=1)
    finally:
        await runner.cleanup()
    assert done.ended and state["polls"] == 3
    assert sleeps == [7.0, 3.0]  # the 429's retry-after, then the 200's over poll_interval


async def test_wait_times_out_with_the_last_state(client: Client, server: FakeServer) -> None:
    batch = await client.messages.batches.create([req("a")])
    with pytest.raises(BatchWaitTimeoutError) as info:
        await client.messages.batches.wait(batch.id, poll_interval=0.01, timeout=0.05)
    assert isinstance(info.value, TimeoutError)
    assert info.value.batch.id == batch.id and not info.value.batch.ended


async def test_cancelling_wait_stops_polling(
    client: Client, server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = await client.messages.batches.create([req("a")])
    polled_twice = asyncio.Event()
    waits: list[float] = []

    async def fake_sleep(delay: float) -> None:
        waits.append(delay)
        if len(waits) == 2:
            polled_twice.set()
        await asyncio.sleep(0)

    monkeypatch.setattr(batches_module, "_sleep", fake_sleep)
    task = asyncio.ensure_future(client.messages.batches.wait(batch.id, poll_interval=1))
    await polled_twice.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    polls = len([r for r in server.requests if r.method == "GET"])
    for _ in range(20):
        await asyncio.sleep(0)
    assert len([r for r in server.requests if r.method == "GET"]) == polls


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"poll_interval": 0}, "poll_interval"),
        ({"timeout": -1}, "timeout"),
        ({"poll_interval": True}, "poll_interval"),
    ],
)
async def test_wait_arguments_checked(client: Client, kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        await client.messages.batches.wait("msgbatch_1", **kwargs)
