"""Issue 8, section 4: each defect found by review and attack, with a test that
failed before the fix."""

from __future__ import annotations

import asyncio
import io
import threading
import traceback
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import aiohttp
import msgspec
import orjson
import pytest
from aiohttp import web
from scripted_server import (
    ScriptedServer,
    error,
    message_json,
    ok,
    sse,
    stream,
    text_stream_events,
)

from rawclaude import (
    APIConnectionError,
    APIResponseValidationError,
    Client,
    ConfigurationError,
    OverloadedError,
    RateLimiter,
    RateLimitError,
    RawClaudeError,
)
from rawclaude.policy.ratelimit import parse_rate_limit_headers
from rawclaude.policy.retry import RetryPolicy, server_wait
from rawclaude.wire.errors import (
    RateLimitPausedError,
    ResponseTooLargeError,
    SpendLimitError,
)
from rawclaude.wire.models import decode_message

MSG = [{"role": "user", "content": "Hello"}]
SECRET = "sk-ant-defects-SECRET-7"
FAST = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.01)
DEEP = b"[" * 3000 + b"]" * 3000


def client_for(server: ScriptedServer, **kw: Any) -> Client:
    c = Client(SECRET, base_url=server.base_url, **kw)
    c.retry_policy = FAST
    return c


async def create(client: Client, **kw: Any) -> Any:
    return await client.messages.create(model="m", max_tokens=5, messages=MSG, **kw)


def raw(status: int, body: bytes, content_type: str = "application/json", **headers: str) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, content_type=content_type, headers=headers)

    return handler


# -- server data that used to raise non-rawclaude exceptions -----------------------


async def test_deep_json_in_a_body_is_a_typed_error(server: ScriptedServer) -> None:
    deep_object = b'{"a":' * 1500 + b"1" + b"}" * 1500
    body = orjson.dumps(message_json()).replace(
        b'"stop_sequence":null', b'"stop_details":' + deep_object
    )
    server.queue(raw(200, body))
    async with client_for(server) as client:
        with pytest.raises(APIResponseValidationError, match="nested too deeply"):
            await create(client)


async def test_deep_json_in_an_error_body_still_gives_the_status_error(
    server: ScriptedServer,
) -> None:
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"x","d":' + DEEP + b"}}"
    server.queue(raw(529, body), ok())
    async with client_for(server) as client:
        assert (await create(client)).content  # a typed 529: retried
    assert len(server.requests) == 2


@pytest.mark.parametrize("value", [b"1e400", b"9" * 400, b'"\\ud800"'])
async def test_json_orjson_refuses_in_an_error_body_is_still_typed_and_retried(
    server: ScriptedServer, value: bytes
) -> None:
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"busy","n":' + value
    server.queue(raw(529, body + b"}}"), raw(529, body + b"}}"), raw(529, body + b"}}"))
    async with client_for(server) as client:
        with pytest.raises(OverloadedError) as info:
            await create(client)
    assert info.value.message == "busy" and len(server.requests) == 3
    assert isinstance(info.value.body, dict)


async def test_deep_json_in_an_sse_event_keeps_the_events_before_it(
    server: ScriptedServer,
) -> None:
    events = [sse(e) for e in text_stream_events(["a", "b"])][:5]
    bad = b"event: content_block_delta\ndata: " + DEEP + b"\n\n"
    server.queue(stream([b"".join(events), bad]))
    seen: list[str] = []
    client = client_for(server)
    async with client, client.messages.stream(model="m", max_tokens=5, messages=MSG) as s:
        with pytest.raises(APIResponseValidationError):
            async for event in s:
                seen.append(event.type)
    assert seen[-1] == "content_block_delta" and seen.count("content_block_delta") == 2


async def test_an_error_event_msgspec_takes_and_orjson_refuses_is_typed(
    server: ScriptedServer,
) -> None:
    events = [sse(e) for e in text_stream_events(["a"])][:4]
    bad = (
        b'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"m",'
        b'"n":1e400}}\n\n'
    )
    server.queue(stream([b"".join(events) + bad]))
    client = client_for(server)
    async with client, client.messages.stream(model="m", max_tokens=5, messages=MSG) as s:
        with pytest.raises(RawClaudeError) as info:
            await s.get_final_message()
    assert type(info.value).__name__ == "InternalServerError" and info.value.in_stream  # type: ignore[attr-defined]


# -- size caps -------------------------------------------------------------------------


