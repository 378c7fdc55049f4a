"""Conversation stores: memory and a real redis-server; concurrent writers lose nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis_server import RedisServer, free_port, redis_server

from rawclaude import (
    Client,
    ConfigurationError,
    Conversation,
    ConversationConflictError,
    ConversationStoreError,
    MemoryConversationStore,
    RedisConversationStore,
)
from rawclaude.agents.store import ConversationStore
from rawclaude.testing import FakeServer

__all__ = ["redis_server"]  # fixture, imported for pytest


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    async with FakeServer() as srv:
        yield srv


@pytest.fixture
async def client(fake: FakeServer) -> AsyncIterator[Client]:
    async with Client("sk-fake", base_url=fake.base_url, max_retries=0) as c:
        yield c


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[ConversationStore]:
    if request.param == "memory":
        yield MemoryConversationStore()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    redis_store = RedisConversationStore(server.url, prefix=f"t-{uuid.uuid4().hex}:")
    yield redis_store
    await redis_store.aclose()


def texts(conv_messages: list[dict[str, Any]]) -> list[str]:
    return [m["content"] for m in conv_messages if m["role"] == "user"]


async def test_versions_and_conflicts(store: ConversationStore) -> None:
    assert await store.load("c1") is None
    assert await store.save("c1", b"one", expected_version=0) == 1
    with pytest.raises(ConversationConflictError) as info:
        await store.save("c1", b"two", expected_version=0)
    assert (info.value.expected_version, info.value.actual_version) == (0, 1)
    assert await store.load("c1") == (b"one", 1)  # the loser wrote nothing
    assert await store.save("c1", b"two", expected_version=1) == 2
    await store.delete("c1")
    assert await store.load("c1") is None


async def test_open_send_and_reload(store: ConversationStore, client: Client) -> None:
    conv = await Conversation.open(client, store, "chat-1", model="claude-x", system="sys")
    await conv.send("first")
    assert conv.version == 1
    again = await Conversation.open(client, store, "chat-1", model="claude-x")
    assert again.messages == conv.messages and again.system == "sys" and again.version == 1
    await again.send("second")
    assert texts(again.messages) == ["first", "second"] and again.version == 2


async def test_two_writers_at_once_never_lose_a_turn(
    store: ConversationStore, client: Client
) -> None:
    writers = [
        await Conversation.open(client, store, "shared", model="claude-x", max_conflict_retries=8)
        for _ in range(6)
    ]
    assert all(w.version == 0 for w in writers)  # all loaded the same (empty) version
    await asyncio.gather(*(w.send(f"turn {i}") for i, w in enumerate(writers)))
    final = await Conversation.open(client, store, "shared", model="claude-x")
    assert sorted(texts(final.messages)) == [f"turn {i}" for i in range(6)]
    assert [m["role"] for m in final.messages] == ["user", "assistant"] * 6
    assert final.version == 6


async def test_the_loser_can_get_a_typed_conflict(store: ConversationStore, client: Client) -> None:
    a = await Conversation.open(client, store, "strict", model="claude-x", on_conflict="raise")
    b = await Conversation.open(client, store, "strict", model="claude-x", on_conflict="raise")
    await a.send("a wins")
    with pytest.raises(ConversationConflictError, match="'strict'") as info:
        await b.send("b loses")
    assert info.value.conversation_id == "strict" and info.value.actual_version == 1
    b.on_conflict = "retry"
    await b.save()  # rebased onto a's turn
    final = await Conversation.open(client, store, "strict", model="claude-x")
    assert texts(final.messages) == ["a wins", "b loses"]


async def test_rebase_reanswers_open_tool_calls(client: Client) -> None:
    store = MemoryConversationStore()
    stored = Conversation(
        client,
        model="m",
        id="t",
        store=store,
        messages=[
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_x", "name": "f", "input": {}}],
            },
        ],
    )
    await stored.save()
    late = await Conversation.open(client, store, "t", model="m")
    other = await Conversation.open(client, store, "t", model="m")
    await other.send("other")
    await late.send("late")
    final = await Conversation.open(client, store, "t", model="m")
    users = [m for m in final.messages if m["role"] == "user"]
    assert users[1]["content"][0]["tool_use_id"] == "toolu_x"
    assert users[2]["content"] == [{"type": "text", "text": "late"}]  # no stale tool_result


async def test_redis_ttl_unavailable_and_repr(redis_server: RedisServer) -> None:
    store = RedisConversationStore(redis_server.url, prefix="ttl:", ttl=30)
    await store.save("c", b"x", expected_version=0)
    assert 0 < await store._redis.pttl("ttl:c") <= 30_000
    await store.aclose()
    dead = RedisConversationStore(f"redis://:pw-secret@127.0.0.1:{free_port()}/0")
    with pytest.raises(ConversationStoreError) as info:
        await dead.load("c")
    assert "pw-secret" not in str(info.value) and "pw-secret" not in repr(dead)
    await dead.aclose()
    with pytest.raises(ConfigurationError, match="url= or client="):
        RedisConversationStore()
