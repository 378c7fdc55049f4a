"""A sans-IO parser for server-sent events: bytes in, events out, never awaits.

It follows WHATWG HTML, "9.2.6 Interpreting an event stream" (cited below as
"spec"). Three facts make a byte-level parser both exact and fast:

* CR, LF, ``:`` and space are ASCII, so they never occur inside a multi-byte
  UTF-8 sequence and are never swallowed by a replacement character.
  Splitting the raw bytes and decoding the pieces gives what the spec's
  "decode the whole stream, then split" gives. Data therefore stays ``bytes``
  (what msgspec decodes directly); only names and ids are decoded.
* Every line end (CRLF, LF, CR) is rewritten to LF on the way in, so events
  are framed by one C-level search for ``b"\\n\\n"``. A chunk without CR (the
  usual case) is not copied for this.
* Between two dispatches the spec keeps only the last event ID and the
  reconnection time. So only the undispatched tail is buffered, and each
  complete event is parsed once, from scratch, when its blank line arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat

import msgspec

from .errors import SSEError

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "SSEParser", "ServerSentEvent"]

#: The default cap on the size of one event: 16 MiB.
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024

# spec (UTF-8 decode): "One leading U+FEFF BYTE ORDER MARK character must be
# ignored if any are present", so only at the very start of the stream.
_BOM = b"\xef\xbb\xbf"

# Event lines repeat all stream long ("event: content_block_delta"); a dict
# from the whole line to its type both decodes it and proves its shape.
# Bounded in entries and key length, so no stream can make it hold much.
_LINE_CACHE_LIMIT = 256
_LINE_CACHE_KEY_MAX = 128
_event_lines: dict[bytes, str] = {}

# Below this many bytes of complete events (about four), the per-event loop
# beats the column-wise one, whose fixed cost is a dozen C calls. Measured.
_BULK_MIN = 512

_OPEN, _ENDED, _FAILED = 0, 1, 2

# Byte tests below are written ``13 in chunk`` (CR) and ``10 in data`` (LF):
# an int operand goes straight to memchr, while ``b"\r" in chunk`` costs a
# buffer-protocol round trip, several times slower on short chunks.


class ServerSentEvent(msgspec.Struct, gc=False):
    """One dispatched event.

    ``data`` is the event's data lines joined with LF (spec: "append the field
    value to the data buffer, then append a single U+000A LINE FEED (LF)", the
    last LF removed at dispatch). ``id`` is the last event ID, which persists
    across events. ``retry`` is the valid ``retry`` field of this event, if
    any. A msgspec Struct because it is the cheapest object to build.
    """

    event: str = "message"
    data: bytes = b""
    id: str = ""
    retry: int | None = None

    @property
    def text(self) -> str:
        """``data`` decoded as UTF-8, invalid bytes replaced (spec: UTF-8 decode)."""
        return self.data.decode("utf-8", "replace")


class SSEParser:
    """Incremental event-stream parser: ``feed`` bytes, get the complete events.

    ``max_event_size`` caps the bytes held for one event not yet dispatched,
    each line end counted as one byte; past it ``SSEError`` is raised and the
    parser stays unusable. Call ``end()`` at the end of the stream; feeding
    after it raises ``RuntimeError``.
    """

    __slots__ = (
        "_bom",
        "_buf",
        "_cr",
        "_last_id",
        "_max",
        "_retry",
        "_small",
        "_special",
        "_state",
    )

    def __init__(self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        if max_event_size < 1:
            raise ValueError(f"max_event_size must be >= 1, got {max_event_size}")
        self._max = max_event_size
        self._small = min(max_event_size, _BULK_MIN)  # regions below need no checks
        self._buf = bytearray()
        self._bom: bytes | None = b""  # bytes held while the BOM is undecided
        self._cr = False  # the last chunk ended in CR: an LF opening the next pairs with it
        self._state = _OPEN
        self._special = True  # any of the three above needs a look before framing
        self._last_id = ""
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str:
        """The last event ID string (spec: set at each dispatch, never reset)."""
        return self._last_id

    @property
    def retry(self) -> int | None:
        """The reconnection time in ms the stream last asked for, if any."""
        return self._retry

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """Take the next bytes of the stream; return the events they complete.

        Raises ``SSEError`` when one event grows over ``max_event_size``.
        """
        region = self._region(chunk)
        if region is None:
            return []
        if len(region) < self._small:
            # One event of the usual shape is the most common region of all.
            head, sep, data = region.partition(b"\ndata: ")
            name = _event_lines.get(head)
            if name is not None and sep and 10 not in data:
                return [ServerSentEvent(name, data, self._last_id)]
        else:
            lines = region.split(b"\n")
            datas = _bulk_datas(lines)
            if datas is not None:
                names = _event_types(lines[::3])
                if names is not None:
                    return list(map(ServerSentEvent, names, datas, repeat(self._last_id)))
        return self._parse_parts(region)

    def feed_data(self, chunk: bytes | bytearray | memoryview) -> list[bytes]:
        """:meth:`feed`, returning only each event's ``data``.

        For a consumer that reads everything it needs from the payloads (the
        Messages stream: each payload names its own type). The stream is parsed
        exactly as by :meth:`feed` (ids and ``retry`` are kept, the size cap
        applies); the event objects are just not built.
        """
        region = self._region(chunk)
        if region is None:
            return []
        if len(region) < self._small:
            head, sep, data = region.partition(b"\ndata: ")
            if sep and 10 not in data and head in _event_lines:
                return [data]
        else:
            lines = region.split(b"\n")
            datas = _bulk_datas(lines)
            if datas is not None and _are_event_lines(lines[::3]):
                return datas
        return [event.data for event in self._parse_parts(region)]

    def _region(self, chunk: bytes | bytearray | memoryview) -> bytes | None:
        """The complete events ``chunk`` finishes, as one region without its last
        blank line (None: no event is complete yet)."""
        if type(chunk) is not bytes:
            chunk = bytes(chunk)
        if self._special:
            chunk = self._prelude(chunk)
        if 13 in chunk:
            chunk = self._normalise(chunk)
        # A server flushing whole events: nothing to hold.
        region = self._frame(chunk) if self._buf or not chunk.endswith(b"\n\n") else chunk[:-2]
        if region is not None and len(region) >= self._max:
            self._check_parts(region)
        return region

    def _frame(self, chunk: bytes) -> bytes | None:
        """Buffer ``chunk``; cut off and return the complete events, if any."""
        buf = self._buf
        # A boundary may start on the last byte held, never earlier: the held
        # tail has no b"\n\n" (it would have been dispatched). So each byte
        # is searched once however many chunks an event spans.
        scan = len(buf) - 1 if buf else 0
        buf += chunk
        # memchr first: a chunk of a long event often has no LF at all, and
        # the two-byte search costs ten times as much per byte.
        end = buf.rfind(b"\n\n", scan) if 10 in chunk else -1
        region = None
        if end >= 0:
            region = bytes(buf[:end])
            del buf[: end + 2]
        if len(buf) > self._max:
            self._check_tail()
        return region

    def end(self) -> list[ServerSentEvent]:
        """Say the stream is over; return the events this completes (none, per spec).

        spec: "If the file ends in the middle of an event, before the final
        empty line, the incomplete event is not dispatched." Its complete
        lines still set the reconnection time, as they would have when read.
        """
        if self._state == _FAILED:
            self._raise_closed()
        if self._state == _OPEN:
            tail = bytes(self._buf[: self._buf.rfind(b"\n") + 1])
            self._close(_ENDED)
            self._read_retry(tail)
        return []

    # -- input shaping -------------------------------------------------------

    def _prelude(self, chunk: bytes) -> bytes:
        """The rare cases: closed parser, BOM undecided, CR ending the last chunk."""
        if self._state != _OPEN:
            self._raise_closed()
        if self._bom is not None:
            chunk = self._strip_bom(chunk)
        if self._cr and chunk:
            # spec: CRLF is one line end. The CR already ended its line (it
            # became LF), so an LF opening this chunk is its pair: drop it.
            self._cr = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
        self._special = self._bom is not None or self._cr
        return chunk

    def _strip_bom(self, chunk: bytes) -> bytes:
        # The BOM may arrive split over the first chunks: hold bytes until
        # three have come or they stop matching it.
        head = (self._bom or b"") + chunk
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._bom = head
            return b""
        self._bom = None
        return head[3:] if head.startswith(_BOM) else head

    def _normalise(self, chunk: bytes) -> bytes:
        # spec: a line ends in "a U+000D CARRIAGE RETURN U+000A LINE FEED
        # (CRLF) character pair, a single U+000A LINE FEED (LF) character not
        # preceded by a U+000D CARRIAGE RETURN (CR) character, or a single
        # U+000D CARRIAGE RETURN (CR) character not followed by a U+000A LINE
        # FEED (LF) character". A CR ending the chunk ends its line now.
        if chunk.endswith(b"\r"):
            self._cr = self._special = True
        return chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

    # -- size cap and closing ------------------------------------------------

    def _check_tail(self) -> None:
        # The tail starts with at most one stray LF, a blank line: not counted.
        buf = self._buf
        if len(buf) - (buf[0] == 0x0A) > self._max:
            self._fail_size(len(buf))

    def _check_parts(self, region: bytes) -> None:
        for part in region.split(b"\n\n"):
            if len(part) >= self._max and _event_size(part) > self._max:
                self._fail_size(_event_size(part))

    def _fail_size(self, size: int) -> None:
        self._close(_FAILED)
        raise SSEError(
            f"server-sent event over max_event_size={self._max} bytes ({size} bytes "
            "buffered); if such events are expected, pass a larger max_event_size= "
            "(to SSEParser, or to rawclaude.Client)"
        )

    def _close(self, state: int) -> None:
        self._state = state
        self._special = True
        self._buf = bytearray()

    def _raise_closed(self) -> None:
        if self._state == _FAILED:
            raise SSEError("SSEParser is unusable after an earlier SSEError")
        raise RuntimeError("SSEParser.feed() called after end()")

    # -- events --------------------------------------------------------------

    def _parse_parts(self, region: bytes) -> list[ServerSentEvent]:
        """Parse complete events one by one; each part ends with a blank line."""
        out: list[ServerSentEvent] = []
        append = out.append
        lookup = _event_lines.get
        last_id = self._last_id
        for part in region.split(b"\n\n"):
            # The two shapes APIs send: "event: X" + "data: Y", or "data: Y".
            head, sep, data = part.partition(b"\ndata: ")
            if sep and 10 not in data:
                name = lookup(head) or _cache_event_line(head)
                if name is not None:
                    append(ServerSentEvent(name, data, last_id))
                    continue
            elif part.startswith(b"data: ") and 10 not in part:
                append(ServerSentEvent("message", part[6:], last_id))
                continue
            self._parse_lines(part.split(b"\n"), append)
            last_id = self._last_id
        return out

    def _parse_lines(self, lines: list[bytes], append: Callable[[ServerSentEvent], None]) -> None:
        """The spec's line loop for one part, blank lines included."""
        event, id_buf, retry = b"", self._last_id, None
        data: list[bytes] = []
        lines.append(b"")  # the blank line that ended the part
        for line in lines:
            if not line:
                # spec "dispatch the event": the ID is committed even when
                # no data follows; the event type buffer always resets.
                self._last_id = id_buf
                if data:
                    append(_make_event(event, data, id_buf, retry))
                event, data, retry = b"", [], None
                continue
            # spec: no colon means the whole line is the name, value empty
            # (partition gives b"" then); remove only the value's first space.
            name, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if name == b"data":
                data.append(value)
            elif name == b"event":
                event = value
            elif name == b"id":
                if b"\x00" not in value:  # spec: an id holding NULL is ignored
                    id_buf = value.decode("utf-8", "replace")
            elif name == b"retry":
                parsed = _parse_retry(value)
                if parsed is not None:  # spec: "Otherwise, ignore the field."
                    retry = self._retry = parsed
            # Comments (name b"") and unknown names are ignored (spec).

    def _read_retry(self, lines: bytes) -> None:
        """Apply the ``retry`` fields of complete lines of an event never dispatched.

        Events are parsed only when complete; of what their lines do before
        that, only the reconnection time outlives an undispatched event.
        """
        for line in lines.split(b"\n"):
            name, _, value = line.partition(b":")
            if name == b"retry":
                parsed = _parse_retry(value[1:] if value.startswith(b" ") else value)
                self._retry = parsed if parsed is not None else self._retry


