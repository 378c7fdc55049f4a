"""Narrow tests of the HTTP layer with aioresponses: request shape and the one
place where aiohttp's exceptions become ours."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import pytest
from aioresponses import aioresponses
from scripted_server import ScriptedServer, ok

from rawclaude import APIConnectionError, APITimeoutError, Client
from rawclaude.io.transport import TransportFailure

BASE = "http://api.test"
MODELS_PAGE = {
    "data": [
        {
            "type": "model",
            "id": "claude-x",
            "display_name": "Claude X",
            "created_at": "2026-01-01T00:00:00Z",
        }
    ],
    "has_more": False,
    "first_id": "claude-x",
    "last_id": "claude-x",
}


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


# aioresponses 0.7.9 cannot build a *response* under aiohttp 3.14 (its
# ClientResponse lacks the new ``stream_writer`` argument; aioresponses issue
# #289), so request-shape tests run against the scripted 127.0.0.1 server and
# aioresponses is used here only to inject transport exceptions.


async def test_count_tokens_request_shape(server: ScriptedServer) -> None:
    server.queue(ok({"input_tokens": 12}))
    async with Client("k", base_url=server.base_url) as client:
        counted = await client.messages.count_tokens(
            model="claude-x", messages=[{"role": "user", "content": "hi"}], betas=["b"]
        )
    assert counted.input_tokens == 12
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/messages/count_tokens")
    assert sent.headers["anthropic-beta"] == "b"
    assert sent.json() == {"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}


async def test_models_list_query_and_retrieve_quoting(server: ScriptedServer) -> None:
    server.queue(ok(MODELS_PAGE), ok(MODELS_PAGE["data"][0]))
    async with Client("k", base_url=server.base_url) as client:
        page = await client.models.list(limit=5, after_id="a b")
        model = await client.models.retrieve("claude/x")
    assert page.data[0].id == "claude-x" and not page.has_more
    assert model.display_name == "Claude X"
    assert [r.path for r in server.requests] == [
        "/v1/models?limit=5&after_id=a+b",
        "/v1/models/claude%2Fx",
    ]
    assert server.requests[0].method == "GET" and server.requests[0].body == b""


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (aiohttp.ServerDisconnectedError(), APIConnectionError),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), APIConnectionError),
        (aiohttp.ClientPayloadError("Response payload is not completed"), APIConnectionError),
        (asyncio.TimeoutError(), APITimeoutError),
        (aiohttp.ServerTimeoutError("Timeout on reading data from socket"), APITimeoutError),
        (ConnectionRefusedError(111, "refused"), APIConnectionError),
    ],
)
async def test_aiohttp_errors_are_translated_once_and_chained(
    mocked: aioresponses, exc: BaseException, expected: type[Exception]
) -> None:
    mocked.post(f"{BASE}/v1/messages", exception=exc)
    async with Client("k", base_url=BASE, max_retries=0) as client:
        with pytest.raises(expected) as info:
            await client.messages.create(model="m", max_tokens=1, messages=[])
    assert type(info.value) is expected
    # Chained as text (issue 8): the original's traceback reaches the request
    # headers, so the cause names it without holding it.
    cause = info.value.__cause__
    assert isinstance(cause, TransportFailure) and cause.original_type is type(exc)
    assert cause.__traceback__ is None and info.value.__context__ is None
