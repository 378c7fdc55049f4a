"""Message Batches and Files wire types, the results reader, pages, batch encoding."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rawclaude.wire.batch_requests import (
    MAX_BATCH_REQUESTS,
    BatchEncoder,
    BatchRequest,
    encode_batch,
    encode_batches,
)
from rawclaude.wire.batches import (
    BatchResultsReader,
    MessageBatchCanceledResult,
    MessageBatchErroredResult,
    MessageBatchExpiredResult,
    MessageBatchSucceededResult,
    UnknownBatchResult,
    decode_batch,
    decode_batch_page,
    decode_deleted_batch,
    decode_result_line,
)
from rawclaude.wire.error_body import error_from_response
from rawclaude.wire.errors import (
    APIResponseValidationError,
    ConfigurationError,
    FileExpiredError,
    FileNotDownloadableError,
    InternalServerError,
    JSONLError,
    NotFoundError,
    StorageQuotaExceededError,
    UnsupportedParameterError,
)
from rawclaude.wire.files import decode_deleted_file, decode_file, decode_file_page
from rawclaude.wire.headers import DEFAULT_API_VERSION, LEGACY_API_VERSION
from rawclaude.wire.models import TextBlock, UnknownBlock, decode_message
from rawclaude.wire.pages import Page, next_page_query

# The example of "Retrieve a Message Batch" in the API reference.
BATCH = {
    "id": "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF",
    "archived_at": "2024-08-20T18:37:24.100435Z",
    "cancel_initiated_at": "2024-08-20T18:37:24.100435Z",
    "created_at": "2024-08-20T18:37:24.100435Z",
    "ended_at": "2024-08-20T18:37:24.100435Z",
    "expires_at": "2024-08-20T18:37:24.100435Z",
    "processing_status": "in_progress",
    "request_counts": {
        "canceled": 10,
        "errored": 30,
        "expired": 10,
        "processing": 100,
        "succeeded": 50,
    },
    "results_url": "https://api.anthropic.com/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF/results",
    "type": "message_batch",
}

MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "content": [{"type": "text", "text": "billing"}],
    "model": "claude-haiku-4-5",
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 2},
}


def line(custom_id: str, result: dict[str, Any]) -> bytes:
    return orjson.dumps({"custom_id": custom_id, "result": result})


SUCCEEDED = line("a", {"type": "succeeded", "message": MESSAGE})
ERRORED = line(
    "b",
    {
        "type": "errored",
        "error": {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": "max_tokens: too large"},
        },
    },
)
CANCELED = line("c", {"type": "canceled"})
EXPIRED = line("d", {"type": "expired"})


# -- batch objects -----------------------------------------------------------


def test_batch_decodes_the_documented_example_and_round_trips() -> None:
    batch = decode_batch(orjson.dumps(BATCH))
    assert batch.id == BATCH["id"]
    assert batch.processing_status == "in_progress" and not batch.ended
    assert batch.request_counts.errored == 30 and batch.request_counts.total == 200
    assert batch.results_url is not None and batch.results_url.endswith("/results")
    assert msgspec.to_builtins(batch) == BATCH


def test_batch_nullable_fields_and_a_new_status() -> None:
    raw = {**BATCH, "processing_status": "ended", "archived_at": None, "results_url": None}
    raw.pop("cancel_initiated_at")
    batch = decode_batch(orjson.dumps({**raw, "a_new_field": 1}))
    assert batch.ended and batch.cancel_initiated_at is None and batch.results_url is None
    assert (
        decode_batch(orjson.dumps({**BATCH, "processing_status": "paused"})).processing_status
        == "paused"
    )


def test_batch_bad_body_is_a_typed_error() -> None:
    with pytest.raises(APIResponseValidationError):
        decode_batch(b'{"id": 1}')
    with pytest.raises(APIResponseValidationError):
        decode_batch(b"[" * 5000)


def test_deleted_batch_and_batch_page() -> None:
    deleted = decode_deleted_batch(b'{"id": "msgbatch_1", "type": "message_batch_deleted"}')
    assert deleted.id == "msgbatch_1"
    page = decode_batch_page(
        orjson.dumps({"data": [BATCH], "has_more": True, "first_id": "x", "last_id": "y"})
    )
    assert page.data[0].id == BATCH["id"] and page.has_more and page.last_id == "y"


# -- results -------------------------------------------------------------------


def test_each_result_type_decodes() -> None:
    ok = decode_result_line(SUCCEEDED)
    assert ok.custom_id == "a" and ok.type == "succeeded"
    assert isinstance(ok.result, MessageBatchSucceededResult)
    assert isinstance(ok.result.message.content[0], TextBlock)
    assert ok.result.message.usage.input_tokens == 12

    bad = decode_result_line(ERRORED)
    assert isinstance(bad.result, MessageBatchErroredResult)
    assert bad.result.error_type == "invalid_request_error"
    assert bad.result.error_message == "max_tokens: too large"

    assert ok.message is ok.result.message and ok.error is None
    assert bad.message is None and bad.error is bad.result.error
    assert isinstance(decode_result_line(CANCELED).result, MessageBatchCanceledResult)
    assert isinstance(decode_result_line(EXPIRED).result, MessageBatchExpiredResult)
    for raw in (SUCCEEDED, ERRORED, CANCELED, EXPIRED):
        assert msgspec.to_builtins(decode_result_line(raw)) == _builtins_defaults(raw)


def _builtins_defaults(raw: bytes) -> Any:
    """The line's JSON with the defaults the Structs fill in (nulls)."""
    obj = orjson.loads(raw)
    if obj["result"]["type"] == "succeeded":
        obj["result"]["message"] = msgspec.to_builtins(decode_message(orjson.dumps(MESSAGE)))
    if obj["result"]["type"] == "errored":
        obj["result"]["error"]["request_id"] = None
    return obj


