"""A sans-IO JSON Lines framer: bytes in, complete lines out, never awaits.

JSON Lines (https://jsonlines.org) is what a Message Batch's ``results_url``
serves: one JSON value per line. The framer follows the same rules as the SSE
parser (``rawclaude.wire.sse``):

* It works on bytes. LF and CR are ASCII, so they never occur inside a
  multi-byte UTF-8 sequence; splitting raw bytes is exact, and each line goes
  to msgspec as bytes, undecoded.
* A line ends at LF, CR or CRLF (jsonlines.org asks for LF; a CRLF from a
  proxy or a Windows tool must not break a reader). A CR that ends one chunk
  ends its line at once, and an LF opening the next chunk is its pair, not a
  blank line.
* Each byte is scanned once: only the new chunk is searched, never the held
  partial line. So a line of any length fed in chunks of any size costs time
  linear in its length (the official SDK's reader re-concatenates per chunk:
  quadratic). :attr:`JSONLFramer.bytes_scanned` counts this work so tests can
  check it without timing.
* Blank (empty) lines are skipped; they still count as lines in
  :meth:`JSONLFramer.line_number`, which gives the physical line number so an
  error can say where to look.
* One line may hold at most ``max_line_size`` bytes (line end excluded). The
  held partial line is checked on every feed, so memory stays bounded by the
  cap, and the error says how to raise it.
"""

from __future__ import annotations

from .errors import JSONLError

__all__ = ["DEFAULT_MAX_LINE_SIZE", "JSONLFramer"]

#: The default cap on one line: 64 MiB. A batch result line is one Message;
#: server tool results (a fetched document) can make one several MiB.
DEFAULT_MAX_LINE_SIZE = 64 * 1024 * 1024

_OPEN, _ENDED, _FAILED = 0, 1, 2


class JSONLFramer:
    """Incremental JSON Lines framer: ``feed`` bytes, get the complete lines.

    Lines are returned without their line end, blank lines left out. Call
    :meth:`end` when the body is over to get a last line that had no line
    end. After ``end`` (or an error) the framer cannot be fed again.
    """

    __slots__ = ("_buf", "_cr", "_first", "_line", "_max", "_numbers", "_scanned", "_state")

    def __init__(self, max_line_size: int = DEFAULT_MAX_LINE_SIZE) -> None:
        if isinstance(max_line_size, bool) or not isinstance(max_line_size, int):
            raise TypeError(f"max_line_size must be an int, got {type(max_line_size).__name__}")
        if max_line_size < 1:
            raise ValueError(f"max_line_size must be >= 1, got {max_line_size}")
        self._max = max_line_size
        self._buf = bytearray()  # the partial line: bytes after the last line end
        self._cr = False  # the last chunk ended in CR: an LF opening the next pairs with it
        self._line = 0  # line ends seen so far (physical lines completed)
        self._first = 1  # physical number of the first line of the last list returned
        self._numbers: list[int] | None = None  # their numbers, when blanks were skipped
        self._scanned = 0
        self._state = _OPEN

    @property
    def max_line_size(self) -> int:
        """The cap on one line, in bytes."""
        return self._max

    @property
    def bytes_scanned(self) -> int:
        """Bytes examined so far by searches and copies (a work count for tests).

        Each pass over a chunk (the CR test, the LF search, the split, the CRLF
        rewrite) and each copy of a held line adds its length, so this is an
        upper bound on the framer's byte-level work.
        """
        return self._scanned

    @property
    def lines_seen(self) -> int:
        """How many physical lines (blank ones included) have been completed."""
        return self._line

    def line_number(self, index: int) -> int:
        """The 1-based physical line number of line ``index`` of the last list returned."""
        if self._numbers is not None:
            return self._numbers[index]
        return self._first + index

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[bytes]:
        """Take the next bytes of the body; return the lines they complete.

        Raises :class:`~rawclaude.wire.errors.JSONLError` when a line grows
        over ``max_line_size``; the framer is then unusable.
        """
        if type(chunk) is not bytes:
            chunk = bytes(chunk)
        if self._state != _OPEN:
            self._raise_closed()
        if self._cr and chunk:
            # A CRLF split over two chunks: the CR already ended the line.
            self._cr = False
            if chunk[0] == 0x0A:
                self._scanned += len(chunk)
                chunk = chunk[1:]
        size = len(chunk)
        self._scanned += 2 * size  # the CR test and the LF search below
        if 13 in chunk:  # an int operand goes straight to memchr
            chunk = self._normalise(chunk)
        if 10 not in chunk:
            return self._hold(chunk)
        parts = chunk.split(b"\n")
        self._scanned += size
        tail = parts.pop()
        buf = self._buf
        if buf:
            parts[0] = b"".join((buf, parts[0]))
            self._scanned += len(parts[0])
        self._buf = bytearray(tail)
        self._scanned += len(tail)
        self._check_lines(parts, size)
        return self._number(parts)

    def end(self) -> list[bytes]:
        """Say the body is over; return its last line if it had no line end."""
        if self._state == _FAILED:
            self._raise_closed()
        if self._state == _ENDED:
            return []
        self._state = _ENDED
        tail = bytes(self._buf)
        self._buf = bytearray()
        self._scanned += len(tail)
        if not tail:
            return []
        return self._number([tail])

    # -- internals -----------------------------------------------------------

    def _normalise(self, chunk: bytes) -> bytes:
        # Every line end becomes one LF: CRLF first, then a lone CR. A CR
        # ending the chunk ends its line now; remember it for the next chunk.
        if chunk.endswith(b"\r"):
            self._cr = True
        self._scanned += 2 * len(chunk)
        return chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

    def _hold(self, chunk: bytes) -> list[bytes]:
        buf = self._buf
        buf += chunk
        self._scanned += len(chunk)
        if len(buf) > self._max:
            self._fail_size(self._line + 1, len(buf))
        return []

    def _check_lines(self, parts: list[bytes], size: int) -> None:
        # Only the first part can hold bytes from earlier chunks; the others
        # lie within this chunk, so none can be over the cap unless it is.
        limit = self._max
        over = len(parts[0]) > limit
        if not over and size > limit:
            over = max(map(len, parts)) > limit
        if not over and len(self._buf) <= limit:
            return
        for index, part in enumerate(parts):
            if len(part) > limit:
                self._fail_size(self._line + 1 + index, len(part))
        self._fail_size(self._line + 1 + len(parts), len(self._buf))

    def _number(self, parts: list[bytes]) -> list[bytes]:
        first = self._line + 1
        self._line += len(parts)
        self._first = first
        if b"" not in parts:
            self._numbers = None
            return parts
        # Blank lines are rare: only then is each line's number kept.
        self._numbers = [first + i for i, part in enumerate(parts) if part]
        return [part for part in parts if part]

    def _fail_size(self, line_number: int, size: int) -> None:
        self._state = _FAILED
        self._buf = bytearray()
        raise JSONLError(
            f"JSON Lines line {line_number} is over max_line_size={self._max} bytes "
            f"({size} bytes so far); if such lines are expected, pass a larger "
            "max_line_size= (to JSONLFramer, or to client.messages.batches.results())",
            line_number=line_number,
        )

    def _raise_closed(self) -> None:
        if self._state == _FAILED:
            raise JSONLError("JSONLFramer is unusable after an earlier JSONLError")
        raise RuntimeError("JSONLFramer.feed() called after end()")
