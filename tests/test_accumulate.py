"""MessageAccumulator: a streamed message folds into exactly the Message the
non-streaming call returns (docs: "Streaming Messages")."""

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rawclaude.wire.accumulate import MessageAccumulator
from rawclaude.wire.errors import APIResponseValidationError
from rawclaude.wire.events import StreamEvent, decode_event
from rawclaude.wire.models import (
    CitationCharLocation,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    UnknownBlock,
    decode_message,
)

CITATION = {
    "type": "char_location",
    "cited_text": "The grass is green.",
    "document_index": 0,
    "document_title": "Facts",
    "start_char_index": 0,
    "end_char_index": 20,
}


def body_of(content: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    """A non-streaming response body with every optional field spelled out."""
    body: dict[str, Any] = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "content": content,
        "model": "claude-sonnet-4-5",
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "stop_details": None,
        "usage": {
            "input_tokens": 472,
            "output_tokens": 89,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0},
            "output_tokens_details": None,
            "service_tier": "standard",
            "inference_geo": None,
        },
        "container": None,
        "context_management": None,
    }
    body.update(overrides)
    return copy.deepcopy(body)


RICH_CONTENT: list[dict[str, Any]] = [
    {"type": "thinking", "thinking": 'The user wants "weather" in Paris…', "signature": "EqQBCg=="},
    {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
    {"type": "text", "text": "Let me check. ", "citations": [CITATION, CITATION]},
    {
        "type": "server_tool_use",
        "id": "srvtoolu_01",
        "name": "web_search",
        "input": {"query": 'météo Paris "today"'},
    },
    {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_01",
        "content": [
            {
                "type": "web_search_result",
                "url": "https://example.com",
                "title": "Weather",
                "encrypted_content": "Eq==",
                "page_age": None,
            }
        ],
    },
    {"type": "hologram", "frames": [1, 2, 3]},
    {"type": "text", "text": "It is sunny, 21 °C 🌞.", "citations": None},
    {
        "type": "tool_use",
        "id": "toolu_01",
        "name": "get_weather",
        "input": {"location": "Paris", "unit": "celsius", "days": [1, 2], "x": None},
    },
]

_TOOL_TYPES = ("tool_use", "server_tool_use", "mcp_tool_use")


def split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def block_events(index: int, block: dict[str, Any], size: int) -> list[dict[str, Any]]:
    """The events the API streams for one finished block (docs: "Streaming Messages")."""
    kind = block["type"]
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in split(block["text"], size)]
        deltas += [{"type": "citations_delta", "citation": c} for c in block["citations"] or []]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in split(block["thinking"], size)]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind in _TOOL_TYPES:
        start = {**block, "input": {}}
        text = json.dumps(block["input"])  # ensure_ascii: escapes like \u00e9 to split inside
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in split(text, size)]
    else:
        start = block
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def stream_of(body: dict[str, Any], size: int = 3) -> list[StreamEvent]:
    """The decoded event sequence the API streams for a response body."""
    usage = body["usage"]
    start_usage = {**usage, "output_tokens": 1, "server_tool_use": None}
    start = {
        **body,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    raw: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(body["content"]):
        raw += block_events(index, block, size)
    raw.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": body["stop_reason"], "stop_sequence": body["stop_sequence"]},
            "usage": {
                "output_tokens": usage["output_tokens"],
                "server_tool_use": usage["server_tool_use"],
            },
        }
    )
    raw.append({"type": "message_stop"})
    return [decode_event(orjson.dumps(event)) for event in raw]


def accumulate(events: list[StreamEvent]) -> MessageAccumulator:
    acc = MessageAccumulator()
    for event in events:
        acc.feed(event)
    return acc


def ev(**raw: Any) -> StreamEvent:
    return decode_event(orjson.dumps(raw))


def start_event(**usage: Any) -> StreamEvent:
    message = body_of([], stop_reason=None, usage=usage or {"input_tokens": 10, "output_tokens": 1})
    return ev(type="message_start", message=message)


# -- the streamed message equals the non-streaming one -------------------------