def test_a_result_type_from_the_future_is_kept_raw() -> None:
    raw = {"type": "deferred", "until": "tomorrow"}
    got = decode_result_line(line("e", raw))
    assert isinstance(got.result, UnknownBatchResult)
    assert got.type == "deferred" and got.result.data == raw
    assert msgspec.to_builtins(got) == {"custom_id": "e", "result": raw}


def test_an_unknown_block_inside_a_succeeded_message_survives() -> None:
    message = {**MESSAGE, "content": [{"type": "hologram", "x": 1}, {"type": "text", "text": "t"}]}
    got = decode_result_line(line("f", {"type": "succeeded", "message": message}))
    assert isinstance(got.result, MessageBatchSucceededResult)
    first, second = got.result.message.content
    assert isinstance(first, UnknownBlock) and first.data == {"type": "hologram", "x": 1}
    assert isinstance(second, TextBlock)


@pytest.mark.parametrize(
    "bad",
    [
        b"not json",
        b"[1, 2]",
        b'{"custom_id": 1, "result": {"type": "canceled"}}',
        b'{"custom_id": "a"}',
        b'{"custom_id": "a", "result": {"type": "succeeded"}}',
        b'{"custom_id": "a", "result": {"type": "errored", "error": 5}}',
        b'{"custom_id": "a", "result": {"no": "type"}}',
    ],
)
def test_reader_names_the_bad_line(bad: bytes) -> None:
    reader = BatchResultsReader()
    body = SUCCEEDED + b"\n\n" + bad + b"\n" + CANCELED + b"\n"
    # The results before the bad line come first; the next call raises.
    assert [r.custom_id for r in reader.feed(body)] == ["a"]
    with pytest.raises(JSONLError) as info:
        reader.feed(b"")
    assert info.value.line_number == 3
    assert "line 3" in str(info.value)
    with pytest.raises(JSONLError, match="unusable"):
        reader.feed(b"\n")
    with pytest.raises(JSONLError, match="unusable"):
        reader.end()