async def test_a_body_over_the_cap_is_refused_with_where_to_raise_it(
    server: ScriptedServer,
) -> None:
    big = orjson.dumps(message_json("x" * 5000))
    server.queue(raw(200, big))

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "application/json"})
        await resp.prepare(request)
        for _ in range(10):
            await resp.write(b" " * 1000)
        return resp

    server.queue(chunked)
    async with client_for(server, max_response_size=2000) as client:
        for _ in range(2):  # declared size, then a chunked body with no size
            with pytest.raises(ResponseTooLargeError, match="max_response_size"):
                await create(client)


async def test_error_bodies_are_capped_and_quoted(server: ScriptedServer) -> None:
    server.queue(raw(500, b"<html>" + b"x" * 100_000, "text/html", **{"x-should-retry": "false"}))
    async with client_for(server, max_error_body_size=1000) as client:
        with pytest.raises(RawClaudeError) as info:
            await create(client)
    body = info.value.body  # type: ignore[attr-defined]
    assert isinstance(body, str) and len(body) <= 1000 and "cut" in str(info.value)


async def test_a_200_that_is_not_an_event_stream_is_not_retried(server: ScriptedServer) -> None:
    server.queue(ok(), ok(), ok())
    async with client_for(server) as client:
        with pytest.raises(APIResponseValidationError, match="text/event-stream"):
            async with client.messages.stream(model="m", max_tokens=5, messages=MSG):
                pass
    assert len(server.requests) == 1


# -- caller mistakes: ConfigurationError naming the argument, nothing sent -----------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"max_connections": 0}, "max_connections"),
        ({"max_connections": -1}, "max_connections"),
        ({"base_url": 123}, "base_url"),
        ({"base_url": "api.anthropic.com"}, "base_url"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"limiter": "x"}, "limiter"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"max_retry_wait": float("nan")}, "max_retry_wait"),
        ({"default_headers": {"x-a": "b\nc"}}, "default_headers"),
        ({"default_headers": {"x-a": 1}}, "default_headers"),
        ({"default_headers": {"bad name": "v"}}, "default_headers"),
        ({"max_response_size": 0}, "max_response_size"),
        ({"session": "s"}, "session"),
        ({"proxy": "socks://x"}, "proxy"),
        ({"api_key": 5}, "api_key"),
    ],
)
def test_constructor_mistakes_name_the_argument(kwargs: dict[str, Any], name: str) -> None:
    kwargs.setdefault("api_key", "k")
    with pytest.raises(ConfigurationError, match=name):
        Client(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"betas": [1]}, "betas"),
        ({"betas": ["a,b"]}, "betas"),
        ({"extra_body": "s"}, "extra_body"),
        ({"extra_body": {"stream": True}}, "stream"),
        ({"extra_headers": {"x-a": "b\r\nInjected: 1"}}, "extra_headers"),
        ({"extra_headers": {"x-a": "nul\x00"}}, "extra_headers"),
        ({"tags": {"a": 1}}, "tags"),
        ({"timeout": -1}, "timeout"),
    ],
)
async def test_call_mistakes_are_raised_before_any_connection(
    server: ScriptedServer, kwargs: dict[str, Any], name: str
) -> None:
    async with client_for(server) as client:
        with pytest.raises(ConfigurationError, match=name):
            await create(client, **kwargs)
    assert server.requests == []


def test_a_base_url_ending_in_v1_is_normalised_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="/v1"):
        client = Client("k", base_url="https://gateway.example/anthropic/v1/")
    assert client.base_url == "https://gateway.example/anthropic"


async def test_a_client_used_under_a_second_event_loop_is_refused(server: ScriptedServer) -> None:
    client = client_for(server)
    await create(client)
    errors: list[BaseException] = []

    def other_loop() -> None:
        try:
            asyncio.run(create(client))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=other_loop)
    thread.start()
    thread.join(10)
    await client.close()
    assert isinstance(errors[0], ConfigurationError) and "event loop" in str(errors[0])
    assert len(server.requests) == 1


async def test_a_closed_user_session_is_refused(server: ScriptedServer) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    client = Client("k", base_url=server.base_url, session=session)
    with pytest.raises(ConfigurationError, match="closed"):
        await create(client)
    assert server.requests == []


# -- credentials and secrets ---------------------------------------------------------


