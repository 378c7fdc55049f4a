"""A sans-IO encoder for server-sent events: fields in, ``text/event-stream`` bytes out.

The inverse of :mod:`rawclaude.wire.sse`, for a server that relays a stream to a
browser's ``EventSource``. It follows WHATWG HTML, "9.2.6 Interpreting an event
stream" (cited as "spec"):

* A line ends at CRLF, LF or CR, so one data value is written as one ``data:``
  line per line of the value; the parser joins them back with LF. A CR or CRLF
  inside the value therefore arrives as LF: the format cannot carry a bare CR.
  A value that ends with a line end, or is empty, survives exactly (an empty
  last ``data:`` line adds the LF back; a lone ``data:`` gives ``""``).
* "Collect the characters on the line after the first U+003A COLON" and drop
  one leading space: we always write ``"data: "``, so a value's own leading
  space is kept.
* A line that starts with a colon is a comment, ignored by the parser: the
  heartbeat that keeps proxies and load balancers from closing an idle stream.
* ``event`` and ``id`` are single-line fields (a line end would split them); an
  ``id`` with U+0000 is ignored by the parser. Both are refused here instead.
"""

from __future__ import annotations

from .errors import ConfigurationError

__all__ = ["HEARTBEAT", "encode_comment", "encode_event"]

_LINE_ENDS = ("\r\n", "\r")


def _lines(value: str) -> list[str]:
    # str.splitlines() also splits on U+2028, VT, FF, NEL...: the spec does not.
    if "\r" in value:
        for end in _LINE_ENDS:
            value = value.replace(end, "\n")
    return value.split("\n")


def _single_line(name: str, value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ConfigurationError(f"an SSE {name} must be one line, got {value!r}")
    return value


def encode_event(
    data: str | bytes,
    *,
    event: str | None = None,
    id: str | None = None,  # the spec's field name
    retry: int | None = None,
) -> bytes:
    """One event, ending with the blank line that dispatches it.

    ``data`` is text, or UTF-8 bytes (e.g. JSON straight from an encoder);
    ``event`` None means the default type ("message" to ``EventSource``);
    ``retry`` is the reconnection time in milliseconds.
    """
    head = _fields(event, id, retry)
    if isinstance(data, str):
        # A lone surrogate (possible in JSON text) has no UTF-8 form: "?" instead.
        data = data.encode("utf-8", "replace")
    if 10 in data or 13 in data:  # LF, CR (int operands go straight to memchr)
        body = b"".join([b"data: " + line + b"\n" for line in _byte_lines(data)])
    else:
        body = b"data: " + data + b"\n"
    return head + body + b"\n"


def _byte_lines(value: bytes) -> list[bytes]:
    # CR and LF are ASCII: they never occur inside a multi-byte UTF-8 sequence.
    return value.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")


def _fields(event: str | None, id: str | None, retry: int | None) -> bytes:
    if event is None and id is None and retry is None:
        return b""
    out: list[str] = []
    if event is not None:
        out.append(f"event: {_single_line('event', event)}\n")
    if id is not None:
        if "\x00" in id:
            raise ConfigurationError("an SSE id must not contain U+0000 (the spec ignores it)")
        out.append(f"id: {_single_line('id', id)}\n")
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise ConfigurationError(f"retry must be an int >= 0 (milliseconds), got {retry!r}")
        out.append(f"retry: {retry}\n")
    return "".join(out).encode()


def encode_comment(text: str = "") -> bytes:
    """A comment (one ``:`` line per line of ``text``): ignored by the parser."""
    lines = _lines(text)
    return ("".join([f": {line}\n" if line else ":\n" for line in lines]) + "\n").encode()


#: The heartbeat comment a relay sends while the upstream is silent.
HEARTBEAT = encode_comment("heartbeat")