def test_deep_nesting_is_a_typed_error_not_recursion() -> None:
    deep = b'{"custom_id": "a", "result": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(JSONLError) as info:
        BatchResultsReader().feed(deep + b"\n")
    assert info.value.line_number == 1  # the first line: raised at once


_lines = st.lists(st.sampled_from([SUCCEEDED, ERRORED, CANCELED, EXPIRED]), max_size=12)
_ends = st.sampled_from([b"\n", b"\r\n", b"\r"])


@settings(max_examples=150, deadline=None)
@given(
    lines=_lines, end=_ends, cuts=st.lists(st.integers(0, 4000), max_size=10), last=st.booleans()
)
def test_reader_any_split_any_line_end(
    lines: list[bytes], end: bytes, cuts: list[int], last: bool
) -> None:
    body = end.join(lines) + (end if last else b"")
    points = sorted({min(c, len(body)) for c in cuts})
    chunks = [body[a:b] for a, b in itertools.pairwise([0, *points, len(body)])]
    reader = BatchResultsReader()
    got = [r for chunk in chunks for r in reader.feed(chunk)] + reader.end()
    assert [r.custom_id for r in got] == [orjson.loads(x)["custom_id"] for x in lines]
    assert got == [decode_result_line(x) for x in lines]


def test_reader_line_cap_is_passed_on() -> None:
    reader = BatchResultsReader(max_line_size=len(SUCCEEDED) - 1)
    with pytest.raises(JSONLError, match="max_line_size"):
        reader.feed(SUCCEEDED + b"\n")


# -- pages -------------------------------------------------------------------


def _page(**kw: Any) -> Page[Any]:
    return Page(data=[], **kw)


def test_next_page_follows_last_id_and_keeps_other_params() -> None:
    page = _page(has_more=True, first_id="a", last_id="b")
    assert next_page_query(page, {"limit": "2"}) == {"limit": "2", "after_id": "b"}
    assert next_page_query(page, {"limit": "2", "after_id": "z"}) == {"limit": "2", "after_id": "b"}


def test_next_page_walks_backwards_from_before_id() -> None:
    page = _page(has_more=True, first_id="a", last_id="b")
    assert next_page_query(page, {"before_id": "c"}) == {"before_id": "a"}


def test_next_page_cursor_wins_and_stops_at_end() -> None:
    assert next_page_query(_page(next_page="page_2"), {"page": "page_1"}) == {"page": "page_2"}
    assert next_page_query(_page(next_page=None, has_more=False), {"page": "page_1"}) is None
    assert next_page_query(_page(has_more=False, last_id="x"), {}) is None


@pytest.mark.parametrize(
    ("page", "query"),
    [
        (_page(has_more=True, last_id="b"), {"after_id": "b"}),
        (_page(next_page="page_1"), {"page": "page_1"}),
        (_page(has_more=True, last_id=None), {}),
    ],
)
def test_next_page_refuses_a_cursor_that_does_not_move(
    page: Page[Any], query: dict[str, str]
) -> None:
    with pytest.raises(APIResponseValidationError):
        next_page_query(page, query)


# -- files -------------------------------------------------------------------

FILE = {
    "id": "file_011CNha8iCJcU1wXNR6q4V8w",
    "type": "file",
    "filename": "report.pdf",
    "mime_type": "application/pdf",
    "size_bytes": 1024,
    "created_at": "2025-04-14T18:37:24.100435Z",
    "downloadable": False,
}


def test_file_metadata_page_and_delete() -> None:
    meta = decode_file(orjson.dumps(FILE))
    assert (meta.id, meta.size_bytes, meta.downloadable, meta.expires_at) == (
        FILE["id"],
        1024,
        False,
        None,
    )
    page = decode_file_page(orjson.dumps({"data": [FILE], "next_page": "page_abc"}))
    assert page.data == [meta] and page.next_page == "page_abc"
    assert decode_deleted_file(b'{"id": "file_1", "type": "file_deleted"}').id == "file_1"
    with pytest.raises(APIResponseValidationError):
        decode_file(b'{"id": "file_1"}')