def _bulk_datas(lines: list[bytes]) -> list[bytes] | None:
    """The data of every event of a region at C speed, if each is ``event: X`` +
    ``data: Y`` (that is every event the Claude API sends); None when it does not fit.

    ``lines`` is the region split on LF, so such events put an empty line at
    every third place. Joining the data lines back with LF and splitting on
    LF + "data: " gives one piece per event exactly when each line starts with
    "data: ", since LF only sits between lines. The caller checks that the
    lines ``lines[::3]`` are event lines (:func:`_event_types`).
    """
    count = (len(lines) + 1) // 3
    if len(lines) != 3 * count - 1 or any(lines[2::3]):
        return None
    datas = b"\n".join(lines[1::3]).split(b"\ndata: ")
    if len(datas) != count or not datas[0].startswith(b"data: "):
        return None
    datas[0] = datas[0][6:]
    return datas


def _are_event_lines(lines: list[bytes]) -> bool:
    """Whether every line is an ``event: X`` line (the cache's keys are whole such lines)."""
    return all(map(_event_lines.__contains__, lines)) or _event_types(lines) is not None


def _event_types(lines: list[bytes]) -> list[str] | None:
    """The event types of ``event: X`` lines, cached; None if one is not such a line."""
    try:
        return list(map(_event_lines.__getitem__, lines))
    except KeyError:  # a type not seen yet, or not an event line
        pass
    names = []
    for line in lines:
        name = _cache_event_line(line)
        if name is None:
            return None
        names.append(name)
    return names