def _walk_strings(obj: object, depth: int = 0, seen: set[int] | None = None) -> list[str]:
    """Strings reachable from an error: args, attributes, cause/context chain,
    traceback frames' locals (one level into containers)."""
    seen = seen if seen is not None else set()
    if id(obj) in seen or depth > 6:
        return []
    seen.add(id(obj))
    out: list[str] = []
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, (bytes, bytearray)):
        return [bytes(obj).decode("latin-1")]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _walk_strings(k, depth + 1, seen) + _walk_strings(v, depth + 1, seen)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            out += _walk_strings(v, depth + 1, seen)
    elif isinstance(obj, BaseException):
        out += [repr(obj), str(obj)]
        out += _walk_strings(obj.args, depth + 1, seen)
        out += _walk_strings(vars(obj), depth + 1, seen)
        for nxt in (obj.__cause__, obj.__context__):
            if nxt is not None:
                out += _walk_strings(nxt, depth + 1, seen)
        tb = obj.__traceback__
        while tb is not None:
            if "/rawclaude/" not in tb.tb_frame.f_code.co_filename:
                tb = tb.tb_next  # the test's own frames (its server records the key)
                continue
            for value in tb.tb_frame.f_locals.values():
                out.append(repr(value))
                if isinstance(value, (dict, list, tuple, str)):
                    out += _walk_strings(value, depth + 1, seen)
            tb = tb.tb_next
    return out


async def test_no_object_reachable_from_a_connection_error_holds_the_key(
    unused_tcp_port: int,
) -> None:
    async with Client(SECRET, base_url=f"http://127.0.0.1:{unused_tcp_port}") as client:
        client.retry_policy = RetryPolicy(max_retries=0)
        with pytest.raises(APIConnectionError) as info:
            await create(client)
    err = info.value
    assert not any(SECRET in s for s in _walk_strings(err))
    buf = io.StringIO()
    te = traceback.TracebackException.from_exception(err, capture_locals=True)
    buf.write("".join(te.format()))
    assert SECRET not in buf.getvalue() and "TransportFailure" in buf.getvalue()


async def test_no_object_reachable_from_a_status_error_holds_the_key(
    server: ScriptedServer,
) -> None:
    server.queue(error(400, "invalid_request_error"))
    async with client_for(server) as client:
        with pytest.raises(RawClaudeError) as info:
            await create(client)
    te = traceback.TracebackException.from_exception(info.value, capture_locals=True)
    ours = [f for f in te.stack if "/rawclaude/" in f.filename]
    assert ours and not any(SECRET in repr(f.locals) for f in ours)
    assert not any(SECRET in s for s in _walk_strings(info.value))


async def test_non_utf8_bytes_in_a_request_id_do_not_break_printing() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = b'{"type":"error","error":{"type":"invalid_request_error","message":"no"}}'
        writer.write(
            b"HTTP/1.1 400 Bad Request\r\nrequest-id: req_\xff\xfe\xc3\r\n"
            b"content-type: application/json\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with Client("k", base_url=f"http://127.0.0.1:{port}") as client:
        with pytest.raises(RawClaudeError) as info:
            await create(client)
    srv.close()
    text = str(info.value) + repr(info.value)
    text.encode("utf-8")  # no lone surrogates left: print() cannot fail
    print(info.value)


def test_redis_reprs_never_raise_on_half_built_objects() -> None:
    from rawclaude.io.redis_limiter import RedisBucketFactory, RedisTokenBucket

    for cls in (RedisBucketFactory, RedisTokenBucket):
        obj = object.__new__(cls)
        assert cls.__name__ in repr(obj)


# -- one retry-after parser -------------------------------------------------------------


def test_retry_after_has_one_parser_and_both_users_agree() -> None:
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    when = datetime(2026, 12, 1, 12, 0, 30, tzinfo=timezone.utc)
    for value in (
        format_datetime(when, usegmt=True),
        format_datetime(when).replace("+0000", "-0000"),
    ):
        headers = {"retry-after": value}
        state = parse_rate_limit_headers(headers, now=now)
        assert state is not None and state.retry_after == pytest.approx(30)
        assert server_wait(headers, now) == pytest.approx(30)
    for bad in ("1_000", "-5", "nan", "inf", "+3"):
        assert server_wait({"retry-after": bad}, now) is None
        assert parse_rate_limit_headers({"retry-after": bad}, now=now) is None
    assert server_wait({"retry-after": str(int(timedelta(seconds=7).total_seconds()))}, now) == 7


# -- the limiter pause is a local error, not a fake 429 -----------------------------------


async def test_a_long_limiter_pause_raises_a_local_error_with_no_fake_headers(
    server: ScriptedServer,
) -> None:
    server.queue(error(429, "rate_limit_error", headers={"retry-after": "120"}))
    limiter = RateLimiter(requests_per_minute=1000)
    async with client_for(server, limiter=limiter, max_retry_wait=30) as client:
        with pytest.raises(RateLimitError):
            await create(client)
        with pytest.raises(RateLimitPausedError, match="nothing was sent") as info:
            await create(client)
    assert info.value.headers == {} and info.value.retry_after is not None
    assert "not retried" not in info.value.message and len(server.requests) == 1


# -- fine-grained error codes ------------------------------------------------------------


@pytest.mark.parametrize("code", ["contract_spend_limit_reached", "enforced_spend_limit_reached"])
async def test_spend_limit_429s_are_final_and_typed(server: ScriptedServer, code: str) -> None:
    body = orjson.dumps(
        {
            "type": "error",
            "error": {
                "type": "rate_limit_error",
                "message": "spend",
                "details": {"error_code": code},
            },
        }
    )
    server.queue(raw(429, body, **{"retry-after": "0"}), ok())
    async with client_for(server) as client:
        with pytest.raises(SpendLimitError) as info:
            await create(client)
    assert info.value.error_code == code and code in str(info.value)
    assert len(server.requests) == 1


async def test_every_status_error_keeps_its_error_code(server: ScriptedServer) -> None:
    body = orjson.dumps(
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "m",
                "details": {"error_code": "file_expired"},
            },
        }
    )
    server.queue(raw(400, body))
    async with client_for(server) as client:
        with pytest.raises(RawClaudeError) as info:
            await create(client)
    assert info.value.error_code == "file_expired"  # type: ignore[attr-defined]


