"""The SSE parser against WHATWG HTML "9.2.6 Interpreting an event stream".

Three kinds of test: one or more per rule of the spec (``parse`` also feeds
each stream in every two-way split and byte by byte: chunking must never
matter), hypothesis properties (any split gives the same events; garbage
gives events or SSEError only), and a comparison with ``reference``, a slow
line-by-line transcription of the spec kept deliberately naive.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rawclaude.sse import ServerSentEvent, SSEError, SSEParser
from rawclaude.wire import sse as _sse

BOM = b"\xef\xbb\xbf"


def ev(
    data: bytes | str = b"", event: str = "message", id: str = "", retry: int | None = None
) -> ServerSentEvent:
    raw = data.encode() if isinstance(data, str) else data
    return ServerSentEvent(event=event, data=raw, id=id, retry=retry)


def feed_all(chunks: list[bytes], **kwargs: int) -> list[ServerSentEvent]:
    parser = SSEParser(**kwargs)
    out: list[ServerSentEvent] = []
    for chunk in chunks:
        out += parser.feed(chunk)
    out += parser.end()
    return out


def splits(stream: bytes) -> list[list[bytes]]:
    """The stream whole, byte by byte, and cut in two at every offset."""
    ways = [[stream], [stream[i : i + 1] for i in range(len(stream))]]
    ways += [[stream[:i], stream[i:]] for i in range(1, len(stream))]
    return ways


def parse(stream: bytes) -> list[ServerSentEvent]:
    """Events of ``stream``, checked to be the same however it is chunked."""
    whole = feed_all([stream])
    for chunks in splits(stream):
        assert feed_all(chunks) == whole, chunks
    return whole


# -- line ends -------------------------------------------------------------


@pytest.mark.parametrize(
    "stream",
    [
        b"data: a\n\n",
        b"data: a\r\n\r\n",
        b"data: a\r\r",
        b"data: a\r\n\n",
        b"data: a\n\r",
        b"data: a\r\r\n",
    ],
)
def test_every_line_end_style(stream: bytes) -> None:
    assert parse(stream) == [ev("a")]


def test_mixed_line_ends_in_one_event() -> None:
    assert parse(b"data: a\r\ndata: b\rdata: c\ndata: d\r\n\r\n") == [ev("a\nb\nc\nd")]


def test_cr_ending_a_chunk_pairs_with_lf_opening_the_next() -> None:
    # Read as two line ends, the LF would be a blank line dispatching "a" alone.
    assert feed_all([b"data: a\r", b"\ndata: b\r\n\r\n"]) == [ev("a\nb")]


def test_cr_pairing_survives_an_empty_chunk() -> None:
    assert feed_all([b"data: a\r", b"", b"\ndata: b\n\n"]) == [ev("a\nb")]


def test_cr_ending_a_chunk_followed_by_other_bytes_is_a_line_end() -> None:
    assert feed_all([b"data: a\r", b"data: b\r", b"\r"]) == [ev("a\nb")]
    assert feed_all([b"data: a\r", b"\r"]) == [ev("a")]


def test_cr_pairs_only_with_the_next_lf_not_a_later_one() -> None:
    assert feed_all([b"data: a\r", b"\n", b"\ndata: b\n\n"]) == [ev("a"), ev("b")]


# -- byte order mark -------------------------------------------------------


def test_bom_at_start_is_dropped() -> None:
    # Kept, it would make the first field name "\ufeffdata", an unknown field.
    assert parse(BOM + b"data: a\n\n") == [ev("a")]


def test_bom_split_over_first_chunks_is_dropped() -> None:
    assert feed_all([b"\xef", b"\xbb", b"\xbfdata: a\n\n"]) == [ev("a")]
    assert feed_all([b"", b"\xef\xbb", b"", b"\xbfdata: a\n\n"]) == [ev("a")]


def test_bom_is_dropped_only_once_and_only_at_start() -> None:
    assert parse(BOM + BOM + b"data: a\n\n") == []
    assert parse(b"data: a\n\n" + BOM + b"data: b\n\n") == [ev("a")]


def test_bytes_held_for_a_possible_bom_are_kept_when_it_is_not_one() -> None:
    # "\xefdata" is an unknown field name; dropping the held byte would
    # turn it into a data line.
    assert feed_all([b"\xef", b"data: a\n\n"]) == []
    assert feed_all([b"\xef\xbb", b"\ndata: a\n\n"]) == [ev("a")]


def test_stream_shorter_than_a_bom() -> None:
    assert feed_all([b"\xef\xbb"]) == []


# -- fields ----------------------------------------------------------------


def test_comment_lines_are_ignored() -> None:
    assert parse(b": ping\ndata: a\n:\n\n") == [ev("a")]
    assert parse(b": only a comment\n\n") == []


@pytest.mark.parametrize(
    ("line", "data"),
    [
        (b"data:a", b"a"),
        (b"data: a", b"a"),
        (b"data:  a", b" a"),
        (b"data: a ", b"a "),
        (b"data: ", b""),
        (b"data:", b""),
        (b"data", b""),
        (b"data: a:b: c", b"a:b: c"),
    ],
)
def test_one_leading_space_is_dropped_from_a_value(line: bytes, data: bytes) -> None:
    assert parse(line + b"\n\n") == [ev(data)]


def test_line_without_colon_is_a_field_with_empty_value() -> None:
    assert parse(b"event: x\nevent\ndata: a\n\n") == [ev("a")]
    assert parse(b"data\ndata\n\n") == [ev("\n")]


def test_data_lines_are_joined_with_lf() -> None:
    assert parse(b"data: a\ndata: b\ndata\ndata: c\n\n") == [ev("a\nb\n\nc")]
    assert parse(b"data:\ndata: x\ndata:\n\n") == [ev("\nx\n")]


def test_event_without_data_is_not_dispatched_and_resets_the_type() -> None:
    assert parse(b"event: x\n\ndata: a\n\n") == [ev("a")]
    assert parse(b"event: x\nretry: 5\nid: 7\n\n") == []


def test_event_line_alone_in_a_chunk_is_not_an_event() -> None:
    # Once "event: x" is a known line, a region holding only it must not pass
    # for an event of the usual shape with empty data.
    parser = SSEParser()
    assert parser.feed(b"event: x\ndata: a\n\n") == [ev("a", "x")]
    assert parser.feed(b"event: x\n\n") == []
    assert parser.feed(b"event: x\n\nevent: x\n\n") == []


def test_event_type_is_set_and_reset_per_event() -> None:
    stream = b"event: one\ndata: a\n\ndata: b\n\nevent: two\nevent: three\ndata: c\n\n"
    assert parse(stream) == [ev("a", "one"), ev("b"), ev("c", "three")]


def test_empty_event_type_dispatches_as_message() -> None:
    assert parse(b"event: \ndata: a\n\nevent:\ndata: b\n\n") == [ev("a"), ev("b")]


def test_last_event_id_persists_across_events() -> None:
    stream = b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\n\ndata: d\n\n"
    assert parse(stream) == [ev("a", id="1"), ev("b", id="1"), ev("c"), ev("d", id="2")]


def test_last_event_id_property_follows_dispatches_only() -> None:
    parser = SSEParser()
    assert parser.last_event_id == ""
    parser.feed(b"id: 1\ndata: a\n\nid: 2\n")
    assert parser.last_event_id == "1"  # the second event is not complete
    parser.feed(b"\n")  # spec: the ID is committed even with no data
    assert parser.last_event_id == "2"


def test_id_holding_null_is_ignored() -> None:
    stream = b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\nid: \x00\ndata: c\n\n"
    assert parse(stream) == [ev("a", id="1"), ev("b", id="1"), ev("c", id="1")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"1000", 1000),
        (b"0", 0),
        (b"007", 7),
        (b"", None),
        (b" 10", None),
        (b"10 ", None),
        (b"-5", None),
        (b"+5", None),
        (b"1.5", None),
        (b"1e3", None),
        (b"10a", None),
        ("\u0663".encode(), None),  # ARABIC-INDIC DIGIT THREE: a digit, not ASCII
        (b"9" * 5000, None),  # too long for int(); ignored, not a crash
    ],
)
def test_retry_only_when_all_ascii_digits(value: bytes, expected: int | None) -> None:
    parser = SSEParser()
    assert parser.feed(b"retry: " + value + b"\ndata: a\n\n") == [ev("a", retry=expected)]
    assert parser.retry == expected


def test_invalid_retry_keeps_the_earlier_value() -> None:
    parser = SSEParser()
    assert parser.feed(b"retry: 5\nretry: x\ndata: a\n\ndata: b\n\n") == [
        ev("a", retry=5),
        ev("b"),
    ]
    assert parser.retry == 5


def test_retry_in_an_incomplete_event_still_sets_reconnection_time() -> None:
    parser = SSEParser()
    parser.feed(b"data: a\nretry: 30\nretry: 4")
    assert parser.end() == []
    assert parser.retry == 30  # the unterminated "retry: 4" line never happened


def test_unknown_fields_are_ignored() -> None:
    assert parse(b"foo: bar\ndata: a\nretries: 3\n\n") == [ev("a")]
    assert parse(b"foo: bar\n\n") == []


def test_field_names_are_case_sensitive_and_exact() -> None:
    assert parse(b"Data: a\n\n") == []
    assert parse(b"EVENT: x\nID: 3\ndata: a\n\n") == [ev("a")]
    assert parse(b"data : a\n\n data: b\n\n") == []


def test_incomplete_event_at_end_is_not_dispatched() -> None:
    assert parse(b"data: a\n\ndata: b\n") == [ev("a")]
    assert parse(b"data: a\n\ndata: b") == [ev("a")]
    assert parse(b"event: x\ndata: b\r") == []


def test_invalid_utf8_is_replaced_never_fatal() -> None:
    [event] = parse(b"event: \xffx\xc3\nid: \xfe\ndata: \xe2\x82\ndata: ok\xc3\xa9\n\n")
    assert event.event == "\ufffdx\ufffd"
    assert event.id == "\ufffd"
    assert event.data == b"\xe2\x82\nok\xc3\xa9"
    assert event.text == "\ufffd\nok\xe9"


def test_multibyte_text_split_inside_a_character() -> None:
    stream = "event: délta\ndata: héllo wörld 日本 🎉\n\n".encode()
    expected = [ev("héllo wörld 日本 🎉", "délta")]
    for chunks in splits(stream):
        events = feed_all(chunks)
        assert events == expected
        assert events[0].text == "héllo wörld 日本 🎉"


def test_blank_lines_between_events_change_nothing() -> None:
    stream = b"\n\n\ndata: a\n\n\n\n\ndata: b\n\n\n"
    assert parse(stream) == [ev("a"), ev("b")]


# -- chunk types, shapes and paths -----------------------------------------


def test_feed_takes_bytearray_and_memoryview() -> None:
    parser = SSEParser()
    assert parser.feed(bytearray(b"data: a\r")) == []
    assert parser.feed(memoryview(b"\ndata: b\r\n\r\n")) == [ev("a\nb")]


def anthropic_event(i: int) -> bytes:
    name = ["content_block_delta", "ping", "message_delta"][i % 3]
    return f'event: {name}\ndata: {{"type":"{name}","n":{i},"t":"héllo"}}\n\n'.encode()


ODD_EVENTS = [
    b"id: 9\ndata: x\n\n",
    b"data: y\n\n",
    b": c\n\n",
    b"\n",
    b"event: ping\n\n",
    b"event: ping\ndata: 1\ndata: 2\nevent: ping\ndata: 3\n\n",  # 5 lines: keeps the thirds
    b"event: ping\ndata: 1\nid: 2\n\n",
    b"event: ping\ndata: 1\ndata: 2\n\n",
    b"event: ping\nfoo: 1\n\n",
]


@pytest.mark.parametrize("odd", [b"", *ODD_EVENTS])
@pytest.mark.parametrize("where", ["first", "middle"])
def test_big_region_of_usual_events_with_an_odd_one(odd: bytes, where: str) -> None:
    # A big region goes column-wise at once; one odd event sends it per event.
    usual = b"".join(anthropic_event(i) for i in range(40))
    stream = odd + usual + usual if where == "first" else usual + odd + usual
    whole = feed_all([stream])
    assert whole == feed_all([stream[i : i + 7] for i in range(0, len(stream), 7)])
    assert whole == reference_events(stream)
    assert len(whole) == 80 + (b"data" in odd)


def test_event_type_cache_overflow_still_decodes_every_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_sse, "_event_lines", {})
    monkeypatch.setattr(_sse, "_LINE_CACHE_LIMIT", 2)
    stream = b"".join(b"event: e%d\ndata: %d\n\n" % (i, i) for i in range(60))
    expected = [ev(str(i), f"e{i}") for i in range(60)]
    assert feed_all([stream]) == expected
    assert feed_all([stream[i : i + 15] for i in range(0, len(stream), 15)]) == expected
    assert len(_sse._event_lines) == 2


def test_long_event_names_are_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sse, "_event_lines", {})
    name = "n" * 500
    stream = f"event: {name}\ndata: a\n\n".encode()
    assert feed_all([stream * 10]) == [ev("a", name)] * 10
    assert feed_all([stream] * 10) == [ev("a", name)] * 10
    assert _sse._event_lines == {}


# -- size cap --------------------------------------------------------------


def test_event_over_the_cap_raises_naming_the_setting() -> None:
    parser = SSEParser(max_event_size=100)
    with pytest.raises(SSEError, match="max_event_size=100"):
        parser.feed(b"data: " + b"x" * 200 + b"\n\n")


def test_cap_stops_an_unterminated_event_from_growing() -> None:
    parser = SSEParser(max_event_size=100)
    with pytest.raises(SSEError):
        for _ in range(20):
            parser.feed(b"data: xxxx")  # never a line end: one huge line
    with pytest.raises(SSEError):
        parser.feed(b"\n\n")  # unusable from then on
    with pytest.raises(SSEError):
        parser.end()


def test_cap_counts_the_event_exactly_whatever_the_chunking() -> None:
    event = b"data: " + b"x" * 35 + b"\r\ndata: y\r\n"  # 50 bytes, line ends counted once
    for chunks in splits(event + b"\r\n"):
        assert feed_all(chunks, max_event_size=50) == [ev("x" * 35 + "\ny")]
        with pytest.raises(SSEError):
            feed_all(chunks, max_event_size=49)


def test_many_events_under_the_cap_do_not_add_up() -> None:
    stream = b"data: " + b"x" * 90 + b"\n\n"
    assert feed_all([stream * 1000], max_event_size=100) == [ev("x" * 90)] * 1000
    assert feed_all([stream] * 1000, max_event_size=100) == [ev("x" * 90)] * 1000


def test_max_event_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_event_size"):
        SSEParser(max_event_size=0)


# -- end of stream ---------------------------------------------------------


def test_feeding_after_end_raises() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\n\ndata: b\n") == [ev("a")]
    assert parser.end() == []
    assert parser.end() == []  # ending twice is harmless
    with pytest.raises(RuntimeError, match="after end"):
        parser.feed(b"\n")


# -- the event object ------------------------------------------------------


def test_event_defaults_repr_and_equality() -> None:
    event = ServerSentEvent()
    assert (event.event, event.data, event.id, event.retry) == ("message", b"", "", None)
    assert ev("é", "x", "1", 5) == ServerSentEvent("x", "é".encode(), "1", 5)
    assert ev("a") != ev("b")
    assert repr(ev("a", "x")) == "ServerSentEvent(event='x', data=b'a', id='', retry=None)"
    assert ev(b"\xff").text == "\ufffd"


# -- the reference: the spec's algorithm, line by line, on decoded text -----


def reference(stream: bytes) -> tuple[list[ServerSentEvent], str, int | None]:
    """Events, last event ID and reconnection time, exactly as the spec says."""
    text = stream.decode("utf-8", "replace")
    text = text.removeprefix("\ufeff")
    lines = re.split("\r\n|\r|\n", text)[:-1]  # the last piece has no line end
    events: list[ServerSentEvent] = []
    data, event_type, id_buffer, last_id = "", "", "", ""
    retry: int | None = None
    event_retry: int | None = None
    for line in lines:
        if line == "":
            last_id = id_buffer
            if data:
                events.append(
                    ServerSentEvent(
                        event_type or "message", data[:-1].encode(), id_buffer, event_retry
                    )
                )
            data, event_type, event_retry = "", "", None
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            event_type = value
        elif name == "data":
            data += value + "\n"
        elif name == "id" and "\0" not in value:
            id_buffer = value
        elif name == "retry" and value and all(c in "0123456789" for c in value):
            retry = event_retry = int(value)
    return events, last_id, retry


def reference_events(stream: bytes) -> list[ServerSentEvent]:
    return reference(stream)[0]


def as_text(events: list[ServerSentEvent]) -> list[tuple[str, str, str, int | None]]:
    # The reference decodes the stream first, so compare decoded data.
    return [(e.event, e.text, e.id, e.retry) for e in events]


# -- hypothesis --------------------------------------------------------------

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces that make interesting event streams when strung together at random.
TOKENS = [
    b"data",
    b"event",
    b"id",
    b"retry",
    b"Data",
    b"foo",
    b":",
    b": ",
    b" ",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    BOM,
    b"\xef",
    b"\xff",
    b"\x00",
    b"x",
    b"12",
    "é".encode(),
    "🎉".encode(),
    b"event: content_block_delta\ndata: {}\n\n",
]
token_streams = st.lists(
    st.one_of(st.sampled_from(TOKENS), st.binary(max_size=4)), max_size=60
).map(b"".join)

field_names = st.sampled_from(["data", "event", "id", "retry", "", "Data", "foo", "data "])
values = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=8),
    st.sampled_from(["", " ", "  x", "0", "42", "9x", "a:b", "\0", "content_block_delta"]),
)
line_ends = st.sampled_from(["\n", "\r", "\r\n"])


@st.composite
def event_streams(draw: st.DrawFn) -> bytes:
    """Streams of well-formed-ish events: random fields, values and line ends."""
    out = ["\ufeff"] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 6))):
        for _ in range(draw(st.integers(0, 4))):
            name, value = draw(field_names), draw(values)
            separator = draw(st.sampled_from([":", ": ", ":  ", ""]))
            out += [name, separator, value if separator else "", draw(line_ends)]
        out.append(draw(line_ends))
    if draw(st.booleans()):
        out += ["data: unfinished", draw(st.sampled_from(["", "\n", "\r"]))]
    return "".join(out).encode()


@st.composite
def cuts(draw: st.DrawFn, stream: bytes) -> list[bytes]:
    points = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    bounds = [0, *points, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


def run(chunks: list[bytes], max_event_size: int) -> list[ServerSentEvent] | str:
    """Events, or "SSEError": the only exception the parser may raise."""
    try:
        return feed_all(chunks, max_event_size=max_event_size)
    except SSEError:
        return "SSEError"


@FAST
@given(st.one_of(token_streams, event_streams()), st.data(), st.sampled_from([6, 40, 1 << 24]))
def test_any_split_gives_the_same_events(stream: bytes, data: st.DataObject, cap: int) -> None:
    whole = run([stream], cap)
    assert run(data.draw(cuts(stream)), cap) == whole
    assert run([stream[i : i + 1] for i in range(len(stream))], cap) == whole


@FAST
@given(st.lists(st.binary(max_size=40), max_size=10), st.sampled_from([4, 64, 1 << 24]))
def test_garbage_gives_events_or_sse_error_only(chunks: list[bytes], cap: int) -> None:
    result = run(chunks, cap)
    assert result == "SSEError" or all(isinstance(e, ServerSentEvent) for e in result)


@FAST
@given(st.one_of(event_streams(), token_streams), st.data())
def test_matches_the_reference(stream: bytes, data: st.DataObject) -> None:
    parser = SSEParser()
    events: list[ServerSentEvent] = []
    for chunk in data.draw(cuts(stream)):
        events += parser.feed(chunk)
    events += parser.end()
    expected, last_id, retry = reference(stream)
    assert as_text(events) == as_text(expected)
    assert (parser.last_event_id, parser.retry) == (last_id, retry)


@FAST
@given(
    st.lists(
        st.one_of(
            st.builds(anthropic_event, st.integers(0, 99)),
            st.sampled_from(ODD_EVENTS),
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 700),
)
def test_mostly_usual_events_in_any_chunk_size_match_the_reference(
    parts: list[bytes], size: int
) -> None:
    stream = b"".join(parts)
    chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
    assert as_text(feed_all(chunks)) == as_text(reference_events(stream))


def feed_data_all(chunks: list[bytes]) -> tuple[list[bytes], str, int | None]:
    parser = SSEParser()
    out: list[bytes] = []
    for chunk in chunks:
        out += parser.feed_data(chunk)
    parser.end()
    return out, parser.last_event_id, parser.retry


@FAST
@given(
    st.one_of(
        event_streams(),
        token_streams,
        st.lists(
            st.one_of(st.builds(anthropic_event, st.integers(0, 99)), st.sampled_from(ODD_EVENTS)),
            min_size=1,
            max_size=40,
        ).map(b"".join),
    ),
    st.data(),
)
def test_feed_data_is_the_data_of_feed(stream: bytes, data: st.DataObject) -> None:
    """The Messages stream's path (payloads only) parses exactly as ``feed`` does."""
    chunks = data.draw(cuts(stream))
    expected, last_id, retry = reference(stream)
    assert feed_data_all(chunks) == ([e.data for e in expected], last_id, retry)


# Three lines each, as the usual events: only the first line's name tells them apart.
THIRD_LINE_ODD = [b"data: a\ndata: b\n\n", b"id: 7\ndata: c\n\n", b": note\ndata: d\n\n"]


@pytest.mark.parametrize("odd", [b"", *ODD_EVENTS, *THIRD_LINE_ODD])
def test_feed_data_of_a_big_region(odd: bytes) -> None:
    usual = b"".join(anthropic_event(i) for i in range(40))
    stream = usual + odd + usual
    parser = SSEParser()
    expected = ([e.data for e in parser.feed(stream)], parser.last_event_id, parser.retry)
    assert feed_data_all([stream]) == expected
    assert feed_data_all([stream[i : i + 700] for i in range(0, len(stream), 700)]) == expected
    with pytest.raises(SSEError, match="max_event_size"):
        SSEParser(max_event_size=64).feed_data(b"data: " + b"x" * 100 + b"\n\n")