@pytest.mark.parametrize("size", [1, 4, 10_000])
def test_streamed_message_equals_non_streaming(size: int) -> None:
    body = body_of(RICH_CONTENT, stop_reason="tool_use")
    acc = accumulate(stream_of(body, size))
    assert acc.finished
    message = acc.message()
    assert message == decode_message(orjson.dumps(body))
    assert msgspec.to_builtins(message) == body


@given(st.text(max_size=60), st.lists(st.integers(0, 60), max_size=8))
def test_text_split_anywhere_joins_back(text: str, cuts: list[int]) -> None:
    points = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    events = [
        start_event(),
        ev(type="content_block_start", index=0, content_block={"type": "text", "text": ""}),
        *(
            ev(type="content_block_delta", index=0, delta={"type": "text_delta", "text": p})
            for p in pieces
        ),
        ev(type="content_block_stop", index=0),
    ]
    assert accumulate(events).message().content == [TextBlock(text=text)]


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
JSON_OBJECTS = st.dictionaries(
    st.text(max_size=6),
    st.recursive(
        JSON_SCALARS,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=8,
    ),
    max_size=5,
)


def tool_events(pieces: list[str], kind: str = "tool_use") -> list[StreamEvent]:
    block = {"type": kind, "id": "toolu_1", "name": "f", "input": {}}
    if kind == "mcp_tool_use":
        block["server_name"] = "srv"
    return [
        start_event(),
        ev(type="content_block_start", index=0, content_block=block),
        *(
            ev(
                type="content_block_delta",
                index=0,
                delta={"type": "input_json_delta", "partial_json": p},
            )
            for p in pieces
        ),
        ev(type="content_block_stop", index=0),
    ]


@given(JSON_OBJECTS, st.data())
def test_tool_input_split_anywhere_parses_once(value: dict[str, Any], data: st.DataObject) -> None:
    text = json.dumps(value, ensure_ascii=data.draw(st.booleans()))
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=12))
    points = sorted(set(cuts))
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    (block,) = accumulate(tool_events(pieces)).message().content
    assert isinstance(block, ToolUseBlock)
    assert block.input == value


def test_tool_input_split_inside_escapes() -> None:
    text = '{"q": "say \\"h\\u00e9llo\\" \\ud83d\\ude00\\\\", "n": [1, 2.5e3]}'
    expected = {"q": 'say "héllo" 😀\\', "n": [1, 2500.0]}
    for i in range(len(text)):
        for j in range(i, len(text)):
            pieces = [text[:i], text[i:j], text[j:]]
            (block,) = accumulate(tool_events(pieces)).message().content
            assert isinstance(block, ToolUseBlock) and block.input == expected


@pytest.mark.parametrize("kind", ["tool_use", "server_tool_use", "mcp_tool_use"])
@pytest.mark.parametrize("pieces", [[], [""], ["", "  "], [" \n"]])
def test_empty_tool_input_is_an_empty_object(kind: str, pieces: list[str]) -> None:
    (block,) = accumulate(tool_events(pieces, kind)).message().content
    assert block.type == kind
    assert block.input == {}  # type: ignore[union-attr]


@pytest.mark.parametrize("pieces", [['{"a": '], ['{"a": 1', "}}"], ["[1, 2]"], ['"x"']])
def test_bad_tool_input_raises_with_the_text(pieces: list[str]) -> None:
    acc = MessageAccumulator()
    *events, stop = tool_events(pieces)
    for event in events:
        acc.feed(event)
    with pytest.raises(APIResponseValidationError) as info:
        acc.feed(stop)
    assert info.value.data == "".join(pieces).encode()


# -- block kinds -----------------------------------------------------------------


