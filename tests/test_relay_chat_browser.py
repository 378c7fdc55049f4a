"""examples/relay_chat in a real headless Chromium: the page's EventSource gets the
whole answer, and closing the page releases the upstream stream (server side:
the limiter's in_flight and the fake server's view)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiohttp import web
from chromium import Browser, chromium_path, launch

from rawclaude import Client, RateLimiter
from rawclaude.testing import FakeServer, Reply

CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium (apt-get install chromium; .ci/run installs it)"
)
APP_PATH = Path(__file__).parent.parent / "examples" / "relay_chat" / "app.py"


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("relay_chat_app", APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Site:
    def __init__(self, fake: FakeServer, limiter: RateLimiter, url: str) -> None:
        self.fake, self.limiter, self.url = fake, limiter, url


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    example = _load_example()
    limiter = RateLimiter(max_concurrency=8)
    reply = Reply.echo().with_delays(between_events=0.01)
    async with FakeServer(default_reply=reply) as fake:
        client = Client(api_key="fake", base_url=fake.base_url, limiter=limiter, max_retries=0)
        # As the example runs itself: handlers cancelled when their browser leaves.
        runner = web.AppRunner(example.make_app(client), handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        try:
            yield Site(fake, limiter, f"http://{host}:{port}/")
        finally:
            await runner.cleanup()
            await client.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM is not None
    async with launch(CHROMIUM) as b:
        yield b


ASK = """(() => {{
  document.getElementById("prompt").value = {text};
  document.getElementById("form").requestSubmit();
  return true;
}})()"""
LAST = "document.querySelector('#log .assistant:last-of-type')"


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():  # noqa: ASYNC110 (the limiter has no event to wait on)
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def test_the_page_receives_the_whole_answer_and_keeps_the_conversation(
    site: Site, browser: Browser
) -> None:
    page = await browser.open(site.url)
    text = "First line,\nsecond   line with  spaces,\n\nand a last one: ünïcode ✓"
    await page.eval(ASK.format(text=json.dumps(text)))
    assert await page.until(f"{LAST}?.dataset.state") == "done"
    assert await page.eval(f"{LAST}.textContent") == text  # multi-line text framed right
    assert "end_turn" in await page.eval("document.getElementById('status').textContent")

    await page.eval(ASK.format(text=json.dumps("and again")))
    await page.until(
        f"document.querySelectorAll('#log .assistant').length === 2 && {LAST}.dataset.state"
    )
    assert await page.eval(f"{LAST}.textContent") == "and again"
    sent: list[dict[str, Any]] = site.fake.requests[-1].json["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"] == text.rstrip()

    site.fake.queue(Reply.error(429, message="slow down"))
    await page.eval(ASK.format(text=json.dumps("a third")))
    status = await page.until(
        "(s => s.startsWith('RateLimitError') && s)(document.getElementById('status').textContent)"
    )
    assert status == "RateLimitError: slow down"
    await _until(lambda: site.limiter.in_flight == 0)


async def test_closing_the_page_releases_the_upstream_stream(site: Site, browser: Browser) -> None:
    words = " ".join(f"w{i}" for i in range(100))
    # 100 words, half a second apart: the answer would take close to a minute.
    site.fake.queue(Reply.text(words).with_delays(between_events=0.5))
    page = await browser.open(site.url)
    await page.eval(ASK.format(text=json.dumps("tell me a long story")))
    await page.until(f"{LAST}?.textContent.startsWith('w0')")  # the answer is streaming
    assert site.limiter.in_flight == 1
    await page.close()
    await _until(lambda: site.limiter.in_flight == 0)  # well before the answer's end
