"""The floor: the cheapest raw aiohttp client for the Messages API, the practical limit.

No checks, no retries, no error mapping: post with aiohttp, read the body, split
events on ``b"\\n\\n"``, msgspec-decode each data payload into minimal Structs,
append text pieces to a list and join them once. Whatever a real client does
on top of this is its overhead; ``rawclaude`` is measured against it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable

import aiohttp
import msgspec
import orjson


# gc=False: these never form cycles, so the collector need not track them.
class Delta(msgspec.Struct, gc=False):
    text: str = ""


class Event(msgspec.Struct, gc=False):
    type: str
    delta: Delta | None = None


class Block(msgspec.Struct):
    text: str = ""


class Message(msgspec.Struct):
    content: list[Block]


_EVENT = msgspec.json.Decoder(Event)
_MESSAGE = msgspec.json.Decoder(Message)


class FloorParser:
    """Bytes in, text pieces out: split on blank lines, decode the ``data:`` line."""

    __slots__ = ("buf", "events", "pieces")

    def __init__(self) -> None:
        self.buf = b""
        self.pieces: list[str] = []
        self.events = 0

    def feed(self, chunk: bytes) -> int:
        """Take a chunk; return how many text pieces it completed."""
        *frames, self.buf = (self.buf + chunk).split(b"\n\n")
        before = len(self.pieces)
        append, decode = self.pieces.append, _EVENT.decode
        for frame in frames:
            event = decode(frame.partition(b"data: ")[2])
            if event.delta is not None:
                append(event.delta.text)
        self.events += len(frames)
        return len(self.pieces) - before

    def text(self) -> str:
        return "".join(self.pieces)


def parse_all(chunks: Iterable[bytes]) -> str:
    """The in-process floor: every chunk through the parser, the text joined once."""
    parser = FloorParser()
    for chunk in chunks:
        parser.feed(chunk)
    return parser.text()


class FloorClient:
    """Bare aiohttp: one session, a pool as large as rawclaude's default (256)."""

    def __init__(self, api_key: str, base_url: str, max_connections: int = 256) -> None:
        self.url = base_url.rstrip("/") + "/v1/messages"
        self.headers = {
            "x-api-key": api_key,
            "anthropic-version": "2023-06-01",
            "content-type": "application/json",
        }
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.max_connections)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def create(self, body: dict[str, object], headers: dict[str, str]) -> str:
        async with self.session().post(
            self.url, data=orjson.dumps(body), headers={**self.headers, **headers}
        ) as resp:
            message = _MESSAGE.decode(await resp.read())
        return message.content[0].text

    async def chunks(
        self, body: dict[str, object], headers: dict[str, str]
    ) -> AsyncIterator[bytes]:
        data = orjson.dumps({**body, "stream": True})
        async with self.session().post(
            self.url, data=data, headers={**self.headers, **headers}
        ) as resp:
            async for chunk in resp.content.iter_any():
                yield chunk

    async def stream_text(self, body: dict[str, object], headers: dict[str, str]) -> str:
        parser = FloorParser()
        async for chunk in self.chunks(body, headers):
            parser.feed(chunk)
        return parser.text()

    async def first_text(self, body: dict[str, object], headers: dict[str, str]) -> float:
        """perf_counter() when the first text piece arrived; the rest is read untimed."""
        parser, first = FloorParser(), 0.0
        async for chunk in self.chunks(body, headers):
            if parser.feed(chunk) and not first:
                first = time.perf_counter()
        return first

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class FloorBucket:
    """The least a token bucket can do: refill from the clock, subtract, no queue."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity = rate, capacity
        self.tokens, self.stamp = capacity, time.monotonic()

    def try_acquire(self, amount: float = 1.0) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < amount:
            return False
        self.tokens -= amount
        return True

    async def acquire(self, amount: float = 1.0) -> None:
        self.try_acquire(amount)