def test_thinking_and_signature() -> None:
    events = [
        start_event(),
        ev(
            type="content_block_start",
            index=0,
            content_block={"type": "thinking", "thinking": "", "signature": ""},
        ),
        ev(
            type="content_block_delta",
            index=0,
            delta={"type": "thinking_delta", "thinking": "I need to find "},
        ),
        ev(
            type="content_block_delta",
            index=0,
            delta={"type": "thinking_delta", "thinking": "the GCD of 1071 and 462."},
        ),
        ev(
            type="content_block_delta",
            index=0,
            delta={"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
        ),
        ev(type="content_block_stop", index=0),
    ]
    (block,) = accumulate(events).message().content
    assert block == ThinkingBlock(
        thinking="I need to find the GCD of 1071 and 462.",
        signature="EqQBCgIYAhIM1gbcDa9GJwZA2b3h",
    )


def test_citations_are_appended_in_order_without_touching_the_event() -> None:
    first = {**CITATION, "cited_text": "one"}
    second = {**CITATION, "cited_text": "two"}
    start = ev(
        type="content_block_start",
        index=0,
        content_block={"type": "text", "text": "", "citations": [first]},
    )
    events = [
        start_event(),
        start,
        ev(
            type="content_block_delta",
            index=0,
            delta={"type": "citations_delta", "citation": second},
        ),
        ev(type="content_block_delta", index=0, delta={"type": "text_delta", "text": "cited"}),
        ev(type="content_block_stop", index=0),
    ]
    (block,) = accumulate(events).message().content
    assert isinstance(block, TextBlock) and block.text == "cited"
    assert block.citations == [msgspec.convert(c, CitationCharLocation) for c in (first, second)]
    # The start event a caller may still hold is unchanged.
    assert msgspec.to_builtins(start)["content_block"] == {
        "type": "text",
        "text": "",
        "citations": [first],
    }


def test_citations_list_is_created_when_none() -> None:
    events = [
        start_event(),
        ev(type="content_block_start", index=0, content_block={"type": "text", "text": ""}),
        ev(
            type="content_block_delta",
            index=0,
            delta={"type": "citations_delta", "citation": CITATION},
        ),
        ev(type="content_block_stop", index=0),
    ]
    (block,) = accumulate(events).message().content
    assert isinstance(block, TextBlock)
    assert block.citations == [msgspec.convert(CITATION, CitationCharLocation)]


def test_unknown_block_passes_through_and_unknown_delta_is_ignored() -> None:
    raw = {"type": "hologram", "frames": [1]}
    events = [
        start_event(),
        ev(type="content_block_start", index=0, content_block=raw),
        ev(type="content_block_delta", index=0, delta={"type": "frame_delta", "frame": 2}),
        ev(type="content_block_stop", index=0),
        ev(type="content_block_start", index=1, content_block={"type": "text", "text": "a"}),
        ev(type="content_block_delta", index=1, delta={"type": "sparkle_delta", "n": 1}),
        ev(type="content_block_delta", index=1, delta={"type": "text_delta", "text": "b"}),
        ev(type="content_block_stop", index=1),
        ev(type="tool_progress", percent=50),
        ev(type="ping"),
        ev(type="error", error={"type": "overloaded_error", "message": "Overloaded"}),
    ]
    acc = accumulate(events)
    assert acc.message().content == [UnknownBlock(raw), TextBlock(text="ab")]


def test_unknown_tool_like_block_gets_its_input_parsed() -> None:
    raw = {"type": "future_tool_use", "id": "x", "input": {}}
    events = [
        start_event(),
        ev(type="content_block_start", index=0, content_block=raw),
        ev(
            type="content_block_delta",
            index=0,
            delta={"type": "input_json_delta", "partial_json": '{"a": '},
        ),
        ev(
            type="content_block_delta",
            index=0,
            delta={"type": "input_json_delta", "partial_json": "[1]}"},
        ),
        ev(type="content_block_stop", index=0),
    ]
    (block,) = accumulate(events).message().content
    assert block == UnknownBlock({"type": "future_tool_use", "id": "x", "input": {"a": [1]}})
    assert isinstance(block, UnknownBlock)


def test_deltas_that_do_not_fit_their_block_are_ignored() -> None:
    events = [
        start_event(),
        ev(
            type="content_block_start",
            index=0,
            content_block={"type": "tool_use", "id": "t", "name": "f", "input": {}},
        ),
        ev(type="content_block_delta", index=0, delta={"type": "text_delta", "text": "x"}),
        ev(type="content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "x"}),
        ev(type="content_block_stop", index=0),
        ev(type="content_block_start", index=1, content_block={"type": "text", "text": ""}),
        ev(
            type="content_block_delta",
            index=1,
            delta={"type": "input_json_delta", "partial_json": "{"},
        ),
        ev(
            type="content_block_delta", index=1, delta={"type": "signature_delta", "signature": "s"}
        ),
        ev(type="content_block_stop", index=1),
    ]
    assert accumulate(events).message().content == [
        ToolUseBlock(id="t", name="f", input={}),
        TextBlock(text=""),
    ]


def test_blocks_are_placed_by_index() -> None:
    def text_block(index: int, text: str) -> list[StreamEvent]:
        return [
            ev(type="content_block_start", index=index, content_block={"type": "text", "text": ""}),
            ev(type="content_block_delta", index=index, delta={"type": "text_delta", "text": text}),
        ]

    events = [
        start_event(),
        *text_block(1, "b"),
        *text_block(0, "a"),
        ev(type="content_block_stop", index=0),
        ev(type="content_block_stop", index=1),
    ]
    content = accumulate(events).message().content
    assert content == [TextBlock(text="a"), TextBlock(text="b")]


# -- message_delta ---------------------------------------------------------------


def test_usage_counts_are_replaced_not_added() -> None:
    acc = accumulate(
        [
            start_event(
                input_tokens=10, output_tokens=1, cache_read_input_tokens=3, service_tier="standard"
            ),
            ev(
                type="message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": 25}
            ),
        ]
    )
    usage = acc.message().usage
    assert (usage.input_tokens, usage.output_tokens) == (10, 25)
    assert usage.cache_read_input_tokens == 3 and usage.service_tier == "standard"
    acc.feed(
        ev(
            type="message_delta",
            delta={"stop_reason": "end_turn"},
            usage={
                "output_tokens": 30,
                "input_tokens": 12,
                "cache_read_input_tokens": 0,
                "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 1},
            },
        )
    )
    usage = acc.message().usage
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_input_tokens) == (12, 30, 0)
    assert usage.server_tool_use is not None and usage.server_tool_use.web_search_requests == 2
    assert acc.usage() == usage