# -- fields the models do not know -------------------------------------------------------


def test_current_fields_are_modelled_and_future_ones_survive_to_builtins() -> None:
    body = message_json(
        diagnostics={
            "cache_miss_reason": {"type": "system_changed", "cache_missed_input_tokens": 9}
        },
        brand_new_field={"x": [1, 2]},
    )
    body["usage"] = {"input_tokens": 1, "output_tokens": 2, "speed": "fast", "tomorrow": 3}
    message = decode_message(orjson.dumps(body))
    assert message.diagnostics.cache_miss_reason["type"] == "system_changed"  # type: ignore[union-attr]
    assert message.usage.speed == "fast"
    out = msgspec.to_builtins(message)
    assert out["unknown_fields"] == {"brand_new_field": {"x": [1, 2]}}
    assert out["usage"]["unknown_fields"] == {"tomorrow": 3}
    plain = msgspec.to_builtins(decode_message(orjson.dumps(message_json())))
    assert "unknown_fields" not in plain and "diagnostics" not in plain


# -- proxies -------------------------------------------------------------------------------


class ProxyRecorder:
    """A local HTTP proxy that records what it was asked and refuses it (no network)."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[ProxyRecorder, str]]:
    rec = ProxyRecorder()
    srv = await asyncio.start_server(rec.handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    yield rec, f"http://127.0.0.1:{port}"
    srv.close()


async def test_an_explicit_proxy_gets_a_tunnel_request_and_never_the_key(
    proxy: tuple[ProxyRecorder, str],
) -> None:
    rec, url = proxy
    async with Client(SECRET, base_url="https://api.invalid", proxy=url, max_retries=0) as client:
        with pytest.raises(APIConnectionError):
            await create(client)
    assert rec.seen and rec.seen[0].startswith(b"CONNECT api.invalid:443")
    assert SECRET.encode() not in b"".join(rec.seen)


async def test_https_proxy_from_the_environment_is_honoured(
    proxy: tuple[ProxyRecorder, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rec, url = proxy
    monkeypatch.setenv("HTTPS_PROXY", url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with Client(SECRET, base_url="https://api.invalid", max_retries=0) as client:
        with pytest.raises(APIConnectionError):
            await create(client)
    assert rec.seen and rec.seen[0].startswith(b"CONNECT api.invalid:443")


def test_a_credential_never_crosses_a_proxy_in_clear_text(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="clear text"):
        Client("k", base_url="http://api.internal", proxy="http://127.0.0.1:1")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")
    monkeypatch.setenv("NO_PROXY", "")
    with pytest.raises(ConfigurationError, match="clear text"):
        Client("k", base_url="http://api.internal")
    monkeypatch.setenv("NO_PROXY", "api.internal")
    Client("k", base_url="http://api.internal")  # bypassed: fine
    Client("k", base_url="http://api.internal", trust_env=False)
