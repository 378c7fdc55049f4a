"""``Reply``: what the fake server answers to one ``POST /v1/messages``.

Build one with a class method (``text``, ``tool_use``, ``tool_uses``, ``thinking``,
``message``, ``refusal``, ``pause_turn``, ``echo``, ``error``, ``raw``, ``hang``),
then add timing, faults and headers with the ``with_*`` methods, each returning
a new ``Reply``::

    Reply.text("Hello there").with_delays(first_event=0.2, between_events=0.01)
    Reply.text("partial answer").with_drop(after=4)
    Reply.error(529, headers={"retry-after": "1"})

A reply serves streaming and non-streaming requests alike: a non-streaming
request gets the Message assembled from the same content, after waiting for
the time the stream would have taken (``first_event + between_events * events``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ._blocks import Block, ToolUseBlock, text_block, thinking_block, tool_use_block
from ._ratelimit import RateLimitSnapshot
from ._render import Content
from ._wire import DEFAULT_ERROR_MESSAGES, error_type_for_status

ReplyKind = Literal["message", "echo", "error", "raw", "hang"]

# What a reverse proxy in front of the API typically answers when the upstream fails.
PROXY_502_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Prefer the class-method builders over the constructor."""

    kind: ReplyKind = "echo"
    content: Content | None = None
    status: int = 200
    error_type: str = ""
    error_message: str = ""
    body: bytes = b""
    content_type: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    first_event_delay: float = 0.0
    event_delay: float = 0.0
    error_after: int | None = None
    stream_error_type: str = "overloaded_error"
    stream_error_message: str = "Overloaded"
    drop_after: int | None = None
    ratelimit: RateLimitSnapshot | None = None
    input_tokens: int | None = None

    # -- builders ----------------------------------------------------------------

    @classmethod
    def message(cls, *blocks: Block, stop_reason: str = "end_turn") -> Reply:
        """Any sequence of blocks (see ``text_block``, ``tool_use_block``, ``thinking_block``)."""
        return cls(kind="message", content=Content(tuple(blocks), stop_reason))

    @classmethod
    def text(
        cls,
        text: str | None = None,
        *,
        deltas: Sequence[str] | None = None,
        stop_reason: str = "end_turn",
    ) -> Reply:
        """One text block: ``text`` split into words, or exactly the given ``deltas``."""
        return cls.message(text_block(text, deltas=deltas), stop_reason=stop_reason)

    @classmethod
    def tool_use(
        cls,
        name: str,
        input: Mapping[str, Any],  # the API's own field name
        *,
        id: str | None = None,  # the API's own field name
        chunk_size: int = 16,
        text: str | None = None,
    ) -> Reply:
        """A tool call (``stop_reason`` "tool_use"), optionally after a text block."""
        tool = tool_use_block(name, input, id=id, chunk_size=chunk_size)
        blocks: list[Block] = [] if text is None else [text_block(text)]
        return cls.message(*blocks, tool, stop_reason="tool_use")

    @classmethod
    def tool_uses(
        cls,
        calls: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        text: str | None = None,
        chunk_size: int = 16,
    ) -> Reply:
        """Several tool calls in one turn (``stop_reason`` "tool_use"), each ``(name, input)``.

        Ids are ``toolu_...``, distinct within the turn even for identical calls;
        read them back from the answer (or ``reply.tool_use_ids``).
        """
        if not calls:
            raise ValueError("tool_uses needs at least one (name, input) call")
        blocks: list[Block] = [] if text is None else [text_block(text)]
        for index, (name, tool_input) in enumerate(calls):
            seed = f"{index}\0{name}\0{sorted(dict(tool_input).items())!r}".encode()
            tool_id = "toolu_fake" + hashlib.sha256(seed).hexdigest()[:20]
            blocks.append(tool_use_block(name, tool_input, id=tool_id, chunk_size=chunk_size))
        return cls.message(*blocks, stop_reason="tool_use")

    @classmethod
    def refusal(cls, text: str = "I can't help with that.") -> Reply:
        """A refusal: ``stop_reason`` "refusal" ("Handling stop reasons")."""
        return cls.text(text, stop_reason="refusal")

    @classmethod
    def pause_turn(cls, text: str | None = None) -> Reply:
        """A paused long-running turn (``stop_reason`` "pause_turn"): the client
        sends the conversation back as is to let it continue."""
        blocks = [] if text is None else [text_block(text)]
        return cls.message(*blocks, stop_reason="pause_turn")

    @classmethod
    def thinking(cls, thinking: str, text: str, *, signature: str | None = None) -> Reply:
        """A signed thinking block followed by a text block."""
        return cls.message(thinking_block(thinking, signature=signature), text_block(text))

    @classmethod
    def echo(cls) -> Reply:
        """The default reply: the last user message's text, streamed word by word."""
        return cls(kind="echo")

    @classmethod
    def error(
        cls,
        status: int,
        error_type: str | None = None,
        message: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """An HTTP error with the API's JSON error body.

        ``error_type`` defaults to the one the "Errors" doc gives for ``status``;
        ``headers`` may carry ``retry-after``, ``retry-after-ms``, ``x-should-retry``.
        """
        if not 400 <= status <= 599:
            raise ValueError("an error status must be 4xx or 5xx")
        kind = error_type or error_type_for_status(status)
        text = message if message is not None else DEFAULT_ERROR_MESSAGES.get(kind, kind)
        return cls(
            kind="error",
            status=status,
            error_type=kind,
            error_message=text,
            headers=_pairs(headers),
        )

    @classmethod
    def raw(
        cls,
        status: int = 502,
        body: bytes | str = PROXY_502_PAGE,
        *,
        content_type: str = "text/html",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """A non-API body, as from a proxy in between: no ``request-id``, no JSON."""
        data = body.encode() if isinstance(body, str) else body
        return cls(
            kind="raw", status=status, body=data, content_type=content_type, headers=_pairs(headers)
        )

    @classmethod
    def hang(cls) -> Reply:
        """Never answer; the request ends when the client gives up or the server stops."""
        return cls(kind="hang")

    @property
    def tool_use_ids(self) -> list[str]:
        """The ids of this reply's tool_use blocks, in order."""
        blocks = self.content.blocks if self.content is not None else ()
        return [block.id for block in blocks if isinstance(block, ToolUseBlock)]

    # -- modifiers ---------------------------------------------------------------

    def with_delays(
        self,
        *,
        response: float | None = None,
        first_event: float | None = None,
        between_events: float | None = None,
    ) -> Reply:
        """Seconds before the response headers, then before the first event, then between events."""
        return dataclasses.replace(
            self,
            delay=_seconds(response, self.delay),
            first_event_delay=_seconds(first_event, self.first_event_delay),
            event_delay=_seconds(between_events, self.event_delay),
        )

    def with_error_event(
        self, *, after: int, error_type: str = "overloaded_error", message: str | None = None
    ) -> Reply:
        """Send an ``error`` event after ``after`` events of the stream, then end it."""
        text = DEFAULT_ERROR_MESSAGES.get(error_type, error_type) if message is None else message
        return dataclasses.replace(
            self,
            error_after=_count(after),
            stream_error_type=error_type,
            stream_error_message=text,
        )

    def with_drop(self, *, after: int) -> Reply:
        """Close the connection after ``after`` events, leaving the chunked body unfinished."""
        return dataclasses.replace(self, drop_after=_count(after))

    def with_headers(self, headers: Mapping[str, str]) -> Reply:
        """Extra response headers (added to, and winning over, the server's own)."""
        return dataclasses.replace(self, headers=self.headers + _pairs(headers))

    def with_ratelimit(
        self,
        *,
        requests: tuple[int, int] | None = None,
        tokens: tuple[int, int] | None = None,
        input_tokens: tuple[int, int] | None = None,
        output_tokens: tuple[int, int] | None = None,
        reset_in: float = 60.0,
    ) -> Reply:
        """Rate-limit headers for this reply only: ``(limit, remaining)`` per bucket."""
        snapshot = RateLimitSnapshot(requests, tokens, input_tokens, output_tokens, reset_in)
        return dataclasses.replace(self, ratelimit=snapshot)

    def with_usage(
        self, *, input_tokens: int | None = None, output_tokens: int | None = None
    ) -> Reply:
        """Report these token counts instead of the estimates."""
        reply = self
        if input_tokens is not None:
            reply = dataclasses.replace(reply, input_tokens=input_tokens)
        if output_tokens is not None:
            if reply.content is None:
                raise ValueError("output_tokens needs a reply with content")
            content = dataclasses.replace(reply.content, output_tokens=output_tokens)
            reply = dataclasses.replace(reply, content=content)
        return reply


def _pairs(headers: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in (headers or {}).items())


def _seconds(value: float | None, current: float) -> float:
    if value is None:
        return current
    if not value >= 0:  # also refuses NaN
        raise ValueError("delays must be >= 0 seconds")
    return float(value)


def _count(after: int) -> int:
    if after < 0:
        raise ValueError("after must be >= 0")
    return after
