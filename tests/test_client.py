"""The client's HTTP contract against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import email.utils
import logging
import time

import aiohttp
import msgspec
import pytest
from scripted_server import ScriptedServer, error, hang, message_json, ok

import rawclaude
from rawclaude import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    Client,
    ConfigurationError,
    ConflictError,
    GatewayTimeoutError,
    InternalServerError,
    NotFoundError,
    OverloadedError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    ServiceUnavailableError,
    Timeout,
    UnprocessableEntityError,
    UnsupportedParameterError,
)
from rawclaude.policy.retry import RetryPolicy

SECRET = "sk-ant-secret-DO-NOT-LEAK-1234"
MSG = [{"role": "user", "content": "Hello"}]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def fast(client: Client, retries: int = 2) -> Client:
    """Same policy, but backoff in milliseconds so tests do not sleep."""
    client.retry_policy = RetryPolicy(max_retries=retries, initial_delay=0.001, max_delay=0.01)
    return client


async def create(client: Client, **kw: object) -> rawclaude.Message:
    return await client.messages.create(model="claude-test", max_tokens=10, messages=MSG, **kw)


# -- headers, versions, auth --------------------------------------------------------------


async def test_headers_default_version_and_api_key(server: ScriptedServer) -> None:
    async with Client(SECRET, base_url=server.base_url) as client:
        msg = await create(client)
    assert msg.content[0].text == "hi"  # type: ignore[union-attr]
    h = server.requests[0].headers
    assert server.requests[0].path == "/v1/messages"
    assert h["x-api-key"] == SECRET
    assert "authorization" not in h
    assert h["anthropic-version"] == "2026-10-21"
    assert h["content-type"] == "application/json"
    assert h["user-agent"] == f"rawclaude/{rawclaude.__version__}"
    assert not [k for k in h if k.startswith("x-stainless")]


async def test_legacy_version_and_bearer_token(server: ScriptedServer) -> None:
    async with Client(
        auth_token="tok-1", base_url=server.base_url, api_version="2023-06-01"
    ) as client:
        await create(client, temperature=0.2, top_k=5, top_p=0.9)
    req = server.requests[0]
    assert req.headers["authorization"] == "Bearer tok-1"
    assert "x-api-key" not in req.headers
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert req.json()["temperature"] == 0.2


@pytest.mark.parametrize("param", ["temperature", "top_p", "top_k"])
async def test_current_version_refuses_sampling_params_before_sending(
    server: ScriptedServer, param: str
) -> None:
    async with Client(SECRET, base_url=server.base_url) as client:
        with pytest.raises(UnsupportedParameterError, match="api_version='2023-06-01'"):
            await create(client, **{param: 0.5})
        with pytest.raises(UnsupportedParameterError):
            client.messages.stream(model="m", max_tokens=1, messages=MSG, **{param: 1})
    assert server.requests == []


@pytest.mark.parametrize("param", ["temperature", "top_p", "top_k"])
async def test_extra_body_is_the_escape_hatch_and_is_sent_as_given(
    server: ScriptedServer, param: str
) -> None:
    # Issue 8: extra_body is not checked against the version rules (the API judges).
    server.queue(ok())
    async with Client(SECRET, base_url=server.base_url) as client:
        await create(client, extra_body={param: 0.5})
    assert server.requests[0].json()[param] == 0.5


async def test_env_fallbacks(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "env-token")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url + "/")
    async with Client() as client:
        assert client.base_url == server.base_url
        await create(client)
    h = server.requests[0].headers
    assert h["x-api-key"] == "env-key"
    assert h["authorization"] == "Bearer env-token"


async def test_explicit_arguments_beat_env(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    async with Client("arg-key", base_url=server.base_url) as client:
        await create(client)
    assert server.requests[0].headers["x-api-key"] == "arg-key"


async def test_missing_credentials_error_names_the_env_var(server: ScriptedServer) -> None:
    client = Client(base_url=server.base_url)  # constructing is fine
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        await create(client)
    await client.close()
    assert server.requests == []


async def test_betas_extra_headers_extra_body(server: ScriptedServer) -> None:
    async with Client(SECRET, base_url=server.base_url, default_headers={"x-team": "a"}) as c:
        await create(
            c,
            betas=["b1", "b2"],
            extra_headers={"x-trace": "t1"},
            extra_body={"custom_field": 7},
            system=[{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
            metadata={"user_id": "u"},
            stop_sequences=["END"],
            service_tier="auto",
            thinking={"type": "enabled", "budget_tokens": 1024},
            tools=[{"name": "t", "input_schema": {"type": "object"}}],
            tool_choice={"type": "auto"},
        )
    req = server.requests[0]
    assert req.headers["anthropic-beta"] == "b1,b2"
    assert req.headers["x-trace"] == "t1"
    assert req.headers["x-team"] == "a"
    body = req.json()
    assert "betas" not in body and "extra_body" not in body
    assert body["custom_field"] == 7
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["thinking"]["budget_tokens"] == 1024
    assert body["model"] == "claude-test" and body["max_tokens"] == 10
    assert "stream" not in body


async def test_previous_response_blocks_can_be_sent_back(server: ScriptedServer) -> None:
    async with Client(SECRET, base_url=server.base_url) as client:
        first = await create(client)
        await client.messages.create(
            model="m",
            max_tokens=5,
            messages=[*MSG, {"role": "assistant", "content": first.content}],
        )
    sent = server.requests[1].json()["messages"][1]["content"]
    assert sent == [{"type": "text", "text": "hi", "citations": None}]


async def test_unserializable_param_is_a_clear_error(server: ScriptedServer) -> None:
    async with Client(SECRET, base_url=server.base_url) as client:
        with pytest.raises(ConfigurationError, match="JSON"):
            await create(client, metadata={"x": object()})
    assert server.requests == []


async def test_request_id_of_a_success_is_reachable(server: ScriptedServer) -> None:
    server.queue(ok(request_id="req_abc"))
    async with Client(SECRET, base_url=server.base_url) as client:
        msg = await create(client)
    assert msg.request_id == "req_abc"
    # The request id is an attribute, not a field: the API's JSON shape is untouched.
    as_json = msgspec.to_builtins(msg)
    assert "request_id" not in as_json and "_request_id" not in as_json
    sent = message_json()
    assert {k: as_json[k] for k in sent if k not in ("content", "usage")} == {
        k: v for k, v in sent.items() if k not in ("content", "usage")
    }


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (400, "invalid_request_error", BadRequestError),
        (401, "authentication_error", AuthenticationError),
        (403, "permission_error", PermissionDeniedError),
        (404, "not_found_error", NotFoundError),
        (413, "request_too_large", RequestTooLargeError),
        (429, "rate_limit_error", RateLimitError),
        (500, "api_error", InternalServerError),
        (502, "api_error", InternalServerError),
        (503, "api_error", ServiceUnavailableError),
        (504, "timeout_error", GatewayTimeoutError),
        (529, "overloaded_error", OverloadedError),
        (402, "billing_error", PaymentRequiredError),
        (409, "conflict", ConflictError),
        (422, "unprocessable", UnprocessableEntityError),
        (418, "teapot_error", APIStatusError),
    ],
)
async def test_error_statuses_are_typed(
    server: ScriptedServer, status: int, error_type: str, cls: type[APIStatusError]
) -> None:
    server.queue(error(status, error_type, "it failed", headers={"x-should-retry": "false"}))
    async with Client(SECRET, base_url=server.base_url) as client:
        with pytest.raises(cls) as info:
            await create(client)
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.error_type == error_type
    assert err.message == "it failed"
    assert err.request_id == "req_err"
    assert err.body["error"]["type"] == error_type
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("raw", "content_type", "needle"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "text/html", "Bad Gateway"),
        (b"", "text/plain", "HTTP 502"),
        (b'{"not": "an error body"}', "application/json", "not"),
    ],
)
async def test_non_json_error_body_still_gives_a_typed_error(
    server: ScriptedServer, raw: bytes, content_type: str, needle: str
) -> None:
    server.queue(error(502, raw=raw, content_type=content_type))
    async with Client(SECRET, base_url=server.base_url, max_retries=0) as client:
        with pytest.raises(InternalServerError) as info:
            await create(client)
    assert info.value.status_code == 502
    assert info.value.error_type is None
    assert needle in str(info.value)
    assert info.value.request_id == "req_err"


# -- retries ------------------------------------------------------------------------------


async def test_retries_retryable_statuses_then_succeeds(server: ScriptedServer) -> None:
    server.queue(error(529, "overloaded_error"), error(500), ok(request_id="req_3"))
    async with fast(Client(SECRET, base_url=server.base_url)) as client:
        msg = await create(client)
    assert msg.request_id == "req_3"
    assert len(server.requests) == 3


async def test_retries_exhausted_raises_the_last_error(server: ScriptedServer) -> None:
    server.queue(*(error(529, "overloaded_error") for _ in range(5)))
    async with fast(Client(SECRET, base_url=server.base_url, max_retries=2)) as client:
        with pytest.raises(OverloadedError):
            await create(client)
    assert len(server.requests) == 3


async def test_x_should_retry_false_stops_a_retryable_status(server: ScriptedServer) -> None:
    server.queue(error(529, "overloaded_error", headers={"x-should-retry": "false"}))
    async with fast(Client(SECRET, base_url=server.base_url)) as client:
        with pytest.raises(OverloadedError):
            await create(client)
    assert len(server.requests) == 1


async def test_x_should_retry_true_retries_a_4xx(server: ScriptedServer) -> None:
    server.queue(error(400, "invalid_request_error", headers={"x-should-retry": "true"}), ok())
    async with fast(Client(SECRET, base_url=server.base_url)) as client:
        await create(client)
    assert len(server.requests) == 2


async def test_4xx_is_never_retried(server: ScriptedServer) -> None:
    server.queue(error(400, "invalid_request_error"), ok())
    async with fast(Client(SECRET, base_url=server.base_url)) as client:
        with pytest.raises(BadRequestError):
            await create(client)
    assert len(server.requests) == 1


@pytest.mark.parametrize("headers", [{"retry-after-ms": "200"}, {"retry-after": "0.2"}, None])
async def test_server_given_wait_is_obeyed(
    server: ScriptedServer, headers: dict[str, str] | None
) -> None:
    if headers is None:  # an HTTP date, made now (not at collection time)
        headers = {"retry-after": email.utils.formatdate(time.time() + 1.2, usegmt=True)}
    server.queue(error(429, "rate_limit_error", headers=headers), ok())
    async with Client(SECRET, base_url=server.base_url) as client:
        started = time.monotonic()
        await create(client)
        waited = time.monotonic() - started
    # An HTTP date has one-second resolution: it asks for somewhere in (0.2, 1.2].
    assert waited >= 0.15
    assert len(server.requests) == 2


async def test_wait_longer_than_max_retry_wait_raises_at_once(server: ScriptedServer) -> None:
    server.queue(error(429, "rate_limit_error", headers={"retry-after": "120"}), ok())
    async with Client(SECRET, base_url=server.base_url, max_retry_wait=30) as client:
        started = time.monotonic()
        with pytest.raises(RateLimitError) as info:
            await create(client)
    assert time.monotonic() - started < 5
    assert info.value.retry_after == pytest.approx(120)
    assert "120" in str(info.value) and "max_retry_wait" in str(info.value)
    assert len(server.requests) == 1


# -- timeouts and connection errors -------------------------------------------------------


async def test_server_that_never_answers_times_out(server: ScriptedServer) -> None:
    server.queue(hang(), hang())
    async with Client(SECRET, base_url=server.base_url, max_retries=1) as client:
        fast(client, retries=1)
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as info:
            await create(client, timeout=0.3)
    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value, APIConnectionError)
    assert time.monotonic() - started < 5
    assert len(server.requests) == 2  # a timeout is retried


async def test_per_client_timeout(server: ScriptedServer) -> None:
    server.queue(hang())
    async with Client(
        SECRET, base_url=server.base_url, max_retries=0, timeout=Timeout(total=0.2)
    ) as client:
        with pytest.raises(APITimeoutError, match=r"total timeout of 0\.2s"):
            await create(client)


async def test_connection_refused(unused_tcp_port: int) -> None:
    async with fast(Client(SECRET, base_url=f"http://127.0.0.1:{unused_tcp_port}")) as client:
        with pytest.raises(APIConnectionError) as info:
            await create(client)
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.__cause__ is not None


# -- lifecycle and hygiene ----------------------------------------------------------------


async def test_user_session_is_used_and_not_closed(server: ScriptedServer) -> None:
    async with aiohttp.ClientSession() as session:
        client = Client(SECRET, base_url=server.base_url, session=session)
        await create(client)
        await client.close()
        await client.close()
        assert not session.closed
        assert len(server.requests) == 1


async def test_close_is_idempotent_and_lazy() -> None:
    client = Client(SECRET)
    assert not client._shared.session.created  # nothing created outside a call
    await client.close()
    await client.close()
    with pytest.raises(ConfigurationError, match="closed"):
        await create(client)


async def test_secrets_never_leak(server: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.queue(error(529, "overloaded_error"), error(401, "authentication_error", "bad key"))
    client = fast(Client(SECRET, auth_token=SECRET + "tok", base_url=server.base_url))
    texts = [repr(client), str(client)]
    with pytest.raises(AuthenticationError) as info:
        await create(client)
    await client.close()
    err = info.value
    texts += [repr(err), str(err), str(err.body), caplog.text]
    for text in texts:
        assert SECRET not in text
    assert "api_key" in repr(client)