def _cache_event_line(line: bytes) -> str | None:
    """The type an ``event: X`` line sets, remembered; None for other lines."""
    if not line.startswith(b"event: ") or 10 in line:
        return None
    name = _event_type(line[7:])
    if len(_event_lines) < _LINE_CACHE_LIMIT and len(line) <= _LINE_CACHE_KEY_MAX:
        _event_lines[line] = name
    return name


def _event_type(value: bytes) -> str:
    # spec: the type is the event type buffer, or "message" when it is empty.
    return value.decode("utf-8", "replace") or "message"


def _make_event(event: bytes, data: list[bytes], id_: str, retry: int | None) -> ServerSentEvent:
    joined = data[0] if len(data) == 1 else b"\n".join(data)
    return ServerSentEvent(_event_type(event), joined, id_, retry)


def _parse_retry(value: bytes) -> int | None:
    # spec: "If the field value consists of only ASCII digits" (bytes.isdigit
    # is ASCII-only, and False for b""). CPython's int() refuses more than
    # 4300 digits; such a value is ignored like any other unusable one.
    if not value.isdigit():
        return None
    try:
        return int(value.lstrip(b"0") or b"0")
    except ValueError:
        return None


def _event_size(part: bytes) -> int:
    """The size of the event framed as ``part``: its lines, one byte per line end.

    Blank lines do not count, so the size does not depend on where a run of
    three LFs was cut: at most one stray LF sits at either end of a part.
    """
    lines = part.strip(b"\n")
    return len(lines) + 1 if lines else 0
