"""The SSE encoder, checked against our WHATWG parser: what is encoded is what a browser reads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rawclaude import ConfigurationError
from rawclaude.wire.sse import SSEParser
from rawclaude.wire.sse_encode import HEARTBEAT, encode_comment, encode_event


def _parse(payload: bytes) -> list[tuple[str, bytes, str]]:
    parser = SSEParser()
    events = parser.feed(payload)
    events += parser.end()
    return [(e.event, e.data, e.id) for e in events]


def _as_read(text: str) -> bytes:
    """What the spec's parser yields for ``text``: every line end becomes LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n").encode()


def test_single_line_event() -> None:
    assert encode_event("hi", event="text") == b"event: text\ndata: hi\n\n"


def test_multi_line_data_is_one_data_line_per_line() -> None:
    assert encode_event("a\nb\r\nc\rd") == b"data: a\ndata: b\ndata: c\ndata: d\n\n"
    assert _parse(encode_event("a\nb\r\nc\rd")) == [("message", b"a\nb\nc\nd", "")]


@pytest.mark.parametrize(
    "text",
    ["", "\n", "\n\n", "trailing\n", "\nleading", " leading space", "a\n\nb", "data: x", ":x"],
)
def test_edge_values_survive(text: str) -> None:
    assert _parse(encode_event(text, event="text")) == [("text", text.encode(), "")]


def test_bytes_data_is_framed_like_text() -> None:
    assert encode_event(b'{"a":1}', event="done") == b'event: done\ndata: {"a":1}\n\n'
    assert encode_event(b"x\r\ny") == encode_event("x\ny") == b"data: x\ndata: y\n\n"
    assert encode_event("\ud800") == b"data: ?\n\n"


def test_id_and_retry() -> None:
    payload = encode_event("x", event="e", id="7", retry=1500)
    assert payload == b"event: e\nid: 7\nretry: 1500\ndata: x\n\n"
    parser = SSEParser()
    [event] = parser.feed(payload)
    assert (event.id, event.retry) == ("7", 1500)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"event": "a\nb"}, "event"),
        ({"event": "a\rb"}, "event"),
        ({"id": "1\n2"}, "id"),
        ({"id": "1\x002"}, "id"),
        ({"retry": -1}, "retry"),
        ({"retry": True}, "retry"),
    ],
)
def test_caller_mistakes_are_configuration_errors(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        encode_event("x", **kwargs)  # type: ignore[arg-type]


def test_comments_are_ignored_by_the_parser() -> None:
    assert HEARTBEAT == b": heartbeat\n\n"
    assert encode_comment("two\nlines") == b": two\n: lines\n\n"
    assert encode_comment() == b":\n\n"
    payload = encode_event("a", event="text") + HEARTBEAT + encode_event("b", event="text")
    assert _parse(payload) == [("text", b"a", ""), ("text", b"b", "")]


@given(
    st.lists(
        st.tuples(
            st.text(alphabet=st.characters(blacklist_characters="\r\n"), min_size=1, max_size=8),
            st.text(max_size=40),
        ),
        max_size=6,
    ),
    st.integers(min_value=1, max_value=17),
)
def test_any_events_round_trip_through_any_chunking(
    events: list[tuple[str, str]], cut: int
) -> None:
    # Surrogates cannot be UTF-8 encoded; text from a model never has them.
    events = [(n, d) for n, d in events if not _has_surrogate(n + d)]
    payload = b"".join(encode_event(d, event=n) + HEARTBEAT for n, d in events)
    parser = SSEParser()
    got = []
    for i in range(0, len(payload), cut):
        got += parser.feed(payload[i : i + cut])
    got += parser.end()
    assert [(e.event, e.data) for e in got] == [(n, _as_read(d)) for n, d in events]


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)
