"""``python -m bench.browsers MODE URL N HEADERS_JSON``: N concurrent readers of stamped text.

MODE ``sse``: N aiohttp clients GET ``URL`` (a relay) and parse its SSE as a
browser's EventSource would (rawclaude's WHATWG parser); MODE ``direct``: N
rawclaude streams straight from the upstream at ``URL``. Either way each text
delta's age on arrival (now - its stamp, see bench.stamp_upstream) is kept;
prints ``{"p50_ms", "p99_ms", "max_ms", "deltas"}`` as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import aiohttp

from rawclaude import Client
from rawclaude.wire.sse import SSEParser

from .stats import percentile


def _ages(text: str, now: int, out: list[int]) -> None:
    out.extend(now - int(stamp) for stamp in text.split(";") if stamp)


async def _browser(session: aiohttp.ClientSession, url: str, ages: list[int]) -> None:
    parser = SSEParser()
    async with session.get(url) as resp:
        resp.raise_for_status()
        async for chunk in resp.content.iter_any():
            now = time.monotonic_ns()
            for event in parser.feed(chunk):
                if event.event == "text":
                    _ages(event.text, now, ages)
                elif event.event == "error":
                    raise RuntimeError(event.text)


async def _direct(client: Client, headers: dict[str, str], ages: list[int]) -> None:
    params: dict[str, Any] = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "stamps"}],
        "extra_headers": headers,
    }
    async with client.messages.stream(**params) as stream:
        async for text in stream.text_stream:
            _ages(text, time.monotonic_ns(), ages)


async def main(mode: str, url: str, n: int, headers: dict[str, str]) -> dict[str, float]:
    ages: list[int] = []
    if mode == "sse":
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=None)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await asyncio.gather(*(_browser(session, url, ages) for _ in range(n)))
    else:
        async with Client(api_key="sk-bench", base_url=url, max_connections=n + 8) as client:
            await asyncio.gather(*(_direct(client, headers, ages) for _ in range(n)))
    ms = [a / 1e6 for a in ages]
    return {
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms),
        "deltas": float(len(ms)),
    }


if __name__ == "__main__":
    mode, url, n, raw = sys.argv[1:5]
    print(json.dumps(asyncio.run(main(mode, url, int(n), json.loads(raw)))), flush=True)
