"""rawclaude.testing: Message Batches, seen by plain aiohttp and by the official SDK."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anthropic
import pytest

from rawclaude.testing import FakeServer, Reply

HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
MODEL = "claude-sonnet-4-6"
BATCHES = "/v1/messages/batches"


def params(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def batch_body(*ids: str) -> dict[str, Any]:
    return {"requests": [{"custom_id": cid, "params": params(f"hi {cid}")} for cid in ids]}


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    async with FakeServer(batch_processing_seconds=None) as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=HEADERS) as client:
        yield client


async def call(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> tuple[int, Any]:
    async with session.request(method, url, json=body) as response:
        raw = await response.read()
        return response.status, json.loads(raw) if raw else None


async def create(session: aiohttp.ClientSession, server: FakeServer, *ids: str) -> dict[str, Any]:
    status, batch = await call(session, "POST", server.base_url + BATCHES, batch_body(*ids))
    assert status == 200, batch
    return dict(batch)


async def results(session: aiohttp.ClientSession, url: str) -> tuple[str, bytes]:
    async with session.get(url) as response:
        assert response.status == 200
        return response.content_type, await response.read()


def by_id(raw: bytes) -> dict[str, dict[str, Any]]:
    lines = [json.loads(line) for line in raw.splitlines() if line]
    return {line["custom_id"]: line["result"] for line in lines}


# -- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requests", "needle"),
    [
        ([], "1 to 100000"),
        ([{"custom_id": "", "params": params("x")}], "custom_id"),
        ([{"custom_id": "a" * 65, "params": params("x")}], "custom_id"),
        ([{"custom_id": "bad id!", "params": params("x")}], "custom_id"),
        ([{"custom_id": "a", "params": params("x")}] * 2, "duplicate"),
        ([{"custom_id": "a"}], "params"),
    ],
)
async def test_create_validates_requests(
    server: FakeServer, session: aiohttp.ClientSession, requests: list[Any], needle: str
) -> None:
    status, body = await call(session, "POST", server.base_url + BATCHES, {"requests": requests})
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    assert needle in body["error"]["message"]


async def test_custom_id_of_64_allowed_chars_is_accepted(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    batch = await create(session, server, "A-z_0" + "9" * 59)
    assert batch["request_counts"]["processing"] == 1


# -- the batch object and its life ------------------------------------------------------


async def test_batch_object_shape_and_end(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    batch = await create(session, server, "a", "b")
    assert batch["id"].startswith("msgbatch_")
    assert batch["type"] == "message_batch"
    assert batch["processing_status"] == "in_progress"
    assert batch["request_counts"] == {
        "processing": 2,
        "succeeded": 0,
        "errored": 0,
        "canceled": 0,
        "expired": 0,
    }
    assert batch["results_url"] is None and batch["ended_at"] is None
    assert batch["archived_at"] is None and batch["cancel_initiated_at"] is None
    status, _ = await call(session, "GET", f"{server.base_url}{BATCHES}/{batch['id']}/results")
    assert status == 400  # not ended yet
    server.end_batch(batch["id"])
    _, ended = await call(session, "GET", f"{server.base_url}{BATCHES}/{batch['id']}")
    assert ended["processing_status"] == "ended"
    assert ended["request_counts"]["succeeded"] == 2
    assert ended["results_url"] == f"{server.base_url}{BATCHES}/{batch['id']}/results"
    assert server.batches[0]["processing_status"] == "ended"


async def test_timed_processing_moves_counts_with_the_clock(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeServer(batch_processing_seconds=100.0) as fake:
        batch = await create(session, fake, *[f"r{i}" for i in range(4)])
        fake.advance_time(50)
        assert fake.batches[0]["request_counts"]["processing"] == 2
        assert fake.batches[0]["request_counts"]["succeeded"] == 2
        fake.advance_time(50)
        _, ended = await call(session, "GET", f"{fake.base_url}{BATCHES}/{batch['id']}")
    assert ended["processing_status"] == "ended"
    assert ended["request_counts"]["succeeded"] == 4


async def test_expires_after_24_hours(server: FakeServer, session: aiohttp.ClientSession) -> None:
    batch = await create(session, server, "a")
    assert batch["expires_at"] > batch["created_at"]
    server.advance_time(24 * 3600)
    _, seen = await call(session, "GET", f"{server.base_url}{BATCHES}/{batch['id']}")
    assert seen["processing_status"] == "ended"
    assert seen["request_counts"]["expired"] == 1


async def test_cancel_then_end_cancels_unfinished(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    server.script_batch_result("done", Reply.text("finished first"))
    batch = await create(session, server, "x", "y")
    url = f"{server.base_url}{BATCHES}/{batch['id']}"
    status, canceling = await call(session, "POST", url + "/cancel")
    assert status == 200
    assert canceling["processing_status"] == "canceling"
    assert canceling["cancel_initiated_at"] is not None
    status, _ = await call(session, "DELETE", url)
    assert status == 400  # only ended batches can be deleted
    server.end_batch(batch["id"])
    _, ended = await call(session, "GET", url)
    assert ended["processing_status"] == "ended"
    assert ended["request_counts"]["canceled"] == 2
    _, raw = await results(session, ended["results_url"])
    assert {r["type"] for r in by_id(raw).values()} == {"canceled"}
    status, deleted = await call(session, "DELETE", url)
    assert (status, deleted) == (200, {"id": batch["id"], "type": "message_batch_deleted"})
    status, _ = await call(session, "GET", url)
    assert status == 404


async def test_results_use_the_messages_reply_logic(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    server.script_batch_result("scripted", Reply.text("Scripted answer"))
    server.script_batch_result("failed", Reply.error(529))
    server.script_batch_result("gone", "expired")
    server.script_batch_result("stopped", "canceled")
    body = batch_body("echo", "scripted", "failed", "gone", "stopped")
    body["requests"].append({"custom_id": "invalid", "params": {"model": MODEL}})
    _, batch = await call(session, "POST", server.base_url + BATCHES, body)
    server.end_batch(batch["id"])
    _, ended = await call(session, "GET", f"{server.base_url}{BATCHES}/{batch['id']}")
    assert ended["request_counts"] == {
        "processing": 0,
        "succeeded": 2,
        "errored": 2,
        "canceled": 1,
        "expired": 1,
    }
    content_type, raw = await results(session, ended["results_url"])
    assert content_type == "application/x-jsonl"
    found = by_id(raw)
    assert found["echo"]["message"]["content"] == [{"type": "text", "text": "hi echo"}]
    assert found["scripted"]["message"]["content"][0]["text"] == "Scripted answer"
    assert found["failed"] == {
        "type": "errored",
        "error": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    }
    assert found["invalid"]["error"]["error"]["type"] == "invalid_request_error"
    assert found["gone"] == {"type": "expired"}
    assert found["stopped"] == {"type": "canceled"}


async def test_results_shuffle_is_seeded(session: aiohttp.ClientSession) -> None:
    orders = []
    for _ in range(2):
        async with FakeServer(batch_processing_seconds=0.0, results_seed=7) as fake:
            ids = [f"r{i}" for i in range(12)]
            batch = await create(session, fake, *ids)
            _, raw = await results(session, f"{fake.base_url}{BATCHES}/{batch['id']}/results")
            orders.append(list(by_id(raw)))
    assert orders[0] == orders[1]
    assert orders[0] != [f"r{i}" for i in range(12)]
    assert sorted(orders[0]) == sorted(f"r{i}" for i in range(12))


async def test_results_chunks_split_a_crlf(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    batch = await create(session, server, "first", "second", "third")
    server.end_batch(batch["id"])
    url = f"{server.base_url}{BATCHES}/{batch['id']}/results"
    server.set_results_format(line_end=b"\r\n")
    _, whole = await results(session, url)
    cut = whole.index(b"\r") + 1  # a chunk size that ends the first chunk on the CR
    server.set_results_format(chunk_size=cut, line_end=b"\r\n")
    chunks = []
    async with session.get(url) as response:
        async for data, _end_of_http_chunk in response.content.iter_chunks():
            chunks.append(data)
    assert b"".join(chunks) == whole
    assert chunks[0].endswith(b"\r") and chunks[1].startswith(b"\n")
    assert all(len(chunk) <= cut for chunk in chunks)
    assert whole.count(b"\r\n") == 3


async def test_list_pages_newest_first(server: FakeServer, session: aiohttp.ClientSession) -> None:
    made = [(await create(session, server, "a"))["id"] for _ in range(5)]
    newest = list(reversed(made))
    _, page = await call(session, "GET", f"{server.base_url}{BATCHES}?limit=2")
    assert [b["id"] for b in page["data"]] == newest[:2]
    assert page["has_more"] is True and page["last_id"] == newest[1]
    after = f"{server.base_url}{BATCHES}?limit=2&after_id={page['last_id']}"
    _, second = await call(session, "GET", after)
    assert [b["id"] for b in second["data"]] == newest[2:4]
    before = f"{server.base_url}{BATCHES}?limit=2&before_id={second['first_id']}"
    _, back = await call(session, "GET", before)
    assert [b["id"] for b in back["data"]] == newest[:2]
    assert back["has_more"] is False


# -- the official SDK as a client -------------------------------------------------------


async def test_sdk_create_retrieve_list_results_cancel() -> None:
    async with FakeServer(batch_processing_seconds=None) as fake:
        sdk = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test", max_retries=0)
        fake.script_batch_result("two", Reply.error(400, message="bad prompt"))
        batch = await sdk.messages.batches.create(
            requests=[
                {"custom_id": "one", "params": params("hello sdk")},  # type: ignore[typeddict-item]
                {"custom_id": "two", "params": params("x")},  # type: ignore[typeddict-item]
            ]
        )
        assert batch.processing_status == "in_progress"
        fake.end_batch(batch.id)
        retrieved = await sdk.messages.batches.retrieve(batch.id)
        assert retrieved.processing_status == "ended"
        assert retrieved.request_counts.succeeded == 1
        assert retrieved.request_counts.errored == 1
        listed = [b.id async for b in sdk.messages.batches.list(limit=1)]
        assert listed == [batch.id]
        found = {r.custom_id: r.result async for r in await sdk.messages.batches.results(batch.id)}
        one, two = found["one"], found["two"]
        assert one.type == "succeeded" and one.message.content[0].text == "hello sdk"  # type: ignore[union-attr]
        assert two.type == "errored" and two.error.error.message == "bad prompt"  # type: ignore[union-attr]
        other = await sdk.messages.batches.create(
            requests=[{"custom_id": "c", "params": params("x")}]  # type: ignore[typeddict-item]
        )
        canceled = await sdk.messages.batches.cancel(other.id)
        assert canceled.processing_status == "canceling"
        deleted = await sdk.messages.batches.delete(batch.id)
        assert deleted.type == "message_batch_deleted"
        await sdk.close()