# -- requests ------------------------------------------------------------------

PARAMS = {
    "model": "claude-haiku-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "Classify: refund please"}],
}


def req(custom_id: str, **params: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "params": {**PARAMS, **params}}


def decoded(body: bytearray) -> list[dict[str, Any]]:
    obj = orjson.loads(bytes(body))
    assert list(obj) == ["requests"]
    requests: list[dict[str, Any]] = obj["requests"]
    return requests


def test_one_batch_body_holds_the_requests_as_given() -> None:
    requests: list[Any] = [req("a"), BatchRequest(custom_id="b", params=dict(PARAMS)), req("c_-9")]
    batch = encode_batch(requests, DEFAULT_API_VERSION)
    assert batch.count == 3 and batch.first_index == 0
    assert decoded(batch.body) == [req("a"), req("b"), req("c_-9")]


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("not a request", "must be a dict"),
        ({"custom_id": "x", "params": PARAMS, "extra": 1}, "unexpected key"),
        ({"custom_id": "", "params": PARAMS}, "1 to 64 characters"),
        ({"custom_id": "x" * 65, "params": PARAMS}, "1 to 64 characters"),
        ({"custom_id": "a b", "params": PARAMS}, "1 to 64 characters"),
        ({"custom_id": "é", "params": PARAMS}, "1 to 64 characters"),
        ({"custom_id": 5, "params": PARAMS}, "1 to 64 characters"),
        ({"custom_id": "x", "params": [1]}, "params must be a dict"),
        ({"custom_id": "x"}, "params must be a dict"),
        (req("x", model=""), "params['model']"),
        (req("x", max_tokens=0), "params['max_tokens']"),
        (req("x", max_tokens=True), "params['max_tokens']"),
        (req("x", messages=[]), "params['messages']"),
        (req("x", messages="hi"), "params['messages']"),
        (req("x", stream=True), "params['stream']"),
        (req("x", metadata={"when": object()}), "not JSON-serializable"),
    ],
)
def test_a_bad_request_is_named_by_index(bad: Any, words: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        encode_batch([req("ok0"), req("ok1"), bad], DEFAULT_API_VERSION)
    assert "requests[2]" in str(info.value)
    assert words in str(info.value)


def test_version_rules_apply_to_every_request() -> None:
    with pytest.raises(UnsupportedParameterError) as info:
        encode_batch([req("ok"), req("hot", temperature=0.2)], DEFAULT_API_VERSION)
    assert "requests[1] (custom_id='hot')" in str(info.value)
    assert info.value.param == "temperature"
    assert encode_batch([req("hot", temperature=0.2)], LEGACY_API_VERSION).count == 1


def test_custom_id_unique_in_a_batch() -> None:
    with pytest.raises(ConfigurationError, match=r"requests\[1\] \(custom_id='a'\).*twice"):
        encode_batch([req("a"), req("a")], DEFAULT_API_VERSION)


def test_encoder_is_usable_after_a_refused_request() -> None:
    encoder = BatchEncoder(DEFAULT_API_VERSION)
    encoder.add(req("a"))
    for bad in (req("a"), req("b", metadata={"x": object()}), req("c", stream=True)):
        with pytest.raises(ConfigurationError):
            encoder.add(bad)
    encoder.add(req("d"))
    batch = encoder.finish()
    assert batch is not None and [r["custom_id"] for r in decoded(batch.body)] == ["a", "d"]


def test_one_batch_refuses_what_needs_two_and_nothing() -> None:
    with pytest.raises(ConfigurationError, match="create_many"):
        encode_batch([req("a"), req("b")], DEFAULT_API_VERSION, max_requests=1)
    with pytest.raises(ConfigurationError, match="at least one"):
        encode_batch([], DEFAULT_API_VERSION)
    with pytest.raises(ConfigurationError, match="must be a list"):
        encode_batch(req("a"), DEFAULT_API_VERSION)  # type: ignore[arg-type]


def test_limits_can_only_be_lowered() -> None:
    with pytest.raises(ConfigurationError, match="max_requests"):
        BatchEncoder(DEFAULT_API_VERSION, max_requests=MAX_BATCH_REQUESTS + 1)
    with pytest.raises(ConfigurationError, match="max_bytes"):
        BatchEncoder(DEFAULT_API_VERSION, max_bytes=0)


def test_a_request_bigger_than_a_batch_is_refused() -> None:
    big = req("big", system="x" * 1000)
    with pytest.raises(ConfigurationError, match=r"requests\[1\].*more than one batch may hold"):
        list(encode_batches([req("a"), big], DEFAULT_API_VERSION, max_bytes=500))


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 300), min_size=1, max_size=40),
    max_requests=st.integers(1, 7),
    max_bytes=st.integers(600, 1500),
)
def test_batches_split_by_both_limits_and_keep_every_request(
    sizes: list[int], max_requests: int, max_bytes: int
) -> None:
    requests = [req(f"r{i}", system="s" * n) for i, n in enumerate(sizes)]
    batches = list(
        encode_batches(
            requests, DEFAULT_API_VERSION, max_requests=max_requests, max_bytes=max_bytes
        )
    )
    got = [r for b in batches for r in decoded(b.body)]
    assert got == requests
    first = 0
    for i, batch in enumerate(batches):
        assert batch.first_index == first and batch.count == len(decoded(batch.body))
        assert batch.count <= max_requests and len(batch.body) <= max_bytes
        first += batch.count
        if i + 1 < len(batches):
            # A batch is closed only when the next request did not fit.
            nxt = orjson.dumps(requests[first])
            assert batch.count == max_requests or len(batch.body) + 1 + len(nxt) > max_bytes


