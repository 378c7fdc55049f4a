"""Content blocks a scripted reply is made of, and their wire events.

Each block knows three things, all following "Streaming Messages" and the
Messages API reference: the ``content_block`` of its ``content_block_start``
event, the ``delta`` objects of its ``content_block_delta`` events, and its
final form inside a non-streaming Message.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ._wire import split_words


@dataclass(frozen=True)
class TextBlock:
    """A ``text`` block streamed as ``text_delta`` pieces."""

    deltas: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(self.deltas)

    def start(self) -> dict[str, Any]:
        return {"type": "text", "text": ""}

    def delta_objects(self) -> list[dict[str, Any]]:
        return [{"type": "text_delta", "text": piece} for piece in self.deltas]

    def final(self) -> dict[str, Any]:
        return {"type": "text", "text": self.text}


@dataclass(frozen=True)
class ToolUseBlock:
    """A ``tool_use`` block whose input JSON is streamed as ``input_json_delta`` pieces."""

    id: str
    name: str
    input_json: str
    chunk_size: int

    def start(self) -> dict[str, Any]:
        # The doc's tool-use stream starts the block with an empty input object;
        # the input only arrives through partial_json deltas.
        return {"type": "tool_use", "id": self.id, "name": self.name, "input": {}}

    def delta_objects(self) -> list[dict[str, Any]]:
        size = self.chunk_size
        pieces = [self.input_json[i : i + size] for i in range(0, len(self.input_json), size)]
        return [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]

    def final(self) -> dict[str, Any]:
        # Fragment embeds the already-serialised input without re-encoding it.
        return {
            "type": "tool_use",
            "id": self.id,
            "name": self.name,
            "input": orjson.Fragment(self.input_json),
        }


@dataclass(frozen=True)
class ThinkingBlock:
    """A ``thinking`` block: ``thinking_delta`` pieces then one ``signature_delta``."""

    deltas: tuple[str, ...]
    signature: str

    def start(self) -> dict[str, Any]:
        return {"type": "thinking", "thinking": ""}

    def delta_objects(self) -> list[dict[str, Any]]:
        deltas: list[dict[str, Any]] = [
            {"type": "thinking_delta", "thinking": piece} for piece in self.deltas
        ]
        # "Extended thinking" streaming: the signature arrives just before the
        # block's content_block_stop.
        deltas.append({"type": "signature_delta", "signature": self.signature})
        return deltas

    def final(self) -> dict[str, Any]:
        return {"type": "thinking", "thinking": "".join(self.deltas), "signature": self.signature}


Block = TextBlock | ToolUseBlock | ThinkingBlock


def text_block(text: str | None = None, *, deltas: Sequence[str] | None = None) -> TextBlock:
    """A text block; ``deltas`` fixes the pieces, else ``text`` is split into words."""
    if deltas is None:
        return TextBlock(tuple(split_words(text or "")))
    pieces = tuple(deltas)
    if text is not None and "".join(pieces) != text:
        raise ValueError("text must equal the concatenation of deltas")
    return TextBlock(pieces)


def tool_use_block(
    name: str,
    input: Mapping[str, Any],  # the API's own field name
    *,
    id: str | None = None,  # the API's own field name
    chunk_size: int = 16,
) -> ToolUseBlock:
    """A tool_use block; its input JSON is cut into ``chunk_size``-character pieces."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    input_json = orjson.dumps(dict(input), option=orjson.OPT_SORT_KEYS).decode()
    if id is None:
        digest = hashlib.sha256(f"{name}\0{input_json}".encode()).hexdigest()
        id = "toolu_fake" + digest[:20]
    return ToolUseBlock(id=id, name=name, input_json=input_json, chunk_size=chunk_size)


def thinking_block(
    thinking: str | None = None,
    *,
    deltas: Sequence[str] | None = None,
    signature: str | None = None,
) -> ThinkingBlock:
    """A thinking block; the default signature is a stable digest of the thinking text."""
    pieces = text_block(thinking, deltas=deltas).deltas
    if signature is None:
        digest = hashlib.sha256("".join(pieces).encode()).digest()
        signature = base64.b64encode(digest).decode()
    return ThinkingBlock(deltas=pieces, signature=signature)
