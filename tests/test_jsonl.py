"""The JSON Lines framer: framing invariants, line numbers, the size cap, linear work."""

from __future__ import annotations

import itertools
import re
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rawclaude.wire.errors import APIResponseValidationError, JSONLError
from rawclaude.wire.jsonl import JSONLFramer


def frame(chunks: list[bytes], **kwargs: int) -> list[tuple[int, bytes]]:
    """Feed every chunk, then end; the (line number, line) pairs produced."""
    framer = JSONLFramer(**kwargs)
    out: list[tuple[int, bytes]] = []
    for chunk in chunks:
        lines = framer.feed(chunk)
        out.extend((framer.line_number(i), line) for i, line in enumerate(lines))
    lines = framer.end()
    out.extend((framer.line_number(i), line) for i, line in enumerate(lines))
    return out


def reference(data: bytes) -> list[tuple[int, bytes]]:
    """The obvious splitter on the whole body: CRLF, CR or LF end a line."""
    pieces = re.split(rb"\r\n|\r|\n", data)
    return [(n, line) for n, line in enumerate(pieces, start=1) if line]


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


# Bodies built from the bytes that matter (line ends, blank lines) and others.
_bodies = st.lists(
    st.sampled_from([b"\r", b"\n", b"\r\n", b"{}", b'{"a":1}', b"x", b"\xe2\x82\xac", b" "]),
    max_size=40,
).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(data=_bodies, cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12))
def test_any_split_gives_the_reference_lines(data: bytes, cuts: list[int]) -> None:
    assert frame(split_at(data, cuts)) == reference(data)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=20))
def test_arbitrary_bytes_any_split_same_as_whole(data: bytes, cuts: list[int]) -> None:
    assert frame(split_at(data, cuts)) == frame([data]) == reference(data)


@settings(max_examples=200, deadline=None)
@given(data=_bodies)
def test_byte_at_a_time(data: bytes) -> None:
    assert frame([data[i : i + 1] for i in range(len(data))]) == reference(data)


@settings(max_examples=200, deadline=None)
@given(data=_bodies, cuts=st.lists(st.integers(0, 200), max_size=12))
def test_work_is_linear_for_any_split(data: bytes, cuts: list[int]) -> None:
    framer = JSONLFramer()
    for chunk in split_at(data, cuts):
        framer.feed(chunk)
    framer.end()
    assert framer.bytes_scanned <= 8 * len(data)


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    assert frame([b'{"a":1}\r', b'\n{"b":2}\r\n']) == [(1, b'{"a":1}'), (2, b'{"b":2}')]
    # An empty chunk between the CR and the LF changes nothing.
    assert frame([b"a\r", b"", b"\nb"]) == [(1, b"a"), (2, b"b")]


def test_cr_alone_ends_a_line_at_once() -> None:
    framer = JSONLFramer()
    assert framer.feed(b"one\r") == [b"one"]
    assert framer.feed(b"two") == []
    assert framer.end() == [b"two"]


def test_blank_lines_skipped_but_counted() -> None:
    body = b"\n\na\r\n\r\nb\n\n"
    assert frame([body]) == [(3, b"a"), (5, b"b")]
    assert frame([body]) == reference(body)


def test_last_line_without_end_comes_at_end() -> None:
    framer = JSONLFramer()
    assert framer.feed(b'{"a":1}\n{"b"') == [b'{"a":1}']
    assert framer.feed(b":2}") == []
    assert framer.end() == [b'{"b":2}']
    assert framer.line_number(0) == 2
    assert framer.end() == []  # idempotent
    with pytest.raises(RuntimeError):
        framer.feed(b"x")


def test_accepts_bytearray_and_memoryview() -> None:
    framer = JSONLFramer()
    assert framer.feed(bytearray(b"a\nb")) == [b"a"]
    assert framer.feed(memoryview(b"c\n")) == [b"bc"]


def test_line_over_cap_raises_typed_error_that_says_how_to_raise_it() -> None:
    framer = JSONLFramer(max_line_size=10)
    assert framer.feed(b"0123456789\n") == [b"0123456789"]  # exactly the cap: fine
    with pytest.raises(JSONLError) as info:
        framer.feed(b"01234567890")  # a partial line is checked at once
    err = info.value
    assert isinstance(err, APIResponseValidationError)
    assert err.line_number == 2
    assert "max_line_size=10" in str(err)
    assert "pass a larger max_line_size=" in str(err)
    with pytest.raises(JSONLError, match="unusable"):
        framer.feed(b"\n")
    with pytest.raises(JSONLError, match="unusable"):
        framer.end()


@pytest.mark.parametrize(
    ("chunks", "line"),
    [
        ([b"ok\n" + b"x" * 11 + b"\nok\n"], 2),  # a complete line within one chunk
        ([b"ok\n12345", b"678901\n"], 2),  # a line spanning chunks
        ([b"a\n\nb\n" + b"y" * 11], 4),  # the partial tail of a big chunk
        ([b"x" * 11 + b"\r"], 1),  # with a CR line end
    ],
)
def test_cap_names_the_line(chunks: list[bytes], line: int) -> None:
    framer = JSONLFramer(max_line_size=10)
    with pytest.raises(JSONLError) as info:
        for chunk in chunks:
            framer.feed(chunk)
    assert info.value.line_number == line


def test_cap_counts_line_bytes_not_line_ends() -> None:
    assert frame([b"0123456789\r\n" * 3], max_line_size=10) == [
        (1, b"0123456789"),
        (2, b"0123456789"),
        (3, b"0123456789"),
    ]


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_bad_cap_refused(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        JSONLFramer(max_line_size=bad)  # type: ignore[arg-type]


def test_4mib_line_in_64_byte_chunks_is_linear_work_and_bounded_memory() -> None:
    size = 4 * 1024 * 1024
    line = b'{"t":"' + b"a" * (size - 8) + b'"}'
    body = line + b"\r\n" + b'{"n":1}\n'
    framer = JSONLFramer()
    tracemalloc.start()
    try:
        got: list[bytes] = []
        for start in range(0, len(body), 64):
            got.extend(framer.feed(body[start : start + 64]))
        got.extend(framer.end())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == [line, b'{"n":1}']
    # Each byte is searched a fixed number of times, whatever the chunking:
    # a re-scan of the held line per chunk would be ~65,536 times this.
    assert framer.bytes_scanned <= 8 * len(body)
    # The held line plus the one copy handed out, and some slack.
    assert peak <= 2 * size + 1024 * 1024


def test_lines_seen_counts_physical_lines() -> None:
    framer = JSONLFramer()
    framer.feed(b"a\n\n\rb\r\n")
    assert framer.lines_seen == 4