def test_custom_ids_may_repeat_across_batches() -> None:
    batches = list(encode_batches([req("a"), req("a")], DEFAULT_API_VERSION, max_requests=1))
    assert [b.count for b in batches] == [1, 1]


def test_encode_batches_is_lazy() -> None:
    taken = 0

    def requests() -> Iterator[dict[str, Any]]:
        nonlocal taken
        for i in range(10):
            taken += 1
            yield req(f"r{i}")

    batches = encode_batches(requests(), DEFAULT_API_VERSION, max_requests=3)
    first = next(batches)
    assert first.count == 3 and taken == 4  # the 4th request closed the first batch
    assert [b.count for b in batches] == [3, 3, 1] and taken == 10


def _error(status: int, code: str | None) -> bytes:
    details = {"error_code": code} if code else None
    kind = {400: "invalid_request_error", 404: "not_found_error", 500: "api_error"}[status]
    return orjson.dumps(
        {"type": "error", "error": {"type": kind, "message": "nope", "details": details}}
    )


@pytest.mark.parametrize(
    ("status", "code", "cls", "advice"),
    [
        (404, "file_expired", FileExpiredError, "upload it again"),
        (400, "file_not_downloadable", FileNotDownloadableError, "created by a tool"),
        (400, "storage_quota_exceeded", StorageQuotaExceededError, "client.files.delete"),
    ],
)
def test_file_error_codes_get_their_classes_and_advice(
    status: int, code: str, cls: type[Exception], advice: str
) -> None:
    err = error_from_response(status, None, {}, _error(status, code))
    assert type(err) is cls
    assert err.status_code == status and err.error_code == code
    assert "nope" in str(err) and advice in str(err)


def test_a_file_code_on_another_status_keeps_the_status_class() -> None:
    err = error_from_response(500, None, {}, _error(500, "file_expired"))
    assert type(err) is InternalServerError and err.error_code == "file_expired"
    assert type(error_from_response(404, None, {}, _error(404, None))) is NotFoundError
