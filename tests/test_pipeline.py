"""The send pipeline (issue 8): hooks at one completion point, with_options,
the raw request() path, credential providers, admission stages, middleware."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from scripted_server import (
    ScriptedServer,
    error,
    message_json,
    ok,
    sse,
    stream,
    stream_events,
    text_stream_events,
)

from rawclaude import (
    APIConnectionError,
    AuthenticationError,
    Client,
    ConfigurationError,
    NotFoundError,
    OverloadedError,
    RateLimiter,
)
from rawclaude.client.call import Call, Outcome
from rawclaude.client.hooks import CallRecord, Hook, RequestRecord
from rawclaude.policy.retry import RetryPolicy

MSG = [{"role": "user", "content": "Hello"}]
FAST = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.01)


class Recorder(Hook):
    def __init__(self) -> None:
        self.requests: list[RequestRecord] = []
        self.completed: list[CallRecord] = []

    def on_request(self, record: RequestRecord) -> None:
        self.requests.append(record)

    def on_complete(self, record: CallRecord) -> None:
        self.completed.append(record)


def client_for(server: ScriptedServer, **kw: Any) -> Client:
    c = Client("sk-ant-pipeline-SECRET", base_url=server.base_url, **kw)
    c.retry_policy = FAST
    return c


async def create(client: Client, **kw: Any) -> Any:
    return await client.messages.create(model="m", max_tokens=5, messages=MSG, **kw)


# -- hooks ---------------------------------------------------------------------


async def test_hooks_see_each_attempt_and_one_completion(server: ScriptedServer) -> None:
    server.queue(error(529, "overloaded_error", headers={"retry-after": "0"}), ok())
    rec = Recorder()
    async with client_for(server, hooks=[rec]) as client:
        message = await create(client, tags={"tenant": "t1"})
    assert [r.attempt for r in rec.requests] == [0, 1]
    assert rec.requests[0].model == "m" and rec.requests[0].tags == {"tenant": "t1"}
    [done] = rec.completed
    assert done.ok and done.status == 200 and done.attempts == 2 and done.error is None
    assert done.kind == "messages.create" and done.model == "m"
    assert done.usage == message.usage and done.request_id == "req_ok"
    assert done.latency > 0 and done.tags == {"tenant": "t1"}


async def test_a_failed_call_completes_once_with_its_error(server: ScriptedServer) -> None:
    server.queue(error(404, "not_found_error"))
    rec = Recorder()
    async with client_for(server, hooks=[rec]) as client:
        with pytest.raises(NotFoundError):
            await create(client)
    [done] = rec.completed
    assert not done.ok and done.status == 404 and isinstance(done.error, NotFoundError)
    assert done.error_type == "NotFoundError"


async def test_a_hook_that_raises_is_logged_and_never_breaks_the_call(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def on_request(self, record: RequestRecord) -> None:
            raise RuntimeError("hook bug")

        def on_complete(self, record: CallRecord) -> None:
            raise ValueError("hook bug 2")

    async with client_for(server, hooks=[Broken()]) as client:
        message = await create(client)
    assert message.content
    assert "hook" in caplog.text and "raised" in caplog.text


async def test_per_call_hooks_add_to_the_clients(server: ScriptedServer) -> None:
    mine, theirs = Recorder(), Recorder()
    async with client_for(server, hooks=[mine]) as client:
        await create(client, hooks=[theirs])
        await create(client)
    assert len(mine.completed) == 2 and len(theirs.completed) == 1


async def test_stream_completes_when_read_with_ttft_and_usage(server: ScriptedServer) -> None:
    server.queue(stream_events(text_stream_events(["a", "b", "c"], output_tokens=9)))
    rec = Recorder()
    async with client_for(server, hooks=[rec]) as client:
        async with client.messages.stream(model="m", max_tokens=5, messages=MSG) as s:
            assert await s.get_final_text() == "abc"
    [done] = rec.completed
    assert done.ok and done.end == "complete" and done.kind == "messages.stream"
    assert done.ttft is not None and 0 < done.ttft <= done.latency
    assert done.usage is not None and done.usage.output_tokens == 9
    # The request is recorded; a stream's final message only for hooks with content = True.
    assert done.request is not None and done.request["model"] == "m" and done.response is None


async def test_a_stream_closed_early_completes_as_closed_with_its_last_usage(
    server: ScriptedServer,
) -> None:
    events = text_stream_events(["a"] * 20)
    server.queue(stream([sse(e) for e in events], delay=0.01))
    rec = Recorder()
    async with client_for(server, hooks=[rec]) as client:
        async with client.messages.stream(model="m", max_tokens=5, messages=MSG) as s:
            async for _ in s.text_stream:
                break
    [done] = rec.completed
    assert not done.ok and done.end == "closed"
    assert done.usage is not None and done.usage.input_tokens == 7  # from message_start


async def test_hook_objects_without_methods_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="hooks"):
        Client("k", hooks=[object()])


def test_inherited_no_op_hook_methods_are_not_called() -> None:
    from rawclaude.client.hooks import Hook, HookSet

    class Completes(Hook):
        def on_complete(self, record: object) -> None:
            pass

    class Requests(Hook):
        def on_request(self, record: object) -> None:
            pass

    class Both(Completes, Requests):
        pass

    done, sent, both = Completes(), Requests(), Both()
    hooks = HookSet([done, sent, both])
    # The pipeline builds a RequestRecord only when some hook has a real on_request.
    assert hooks.request == (sent.on_request, both.on_request)
    assert hooks.complete == (done.on_complete, both.on_complete)
    assert not HookSet([Completes()]).request


# -- with_options ---------------------------------------------------------------


async def test_with_options_is_a_cheap_copy_sharing_the_session(server: ScriptedServer) -> None:
    rec = Recorder()
    async with client_for(server) as client:
        await create(client)
        copy = client.with_options(max_retries=0, hooks=[rec], timeout=3.0)
        await create(copy)
        assert copy._shared is client._shared  # one session, one limiter, one state
        assert copy.timeout.total == 3.0 and client.timeout.total == 600.0
        assert copy.retry_policy.max_retries == 0 and client.retry_policy.max_retries == 2
        assert len(rec.completed) == 1
        with pytest.raises(ConfigurationError, match="session"):
            client.with_options(session=None)
        with pytest.raises(ConfigurationError, match="max_retries"):
            client.with_options(max_retries=-1)


# -- request() ----------------------------------------------------------------------


async def test_request_returns_a_typed_raw_response(server: ScriptedServer) -> None:
    server.queue(ok({"data": [1, 2], "has_more": False}, request_id="req_raw"))
    rec = Recorder()
    async with client_for(server, hooks=[rec]) as client:
        resp = await client.request(
            "post", "/v1/things", json={"a": 1}, params={"limit": 2, "x": None, "b": True}
        )
    assert resp.status == 200 and resp.request_id == "req_raw"
    assert resp.json() == {"data": [1, 2], "has_more": False}
    assert resp.headers["content-type"].startswith("application/json")
    sent = server.requests[0]
    assert sent.path == "/v1/things?limit=2&b=true" and sent.json() == {"a": 1}
    assert rec.completed[0].kind == "request"


async def test_request_streams_bytes_and_releases_at_the_end(server: ScriptedServer) -> None:
    async def chunks(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "application/x-jsonl"})
        await resp.prepare(request)
        for part in (b'{"a":1}\n', b'{"b"', b":2}\n"):
            await resp.write(part)
        await resp.write_eof()
        return resp

    server.queue(chunks)
    limiter = RateLimiter(max_concurrency=1)
    async with client_for(server, limiter=limiter) as client:
        async with await client.request("GET", server.base_url + "/x", stream=True) as resp:
            got = b"".join([c async for c in resp.iter_bytes()])
            assert resp.released and limiter.in_flight == 0
    assert got == b'{"a":1}\n{"b":2}\n'


async def test_request_body_source_is_sent_again_on_retry(server: ScriptedServer) -> None:
    server.queue(error(529, "overloaded_error", headers={"retry-after": "0"}), ok())
    opened = 0

    def source() -> AsyncIterator[bytes]:
        nonlocal opened
        opened += 1

        async def gen() -> AsyncIterator[bytes]:
            yield b"part1-"
            yield b"part2"

        return gen()

    async with client_for(server) as client:
        resp = await client.request(
            "POST", "/v1/upload", data=source, content_type="application/octet-stream"
        )
    assert resp.status == 200 and opened == 2
    assert [r.body for r in server.requests] == [b"part1-part2"] * 2
    assert server.requests[0].headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "FETCH", "path": "/v1/x"}, "method"),
        ({"method": "GET", "path": "v1/x"}, "path"),
        ({"method": "POST", "path": "/v1/x", "json": {}, "data": b"x"}, "not both"),
        ({"method": "POST", "path": "/v1/x", "data": 3}, "data"),
        ({"method": "GET", "path": "/v1/x", "params": {"a": [1]}}, "params"),
        ({"method": "GET", "path": "/v1/x", "headers": {"x-a": "b\r\nc"}}, "headers"),
    ],
)
async def test_request_mistakes_are_configuration_errors(
    server: ScriptedServer, kwargs: dict[str, Any], match: str
) -> None:
    async with client_for(server) as client:
        with pytest.raises(ConfigurationError, match=match):
            await client.request(**kwargs)
    assert server.requests == []


# -- credentials ---------------------------------------------------------------------


async def test_a_provider_is_asked_per_attempt_and_refreshed_once_on_401(
    server: ScriptedServer,
) -> None:
    class Rotating:
        def __init__(self) -> None:
            self.value, self.gets, self.refreshes = "old-key", 0, 0

        async def get(self) -> str:
            self.gets += 1
            return self.value

        def refresh(self) -> None:
            self.refreshes += 1
            self.value = "new-key"

    provider = Rotating()
    server.queue(error(401, "authentication_error"), ok())
    async with Client(provider, base_url=server.base_url) as client:
        await create(client)
        assert "old-key" not in repr(client) and "new-key" not in repr(client)
    assert [r.headers["x-api-key"] for r in server.requests] == ["old-key", "new-key"]
    assert provider.refreshes == 1 and provider.gets == 2


async def test_a_second_401_after_refresh_is_raised(server: ScriptedServer) -> None:
    server.queue(error(401, "authentication_error"), error(401, "authentication_error"))
    async with Client(lambda: "k1", base_url=server.base_url) as client:
        with pytest.raises(AuthenticationError):
            await create(client)
    assert len(server.requests) == 1  # a plain callable cannot refresh: no retry


async def test_explicit_auth_token_beats_an_api_key_in_the_environment(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    async with Client(auth_token="tok", base_url=server.base_url) as client:
        await create(client)
    headers = server.requests[0].headers
    assert headers["authorization"] == "Bearer tok" and "x-api-key" not in headers


async def test_a_provider_returning_garbage_is_a_configuration_error(
    server: ScriptedServer,
) -> None:
    async with Client(lambda: "bad key\n", base_url=server.base_url) as client:
        with pytest.raises(ConfigurationError, match="provider") as info:
            await create(client)
    assert "bad key" not in str(info.value) and server.requests == []


# -- admission and middleware ---------------------------------------------------------


class CountingStage:
    def __init__(self) -> None:
        self.admitted = 0
        self.outcomes: list[Outcome] = []

    async def admit(self, call: Call) -> CountingStage:
        self.admitted += 1
        return self

    def release(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


async def test_admission_stages_are_released_once_per_attempt(server: ScriptedServer) -> None:
    server.queue(error(529, "overloaded_error", headers={"retry-after": "0"}), ok())
    stage = CountingStage()
    async with client_for(server, admission=[stage]) as client:
        await create(client)
    assert stage.admitted == 2 and len(stage.outcomes) == 2
    assert stage.outcomes[0].status == 529 and isinstance(stage.outcomes[0].error, OverloadedError)
    assert stage.outcomes[1].complete and stage.outcomes[1].usage is not None


async def test_admit_now_is_tried_first_and_wait_falls_back_to_admit(
    server: ScriptedServer,
) -> None:
    from rawclaude.client.admission import WAIT

    class SyncStage(CountingStage):
        def __init__(self, answers: list[Any]) -> None:
            super().__init__()
            self.answers = answers
            self.asked = 0

        def admit_now(self, call: Call) -> Any:
            self.asked += 1
            answer = self.answers.pop(0)
            return self if answer == "ticket" else answer

    server.queue(ok(), ok(), ok())
    stage = SyncStage(["ticket", WAIT, None])
    async with client_for(server, admission=[stage]) as client:
        for _ in range(3):
            await create(client)
    # 1: admitted synchronously; 2: WAIT, so admit() ran; 3: None, nothing held
    assert stage.asked == 3 and stage.admitted == 1
    assert len(stage.outcomes) == 2 and all(o.complete for o in stage.outcomes)


async def test_stages_after_one_that_waits_are_still_tried_synchronously_in_order(
    server: ScriptedServer,
) -> None:
    from rawclaude.client.admission import WAIT

    order: list[str] = []

    class Sync(CountingStage):
        def __init__(self, name: str, answer: Any = "ticket") -> None:
            super().__init__()
            self.name, self.answer = name, answer

        def admit_now(self, call: Call) -> Any:
            order.append(f"{self.name}.now")
            return self if self.answer == "ticket" else self.answer

        async def admit(self, call: Call) -> CountingStage:
            order.append(f"{self.name}.await")
            return await super().admit(call)

    class Refuse:
        async def admit(self, call: Call) -> None:
            order.append("refuse.await")
            raise ConfigurationError("no")

    first, waits, last = Sync("a"), Sync("b", WAIT), Sync("c")
    server.queue(ok())
    async with client_for(server, admission=[first, waits, last]) as client:
        await create(client)
    assert order == ["a.now", "b.now", "b.await", "c.now"]
    assert [len(s.outcomes) for s in (first, waits, last)] == [1, 1, 1]
    # A refusal after a wait gives back every ticket taken before it, sync and awaited.
    order.clear()
    first, waits = Sync("a"), Sync("b", WAIT)
    async with client_for(server, admission=[first, waits, Refuse()]) as client:
        with pytest.raises(ConfigurationError, match="no"):
            await create(client)
    assert order == ["a.now", "b.now", "b.await", "refuse.await"]
    assert [type(o.error) for o in first.outcomes + waits.outcomes] == [ConfigurationError] * 2


async def test_a_refusing_stage_sends_nothing_and_is_not_retried(server: ScriptedServer) -> None:
    class Refuse:
        async def admit(self, call: Call) -> None:
            raise ConfigurationError("over budget")

    async with client_for(server, admission=[Refuse()]) as client:
        with pytest.raises(ConfigurationError, match="over budget"):
            await create(client)
    assert server.requests == []


async def test_middleware_wraps_the_call_and_can_change_the_model(server: ScriptedServer) -> None:
    from rawclaude.client.resources import encode_json

    server.queue(error(529, "overloaded_error", headers={"x-should-retry": "false"}))

    async def fallback(call: Call, proceed: Any) -> Any:
        try:
            return await proceed(call)
        except OverloadedError:
            params = {**(call.params or {}), "model": "backup"}
            return await proceed(call.with_params(params, encode_json(params)))

    async with client_for(server, middleware=[fallback]) as client:
        message = await create(client)
    assert message.content
    assert [r.json()["model"] for r in server.requests] == ["m", "backup"]


async def test_request_stages_rewrite_params_before_encoding(server: ScriptedServer) -> None:
    def redact(params: dict[str, Any]) -> dict[str, Any]:
        return {**params, "messages": [{"role": "user", "content": "[redacted]"}]}

    async with client_for(server, request_stages=[redact]) as client:
        await create(client)
    assert server.requests[0].json()["messages"][0]["content"] == "[redacted]"


# -- leases ---------------------------------------------------------------------------


async def _slow_stream(server: ScriptedServer, n: int = 50) -> None:
    server.queue(stream([sse(e) for e in text_stream_events(["x"] * n)], delay=0.02))


async def _next_call_works(client: Client, server: ScriptedServer) -> None:
    server.replies.clear()  # a call cancelled before it was sent left its reply
    server.queue(ok(message_json("after")))
    message = await asyncio.wait_for(create(client), 5)
    assert message.content[0].text == "after"


@pytest.mark.parametrize("pattern", ["events", "text", "never", "start"])
async def test_every_drop_pattern_gives_the_slot_back(server: ScriptedServer, pattern: str) -> None:
    limiter = RateLimiter(max_concurrency=1)
    async with client_for(server, limiter=limiter) as client:
        await _slow_stream(server)
        if pattern == "start":
            s = await client.messages.stream(model="m", max_tokens=5, messages=MSG).start()
        else:
            s = await client.messages.create(model="m", max_tokens=5, messages=MSG, stream=True)
        if pattern == "events":
            async for _ in s:
                break
        elif pattern == "text":
            async for _ in s.text_stream:
                break
        assert limiter.in_flight == 1
        with pytest.warns(ResourceWarning, match="never closed"):
            del s
            gc.collect()
        assert limiter.in_flight == 0
        await _next_call_works(client, server)


async def test_close_from_another_task_ends_the_iteration(server: ScriptedServer) -> None:
    limiter = RateLimiter(max_concurrency=1)
    async with client_for(server, limiter=limiter) as client:
        await _slow_stream(server, 500)
        async with client.messages.stream(model="m", max_tokens=5, messages=MSG) as s:
            seen = 0

            async def consume() -> None:
                nonlocal seen
                async for _ in s.text_stream:
                    seen += 1

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.1)
            await s.close()
            await asyncio.wait_for(task, 2)  # ends, does not raise
            assert 0 < seen < 500 and s.released and limiter.in_flight == 0
            with pytest.raises(APIConnectionError, match="closed early"):
                await s.get_final_message()
        await _next_call_works(client, server)


@pytest.mark.parametrize("when", [0.0, 0.03, 0.15])
async def test_cancellation_at_any_point_gives_everything_back(
    server: ScriptedServer, when: float
) -> None:
    limiter = RateLimiter(max_concurrency=1, output_tokens_per_minute=600)
    async with client_for(server, limiter=limiter) as client:
        await _slow_stream(server)

        async def consume() -> None:
            async with client.messages.stream(model="m", max_tokens=5, messages=MSG) as s:
                await s.get_final_message()

        task = asyncio.create_task(consume())
        await asyncio.sleep(when)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert limiter.in_flight == 0
        await _next_call_works(client, server)


def test_the_trackers_record_puts_each_value_in_its_field() -> None:
    """The pipeline builds CallRecords positionally: every field gets its own value."""
    from types import SimpleNamespace

    from rawclaude.client.pipeline import Tracker

    tracker = Tracker()
    tracker.status, tracker.attempts, tracker.ttft = 201, 3, 0.25
    tracker.usage, tracker.request_id, tracker.response = "usage", "req_1", "response"  # type: ignore[assignment]
    call = SimpleNamespace(kind="kind", method="GET", url="http://u", model="m",
                           tags={"t": "1"}, params={"p": 1})  # fmt: skip
    error = ValueError("e")
    record = tracker.record(call, ok=False, error=error, end="closed")  # type: ignore[arg-type]
    expected = {
        "kind": "kind", "method": "GET", "url": "http://u", "model": "m", "ok": False,
        "status": 201, "attempts": 3, "ttft": 0.25, "usage": "usage", "request_id": "req_1",
        "error": error, "end": "closed", "tags": {"t": "1"}, "started_at": tracker.started_at,
        "request": {"p": 1}, "response": "response",
    }  # fmt: skip
    assert {name: getattr(record, name) for name in expected} == expected
    assert set(CallRecord.__struct_fields__) == {*expected, "latency"}
    assert 0 <= record.latency < 60
