"""Per-request overrides of the default reply, for benchmarks.

One server process can then serve many benchmark cases: a request carrying
``x-fake-deltas: 50000`` gets 50,000 text deltas, whatever the server's default.
They apply only when no scripted reply is queued (a scripted reply always wins).

==============================  ==========================================
``x-fake-deltas: N``            reply with N text deltas (0..1,000,000)
``x-fake-delta-text: TEXT``     the text of each delta, percent-decoded (HTTP
                                strips a header's edge spaces: send "tok%20" for
                                "tok "); default: the server's ``delta_text``
``x-fake-delay: S``             seconds before the response headers
``x-fake-first-event-delay: S`` seconds between the headers and the first event
``x-fake-event-delay: S``       seconds between two events
==============================  ==========================================
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from urllib.parse import unquote

from ._checks import ApiError
from ._reply import Reply
from ._state import ServerState

MAX_DELTAS = 1_000_000

_DELAY_HEADERS = (
    ("x-fake-delay", "response"),
    ("x-fake-first-event-delay", "first_event"),
    ("x-fake-event-delay", "between_events"),
)


def _bad_header(name: str, expected: str) -> ApiError:
    return ApiError(400, "invalid_request_error", f"{name}: expected {expected}")


def _deltas(state: ServerState, reply: Reply, headers: Mapping[str, str]) -> Reply | ApiError:
    raw = headers.get("x-fake-deltas")
    if raw is None:
        return reply
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if not 0 <= count <= MAX_DELTAS:
        return _bad_header("x-fake-deltas", f"an integer from 0 to {MAX_DELTAS}")
    raw_text = headers.get("x-fake-delta-text")
    text = state.settings.delta_text if raw_text is None else unquote(raw_text)
    # Keeps the default reply's timing and faults, replaces only what it says.
    return dataclasses.replace(reply, kind="message", content=state.deltas_content(count, text))


def _delays(reply: Reply, headers: Mapping[str, str]) -> Reply | ApiError:
    delays: dict[str, float] = {}
    for header, name in _DELAY_HEADERS:
        raw = headers.get(header)
        if raw is None:
            continue
        try:
            seconds = float(raw)
        except ValueError:
            seconds = -1.0
        if not (math.isfinite(seconds) and seconds >= 0):
            return _bad_header(header, "a number of seconds >= 0")
        delays[name] = seconds
    return reply.with_delays(**delays) if delays else reply


def default_reply(state: ServerState, headers: Mapping[str, str]) -> Reply | ApiError:
    """The server's default reply, adjusted by any ``x-fake-*`` request headers."""
    reply = _deltas(state, state.settings.default_reply, headers)
    if isinstance(reply, ApiError):
        return reply
    return _delays(reply, headers)
