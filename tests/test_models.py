"""Response models and stream event decoding (rawclaude.wire.models, rawclaude.wire.events).

Fixtures follow the shapes in the Messages API reference and the streaming
docs; the round-trip tests check that ``msgspec.to_builtins`` gives back the
JSON the API sent, including blocks of a type this version does not know.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rawclaude.wire.errors import APIResponseValidationError
from rawclaude.wire.events import (
    CitationsDelta,
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    ErrorEvent,
    InputJSONDelta,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    PingEvent,
    SignatureDelta,
    TextDelta,
    ThinkingDelta,
    UnknownDelta,
    UnknownEvent,
    decode_event,
)
from rawclaude.wire.models import (
    BashCodeExecutionToolResultBlock,
    CitationCharLocation,
    CitationContentBlockLocation,
    CitationPageLocation,
    CitationSearchResultLocation,
    CitationWebSearchResultLocation,
    CodeExecutionToolResultBlock,
    ContainerUploadBlock,
    MCPToolResultBlock,
    MCPToolUseBlock,
    Message,
    RedactedThinkingBlock,
    ServerToolUseBlock,
    TextBlock,
    TextEditorCodeExecutionToolResultBlock,
    ThinkingBlock,
    ToolSearchToolResultBlock,
    ToolUseBlock,
    UnknownBlock,
    UnknownCitation,
    WebFetchToolResultBlock,
    WebSearchResultBlock,
    WebSearchToolResultBlock,
    convert_message,
    decode_count,
    decode_error_body,
    decode_message,
    decode_model,
    decode_model_list,
)

# -- fixtures: one block of every type the API returns -------------------------

CITATIONS: list[dict[str, Any]] = [
    {
        "type": "char_location",
        "cited_text": "The grass is green.",
        "document_index": 0,
        "document_title": "Facts",
        "start_char_index": 0,
        "end_char_index": 20,
    },
    {
        "type": "page_location",
        "cited_text": "Water boils at 100 C.",
        "document_index": 1,
        "document_title": None,
        "start_page_number": 3,
        "end_page_number": 4,
        "file_id": "file_011",
    },
    {
        "type": "content_block_location",
        "cited_text": "Sky is blue.",
        "document_index": 2,
        "document_title": "Custom",
        "start_block_index": 1,
        "end_block_index": 2,
    },
    {
        "type": "web_search_result_location",
        "cited_text": "Claude is a model.",
        "url": "https://example.com/claude",
        "title": "Claude",
        "encrypted_index": "Eo8BCioIAhgBIiQ=",
    },
    {
        "type": "search_result_location",
        "cited_text": "Result text",
        "source": "https://kb.example.com/1",
        "title": None,
        "search_result_index": 0,
        "start_block_index": 0,
        "end_block_index": 1,
    },
]

BLOCKS: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "text": "The grass is green.", "citations": CITATIONS},
    "thinking": {"type": "thinking", "thinking": "Let me think.", "signature": "EqQBCgIYAhIM"},
    "redacted_thinking": {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
    "tool_use": {
        "type": "tool_use",
        "id": "toolu_01A09q90qw90lq917835lq9",
        "name": "get_weather",
        "input": {"location": "San Francisco, CA", "unit": "celsius"},
    },
    "server_tool_use": {
        "type": "server_tool_use",
        "id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE",
        "name": "web_search",
        "input": {"query": "claude shannon birth date"},
    },
    "web_search_tool_result": {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE",
        "content": [
            {
                "type": "web_search_result",
                "url": "https://en.wikipedia.org/wiki/Claude_Shannon",
                "title": "Claude Shannon - Wikipedia",
                "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5",
                "page_age": "April 30, 2025",
            }
        ],
    },
    "web_fetch_tool_result": {
        "type": "web_fetch_tool_result",
        "tool_use_id": "srvtoolu_01234567890abcdef",
        "content": {
            "type": "web_fetch_result",
            "url": "https://example.com/article",
            "content": {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "Full text"},
                "title": "Article",
                "citations": {"enabled": True},
            },
            "retrieved_at": "2025-08-25T10:30:00Z",
        },
    },
    "code_execution_tool_result": {
        "type": "code_execution_tool_result",
        "tool_use_id": "srvtoolu_01A2B3C4D5E6F7G8H9",
        "content": {
            "type": "code_execution_result",
            "stdout": "4\n",
            "stderr": "",
            "return_code": 0,
            "content": [],
        },
    },
    "bash_code_execution_tool_result": {
        "type": "bash_code_execution_tool_result",
        "tool_use_id": "srvtoolu_01B3C4D5E6F7G8H9I0",
        "content": {
            "type": "bash_code_execution_result",
            "stdout": "total 0\n",
            "stderr": "",
            "return_code": 0,
            "content": [{"type": "bash_code_execution_output", "file_id": "file_1"}],
        },
    },
    "text_editor_code_execution_tool_result": {
        "type": "text_editor_code_execution_tool_result",
        "tool_use_id": "srvtoolu_01C4D5E6F7G8H9I0J1",
        "content": {
            "type": "text_editor_code_execution_view_result",
            "file_type": "text",
            "content": "print('hi')\n",
            "num_lines": 1,
            "start_line": 1,
            "total_lines": 1,
        },
    },
    "tool_search_tool_result": {
        "type": "tool_search_tool_result",
        "tool_use_id": "srvtoolu_01D5",
        "content": {
            "type": "tool_search_tool_search_result",
            "tool_references": [{"type": "tool_reference", "tool_name": "get_weather"}],
        },
    },
    "mcp_tool_use": {
        "type": "mcp_tool_use",
        "id": "mcptoolu_014Q35RayjACSWkSj4X2yov1",
        "name": "echo",
        "server_name": "example-mcp",
        "input": {"param1": "value1"},
    },
    "mcp_tool_result": {
        "type": "mcp_tool_result",
        "tool_use_id": "mcptoolu_014Q35RayjACSWkSj4X2yov1",
        "is_error": False,
        "content": [{"type": "text", "text": "Hello"}],
    },
    "container_upload": {"type": "container_upload", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"},
}

BLOCK_CLASSES: dict[str, type[Any]] = {
    "text": TextBlock,
    "thinking": ThinkingBlock,
    "redacted_thinking": RedactedThinkingBlock,
    "tool_use": ToolUseBlock,
    "server_tool_use": ServerToolUseBlock,
    "web_search_tool_result": WebSearchToolResultBlock,
    "web_fetch_tool_result": WebFetchToolResultBlock,
    "code_execution_tool_result": CodeExecutionToolResultBlock,
    "bash_code_execution_tool_result": BashCodeExecutionToolResultBlock,
    "text_editor_code_execution_tool_result": TextEditorCodeExecutionToolResultBlock,
    "tool_search_tool_result": ToolSearchToolResultBlock,
    "mcp_tool_use": MCPToolUseBlock,
    "mcp_tool_result": MCPToolResultBlock,
    "container_upload": ContainerUploadBlock,
}

UNKNOWN_BLOCK: dict[str, Any] = {
    "type": "hologram",
    "frames": [{"t": 0, "data": "AAEC"}],
    "meta": {"nested": [1, 2.5, None, True]},
}

USAGE: dict[str, Any] = {
    "input_tokens": 2095,
    "output_tokens": 503,
    "cache_creation_input_tokens": 2051,
    "cache_read_input_tokens": 0,
    "cache_creation": {"ephemeral_5m_input_tokens": 2051, "ephemeral_1h_input_tokens": 0},
    "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0},
    "output_tokens_details": {"thinking_tokens": 120},
    "service_tier": "standard",
    "inference_geo": "us",
}


def message_dict(content: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    """A full Messages API response body, every optional field spelled out."""
    body: dict[str, Any] = {
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "content": content,
        "model": "claude-sonnet-4-5",
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "stop_details": None,
        "usage": USAGE,
        "container": None,
        "context_management": None,
    }
    body.update(overrides)
    return copy.deepcopy(body)


def rich_message() -> dict[str, Any]:
    return message_dict([*BLOCKS.values(), UNKNOWN_BLOCK])


# -- messages ------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_every_block_type_decodes_to_its_struct(kind: str) -> None:
    message = decode_message(orjson.dumps(message_dict([BLOCKS[kind]])))
    (block,) = message.content
    assert type(block) is BLOCK_CLASSES[kind]
    assert block.type == kind
    assert msgspec.to_builtins(block) == BLOCKS[kind]


def test_rich_message_round_trips_to_the_api_json() -> None:
    body = rich_message()
    message = decode_message(orjson.dumps(body))
    assert msgspec.to_builtins(message) == body
    assert orjson.loads(msgspec.json.encode(message)) == body
    assert orjson.loads(orjson.dumps(msgspec.to_builtins(message))) == body


def test_rich_message_fields() -> None:
    message = decode_message(orjson.dumps(rich_message()))
    text = message.content[0]
    assert isinstance(text, TextBlock)
    assert [type(c) for c in text.citations or []] == [
        CitationCharLocation,
        CitationPageLocation,
        CitationContentBlockLocation,
        CitationWebSearchResultLocation,
        CitationSearchResultLocation,
    ]
    assert isinstance(text.citations, list)
    assert text.citations[1].type == "page_location"
    search = message.content[5]
    assert isinstance(search, WebSearchToolResultBlock)
    assert isinstance(search.content, list)
    assert isinstance(search.content[0], WebSearchResultBlock)
    assert search.content[0].page_age == "April 30, 2025"
    assert message.usage.cache_creation is not None
    assert message.usage.cache_creation.ephemeral_5m_input_tokens == 2051
    assert message.usage.server_tool_use is not None
    assert message.usage.server_tool_use.web_search_requests == 1


def test_unknown_block_keeps_the_raw_json() -> None:
    message = decode_message(orjson.dumps(message_dict([UNKNOWN_BLOCK, BLOCKS["text"]])))
    unknown, text = message.content
    assert isinstance(unknown, UnknownBlock)
    assert unknown.type == "hologram"
    assert unknown.data == UNKNOWN_BLOCK
    assert isinstance(text, TextBlock)
    assert "UnknownBlock(" in repr(unknown)


def test_unknown_citation_type_inside_a_text_block() -> None:
    new_citation = {"type": "video_location", "cited_text": "x", "start_ms": 5}
    block = {"type": "text", "text": "t", "citations": [CITATIONS[0], new_citation]}
    body = message_dict([block])
    message = decode_message(orjson.dumps(body))
    text = message.content[0]
    assert isinstance(text, TextBlock) and text.citations is not None
    assert isinstance(text.citations[0], CitationCharLocation)
    assert isinstance(text.citations[1], UnknownCitation)
    assert text.citations[1].type == "video_location"
    assert msgspec.to_builtins(message) == body


def test_known_block_with_wrong_shape_is_an_error_even_on_the_slow_path() -> None:
    bad_tool = {"type": "tool_use", "id": "t1", "input": {}}  # no name
    for content in ([bad_tool], [UNKNOWN_BLOCK, bad_tool]):
        data = orjson.dumps(message_dict(content))
        with pytest.raises(APIResponseValidationError) as info:
            decode_message(data)
        assert info.value.data == data[: len(info.value.data)]
        assert "name" in str(info.value)


def test_block_without_a_type_is_an_error() -> None:
    with pytest.raises(APIResponseValidationError):
        decode_message(orjson.dumps(message_dict([{"text": "hi"}])))


def test_bad_json_error_carries_the_bytes() -> None:
    data = b'{"id": "msg_1", "content": [tru'
    with pytest.raises(APIResponseValidationError) as info:
        decode_message(data)
    assert info.value.data == data


def test_huge_bad_payload_is_cut_in_the_error() -> None:
    data = b"x" * 100_000
    with pytest.raises(APIResponseValidationError) as info:
        decode_message(data)
    assert 0 < len(info.value.data) < 2000


def test_message_missing_usage_is_an_error() -> None:
    body = message_dict([])
    del body["usage"]
    with pytest.raises(APIResponseValidationError):
        decode_message(orjson.dumps(body))


def test_usage_ignores_fields_added_later() -> None:
    usage = {"input_tokens": 3, "output_tokens": 4, "carbon_grams": 0.1, "speed": "fast"}
    message = decode_message(orjson.dumps(message_dict([], usage=usage)))
    assert (message.usage.input_tokens, message.usage.output_tokens) == (3, 4)
    assert message.usage.cache_read_input_tokens is None


def test_new_enum_values_and_fields_do_not_break_decoding() -> None:
    body = message_dict([BLOCKS["text"]], stop_reason="brand_new_reason", shiny_new_field={"a": 1})
    message = decode_message(orjson.dumps(body))
    assert message.stop_reason == "brand_new_reason"


def test_minimal_api_response_fills_optional_fields_with_none() -> None:
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "Hi"}],
        "model": "claude-sonnet-4-5",
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 2},
    }
    message = decode_message(orjson.dumps(body))
    assert message.content == [TextBlock(text="Hi")]
    assert message.container is None and message.usage.service_tier is None


def test_caller_is_omitted_when_absent_and_kept_when_present() -> None:
    plain = decode_message(orjson.dumps(message_dict([BLOCKS["tool_use"]]))).content[0]
    assert "caller" not in msgspec.to_builtins(plain)
    block = {**BLOCKS["tool_use"], "caller": {"type": "code_execution_20250825", "tool_id": "x"}}
    called = decode_message(orjson.dumps(message_dict([block]))).content[0]
    assert isinstance(called, ToolUseBlock)
    assert called.caller == {"type": "code_execution_20250825", "tool_id": "x"}
    assert msgspec.to_builtins(called) == block


def test_container_and_error_variant_of_web_search() -> None:
    container = {"id": "container_1", "expires_at": "2025-08-25T11:00:00Z", "skills": None}
    error_result = {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_1",
        "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"},
    }
    body = message_dict([error_result], container=container)
    message = decode_message(orjson.dumps(body))
    assert message.container is not None and message.container.id == "container_1"
    block = message.content[0]
    assert isinstance(block, WebSearchToolResultBlock)
    assert block.content == error_result["content"]
    assert msgspec.to_builtins(message) == body


def test_request_id_is_an_attribute_not_a_field() -> None:
    body = message_dict([BLOCKS["text"]])
    message = decode_message(orjson.dumps(body))
    assert message.request_id is None
    message._request_id = "req_011CSHoEeqs5C35K2UUqR7Fy"  # type: ignore[attr-defined]
    assert message.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"
    assert msgspec.to_builtins(message) == body


def test_convert_message_from_builtins() -> None:
    body = rich_message()
    message = convert_message(body)
    assert message == decode_message(orjson.dumps(body))
    assert msgspec.to_builtins(message) == body
    with pytest.raises(msgspec.ValidationError):
        convert_message({"id": 1})


@given(st.binary(max_size=200))
def test_garbage_gives_only_our_error(data: bytes) -> None:
    with contextlib.suppress(APIResponseValidationError):
        assert isinstance(decode_message(data), Message)


# Objects whose ``type`` is often a real tag, so the typed paths are exercised too.
TAGS = [*BLOCKS, "char_location", "text_delta", "citations_delta", "input_json_delta", "new"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["text", "id", "input", "name", "citation", "citations"]),
            inner,
            max_size=4,
        ).flatmap(lambda d: st.sampled_from(TAGS).map(lambda tag: {**d, "type": tag}))
    ),
    max_leaves=10,
)


@given(JSON_VALUES)
def test_wrong_json_shapes_give_only_our_error(value: Any) -> None:
    data = orjson.dumps(message_dict([value]))
    with contextlib.suppress(APIResponseValidationError):
        message = decode_message(data)
        # Whatever decodes, re-encodes to something that decodes to the same value.
        assert decode_message(msgspec.json.encode(message)) == message


# -- error bodies, token counts, models ----------------------------------------


def test_error_body() -> None:
    data = orjson.dumps(
        {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
        }
    )
    body = decode_error_body(data)
    assert body is not None
    assert (body.error.type, body.error.message) == ("overloaded_error", "Overloaded")
    assert body.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"


@pytest.mark.parametrize(
    "data",
    [
        b"<html>502 Bad Gateway</html>",
        b"",
        b"[]",
        b'{"type": "message", "error": {"type": "x", "message": "y"}}',
        b'{"type": "error"}',
        b'{"type": "error", "error": "overloaded"}',
    ],
)
def test_not_an_error_body(data: bytes) -> None:
    assert decode_error_body(data) is None


def test_error_body_without_top_level_type_or_request_id() -> None:
    body = decode_error_body(b'{"error": {"type": "api_error", "message": "boom"}}')
    assert body is not None
    assert body.error.type == "api_error" and body.request_id is None


def test_count_model_and_model_list() -> None:
    assert decode_count(b'{"input_tokens": 2095}').input_tokens == 2095
    model = {
        "id": "claude-sonnet-4-5-20250929",
        "type": "model",
        "display_name": "Claude Sonnet 4.5",
        "created_at": "2025-09-29T00:00:00Z",
    }
    info = decode_model(orjson.dumps(model))
    assert info.display_name == "Claude Sonnet 4.5"
    listing = decode_model_list(
        orjson.dumps({"data": [model], "has_more": True, "first_id": model["id"], "last_id": None})
    )
    assert listing.data == [info] and listing.has_more and listing.last_id is None
    listing._request_id = "req_1"  # type: ignore[attr-defined]
    assert listing.request_id == "req_1"


@pytest.mark.parametrize("decode", [decode_count, decode_model, decode_model_list])
def test_count_and_models_reject_bad_payloads(decode: Any) -> None:
    for data in (b"nope", b"{}"):
        with pytest.raises(APIResponseValidationError) as info:
            decode(data)
        assert info.value.data == data


# -- stream events (docs: "Streaming Messages") ---------------------------------


def test_each_event_type_decodes() -> None:
    start = {"type": "message_start", "message": message_dict([], stop_reason=None)}
    events = [
        decode_event(orjson.dumps(start)),
        decode_event(
            b'{"type": "content_block_start", "index": 0,'
            b' "content_block": {"type": "text", "text": ""}}'
        ),
        decode_event(b'{"type": "ping"}'),
        decode_event(
            b'{"type": "content_block_delta","index": 0,'
            b'"delta": {"type": "text_delta", "text": "ello frien"}}'
        ),
        decode_event(b'{"type": "content_block_stop", "index": 0}'),
        decode_event(
            b'{"type": "message_delta", "delta": {"stop_reason": "end_turn",'
            b' "stop_sequence":null}, "usage": {"output_tokens": 15}}'
        ),
        decode_event(b'{"type": "message_stop"}'),
    ]
    assert [type(e) for e in events] == [
        MessageStartEvent,
        ContentBlockStartEvent,
        PingEvent,
        ContentBlockDeltaEvent,
        ContentBlockStopEvent,
        MessageDeltaEvent,
        MessageStopEvent,
    ]
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert isinstance(events[0], MessageStartEvent) and isinstance(events[0].message, Message)
    assert isinstance(events[3], ContentBlockDeltaEvent)
    assert events[3].delta == TextDelta(text="ello frien")
    assert isinstance(events[5], MessageDeltaEvent)
    assert events[5].usage.output_tokens == 15 and events[5].usage.input_tokens is None
    assert events[5].delta.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        ({"type": "text_delta", "text": "hi"}, TextDelta(text="hi")),
        (
            {"type": "input_json_delta", "partial_json": '{"location": "San Fra'},
            InputJSONDelta(partial_json='{"location": "San Fra'),
        ),
        ({"type": "thinking_delta", "thinking": "Let me"}, ThinkingDelta(thinking="Let me")),
        ({"type": "signature_delta", "signature": "EqQB"}, SignatureDelta(signature="EqQB")),
        (
            {"type": "citations_delta", "citation": CITATIONS[0]},
            CitationsDelta(citation=msgspec.convert(CITATIONS[0], CitationCharLocation)),
        ),
    ],
)
def test_each_delta_type_decodes(delta: dict[str, Any], expected: Any) -> None:
    event = decode_event(orjson.dumps({"type": "content_block_delta", "index": 2, "delta": delta}))
    assert isinstance(event, ContentBlockDeltaEvent)
    assert event.index == 2 and event.delta == expected
    assert event.delta.type == delta["type"]


def test_error_event() -> None:
    event = decode_event(
        b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}'
    )
    assert isinstance(event, ErrorEvent)
    assert (event.error.type, event.error.message) == ("overloaded_error", "Overloaded")


def test_unknown_event_is_passed_through() -> None:
    raw = {"type": "tool_progress", "index": 1, "percent": 40}
    event = decode_event(orjson.dumps(raw))
    assert isinstance(event, UnknownEvent)
    assert event.type == "tool_progress" and event.data == raw


def test_unknown_delta_is_passed_through() -> None:
    raw = {"type": "audio_delta", "pcm": "AAEC"}
    event = decode_event(orjson.dumps({"type": "content_block_delta", "index": 0, "delta": raw}))
    assert isinstance(event, ContentBlockDeltaEvent)
    assert isinstance(event.delta, UnknownDelta) and event.delta.data == raw


def test_unknown_citation_in_citations_delta() -> None:
    raw = {"type": "video_location", "cited_text": "x"}
    event = decode_event(
        orjson.dumps(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "citations_delta", "citation": raw},
            }
        )
    )
    assert isinstance(event, ContentBlockDeltaEvent)
    assert isinstance(event.delta, CitationsDelta)
    assert isinstance(event.delta.citation, UnknownCitation) and event.delta.citation == raw


def test_unknown_block_in_content_block_start() -> None:
    data = orjson.dumps({"type": "content_block_start", "index": 3, "content_block": UNKNOWN_BLOCK})
    event = decode_event(data)
    assert isinstance(event, ContentBlockStartEvent) and event.index == 3
    assert isinstance(event.content_block, UnknownBlock)
    assert msgspec.to_builtins(event.content_block) == UNKNOWN_BLOCK


def test_unknown_block_in_message_start() -> None:
    data = orjson.dumps({"type": "message_start", "message": message_dict([UNKNOWN_BLOCK])})
    event = decode_event(data)
    assert isinstance(event, MessageStartEvent)
    assert event.message.content == [UnknownBlock(UNKNOWN_BLOCK)]


@pytest.mark.parametrize(
    "data",
    [
        b'{"type": "content_block_delta", "index": "0", "delta": {"type": "text_delta"}}',
        b'{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}}',
        b'{"type": "content_block_start", "index": 0, "content_block": {"type": "text"}}',
        b'{"type": "content_block_start", "content_block": {"type": "new_kind"}}',
        b'{"type": "content_block_stop"}',
        b'{"type": "message_start", "message": {"id": "m"}}',
        b'{"type": "message_delta", "delta": {"stop_reason": 5}}',
        b'{"type": "error", "error": "overloaded"}',
        b'{"index": 0}',
        b"[1, 2]",
        b"",
        b"data: {}",
        b'{"type": "ping"',
    ],
)
def test_malformed_events_raise_with_the_bytes(data: bytes) -> None:
    with pytest.raises(APIResponseValidationError) as info:
        decode_event(data)
    assert info.value.data == data


def test_decode_event_accepts_str() -> None:
    assert isinstance(decode_event('{"type": "ping"}'), PingEvent)


def test_event_unknown_fields_are_ignored() -> None:
    event = decode_event(b'{"type": "content_block_stop", "index": 1, "future": [1]}')
    assert event == ContentBlockStopEvent(index=1)


@given(st.binary(max_size=200))
def test_event_garbage_gives_only_our_error(data: bytes) -> None:
    with contextlib.suppress(APIResponseValidationError):
        decode_event(data)


@given(JSON_VALUES, st.sampled_from(["content_block", "delta", "message", "citation"]))
def test_wrong_event_shapes_give_only_our_error(value: Any, where: str) -> None:
    raw: dict[str, Any] = {
        "content_block": {"type": "content_block_start", "index": 0, "content_block": value},
        "delta": {"type": "content_block_delta", "index": 0, "delta": value},
        "message": {"type": "message_start", "message": message_dict([value])},
        "citation": {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "citations_delta", "citation": value},
        },
    }[where]
    with contextlib.suppress(APIResponseValidationError):
        event = decode_event(orjson.dumps(raw))
        assert decode_event(msgspec.json.encode(event)) == event
