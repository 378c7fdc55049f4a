"""One small async interface over the three clients, for the end-to-end cases.

``make(name, base_url)`` gives an object with ``stream_text``, ``first_text``,
``create`` and ``aclose``. Every call sends the same body; per-case behaviour
of the fake server is chosen with ``x-fake-*`` headers.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from . import floor
from .payload import MODEL

API_KEY = "sk-bench-dummy"  # the fake server accepts any key; never a real one
PROMPT = "Tell me about lighthouses, café culture and 東京."
MAX_TOKENS = 1024
BODY: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": MAX_TOKENS,
    "messages": [{"role": "user", "content": PROMPT}],
}
CLIENTS = ("rawclaude", "sdk", "floor")


class Adapter(Protocol):
    async def stream_text(self, headers: dict[str, str]) -> str: ...

    async def first_text(self, headers: dict[str, str]) -> float: ...

    async def create(self) -> str: ...

    async def aclose(self) -> None: ...


class _Official:
    """rawclaude and the SDK share the SDK's surface, so one adapter serves both."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def stream_text(self, headers: dict[str, str]) -> str:
        async with self.client.messages.stream(**BODY, extra_headers=headers) as stream:
            message = await stream.get_final_message()
        return str(message.content[0].text)

    async def first_text(self, headers: dict[str, str]) -> float:
        first = 0.0
        async with self.client.messages.stream(**BODY, extra_headers=headers) as stream:
            async for _ in stream.text_stream:
                if not first:
                    first = time.perf_counter()
        return first

    async def create(self) -> str:
        message = await self.client.messages.create(**BODY)
        return str(message.content[0].text)

    async def aclose(self) -> None:
        await self.client.close()


class _Floor:
    def __init__(self, base_url: str) -> None:
        self.client = floor.FloorClient(API_KEY, base_url)

    async def stream_text(self, headers: dict[str, str]) -> str:
        return await self.client.stream_text(BODY, headers)

    async def first_text(self, headers: dict[str, str]) -> float:
        return await self.client.first_text(BODY, headers)

    async def create(self) -> str:
        return await self.client.create(BODY, {})

    async def aclose(self) -> None:
        await self.client.aclose()


def make(name: str, base_url: str) -> Adapter:
    """A new client of kind ``name`` ("rawclaude", "sdk" or "floor"), no retries."""
    if name == "rawclaude":
        import rawclaude

        return _Official(rawclaude.Client(API_KEY, base_url=base_url, max_retries=0))
    if name == "sdk":
        import anthropic

        return _Official(
            anthropic.AsyncAnthropic(api_key=API_KEY, base_url=base_url, max_retries=0)
        )
    if name == "floor":
        return _Floor(base_url)
    raise ValueError(f"unknown client {name!r}")