def test_stop_reason_sequence_details_and_container() -> None:
    container = {"id": "container_1", "expires_at": "2025-08-25T11:00:00Z", "skills": None}
    acc = accumulate(
        [
            start_event(),
            ev(
                type="message_delta",
                delta={
                    "stop_reason": "stop_sequence",
                    "stop_sequence": "###",
                    "stop_details": {"type": "refusal", "category": None},
                    "container": container,
                },
                usage={"output_tokens": 5},
                context_management={"applied_edits": []},
            ),
            ev(type="message_stop"),
        ]
    )
    message = acc.message()
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "###")
    assert message.stop_details == {"type": "refusal", "category": None}
    assert message.container is not None and message.container.id == "container_1"
    assert message.context_management == {"applied_edits": []}


def test_message_delta_without_container_keeps_the_start_one() -> None:
    container = {"id": "c1", "expires_at": "2025-08-25T11:00:00Z", "skills": None}
    message = body_of(
        [], stop_reason=None, container=container, usage={"input_tokens": 1, "output_tokens": 1}
    )
    acc = accumulate(
        [
            ev(type="message_start", message=message),
            ev(type="message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": 2}),
        ]
    )
    final = acc.message()
    assert final.container is not None and final.container.id == "c1"
    assert final.stop_reason == "end_turn"


# -- state, snapshots, protocol errors -------------------------------------------


def test_flags_follow_the_stream() -> None:
    events = stream_of(body_of([{"type": "text", "text": "hi", "citations": None}]))
    acc = MessageAccumulator()
    assert (acc.started, acc.content_started, acc.finished) == (False, False, False)
    assert acc.usage() is None
    acc.feed(events[0])  # message_start
    acc.feed(events[1])  # ping
    assert (acc.started, acc.content_started, acc.finished) == (True, False, False)
    acc.feed(events[2])  # content_block_start
    assert acc.content_started and not acc.finished
    for event in events[3:]:
        acc.feed(event)
    assert acc.finished


