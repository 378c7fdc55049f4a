"""What the CLI writes besides the answer: the summary line, errors, a progress bar.

Colour and progress bars only on a terminal (and never with ``NO_COLOR`` set,
no-color.org); a pipe or a file gets plain lines.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ..wire.models import Message

__all__ = ["Painter", "cost_text", "summary_line"]


class Painter:
    """ANSI styling for one output stream, only when it is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = _isatty(stream)
        self.colour = self.tty and not os.environ.get("NO_COLOR")

    def dim(self, text: str) -> str:
        return f"\x1b[2m{text}\x1b[0m" if self.colour else text

    def red(self, text: str) -> str:
        return f"\x1b[31m{text}\x1b[0m" if self.colour else text

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def summary_line(message: Message, request_id: str | None) -> str:
    """Usage, cost (once rawclaude has cost accounting) and request id, for stderr."""
    usage = message.usage
    parts = [f"{usage.input_tokens} in", f"{usage.output_tokens} out"]
    if usage.cache_read_input_tokens:
        parts.append(f"{usage.cache_read_input_tokens} cache read")
    if usage.cache_creation_input_tokens:
        parts.append(f"{usage.cache_creation_input_tokens} cache write")
    text = "tokens: " + ", ".join(parts)
    if message.stop_reason and message.stop_reason != "end_turn":
        text += f" · stopped: {message.stop_reason}"
    cost = cost_text(message)
    if cost is not None:
        text += f" · cost: {cost}"
    if request_id:
        text += f" · request: {request_id}"
    return text


def cost_text(message: Message) -> str | None:
    """The cost of ``message`` as text, or None while rawclaude has no cost accounting.

    The seam for ``rawclaude.cost(message_or_usage, model=..., batch=False)``
    (the production-layer issue): when that name exists, its typed breakdown is
    shown by its own ``str``; an unpriced model is shown as such, not as zero.
    """
    import rawclaude

    cost = getattr(rawclaude, "cost", None)
    if not callable(cost):
        return None
    try:
        return str(cost(message, model=message.model))
    except rawclaude.RawClaudeError as exc:
        return f"unknown ({exc})"


def stdout_painter() -> Painter:
    return Painter(sys.stdout)


def stderr_painter() -> Painter:
    return Painter(sys.stderr)