def test_message_mid_stream_is_a_snapshot_and_later_calls_update() -> None:
    events = stream_of(body_of([{"type": "text", "text": "abcdef", "citations": None}]), size=2)
    acc = accumulate(events[:4])  # start, ping, block start, one delta
    assert acc.message().content == [TextBlock(text="ab")]
    assert acc.message().stop_reason is None
    for event in events[4:]:
        acc.feed(event)
    final = acc.message()
    assert final.content == [TextBlock(text="abcdef")] and final.stop_reason == "end_turn"
    assert acc.message() is final  # cached once finished


def test_message_start_content_and_usage_are_not_mutated() -> None:
    body = body_of(RICH_CONTENT)
    events = stream_of(body)
    start = events[0]
    before = msgspec.to_builtins(start)
    accumulate(events)
    assert msgspec.to_builtins(start) == before


def test_message_before_message_start_raises() -> None:
    with pytest.raises(APIResponseValidationError, match="message_start"):
        MessageAccumulator().message()


@pytest.mark.parametrize(
    "events",
    [
        [ev(type="content_block_start", index=0, content_block={"type": "text", "text": ""})],
        [ev(type="message_delta", delta={}, usage={"output_tokens": 1})],
        [start_event(), start_event()],
        [
            start_event(),
            ev(type="content_block_delta", index=0, delta={"type": "text_delta", "text": "x"}),
        ],
    ],
)
def test_out_of_order_events_raise(events: list[StreamEvent]) -> None:
    acc = MessageAccumulator()
    with pytest.raises(APIResponseValidationError):
        for event in events:
            acc.feed(event)


def test_a_stray_block_stop_is_ignored_even_before_message_start() -> None:
    # Issue 8: a content_block_stop for a block that is not open changes nothing
    # (the official SDK's own stream tests send one); a delta for one stays an error.
    acc = MessageAccumulator()
    acc.feed(ev(type="content_block_stop", index=3))
    acc.feed(start_event())
    acc.feed(ev(type="content_block_stop", index=0))
    acc.feed(ev(type="message_stop"))
    assert acc.finished and acc.message().content == []


def test_message_stop_with_a_tool_block_still_open_raises() -> None:
    acc = MessageAccumulator()
    acc.feed(start_event())
    block = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
    acc.feed(ev(type="content_block_start", index=0, content_block=block))
    delta = {"type": "input_json_delta", "partial_json": '{"a": 1'}
    acc.feed(ev(type="content_block_delta", index=0, delta=delta))
    with pytest.raises(APIResponseValidationError, match="still open"):
        acc.feed(ev(type="message_stop"))
    assert not acc.finished


def test_tool_input_json_orjson_refuses_is_still_parsed() -> None:
    acc = MessageAccumulator()
    acc.feed(start_event())
    block = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
    acc.feed(ev(type="content_block_start", index=0, content_block=block))
    big = "9" * 400
    delta = {"type": "input_json_delta", "partial_json": '{"n": ' + big + "}"}
    acc.feed(ev(type="content_block_delta", index=0, delta=delta))
    acc.feed(ev(type="content_block_stop", index=0))
    assert acc.message().content[0].input == {"n": int(big)}


def test_tool_input_nested_too_deep_is_a_typed_error() -> None:
    acc = MessageAccumulator()
    acc.feed(start_event())
    block = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
    acc.feed(ev(type="content_block_start", index=0, content_block=block))
    deep = '{"a": ' + "[" * 3000 + "]" * 3000 + "}"
    acc.feed(
        ev(
            type="content_block_delta",
            index=0,
            delta={"type": "input_json_delta", "partial_json": deep},
        )
    )
    with pytest.raises(APIResponseValidationError):
        acc.feed(ev(type="content_block_stop", index=0))
