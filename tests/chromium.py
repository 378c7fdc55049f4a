"""A headless Chromium driven over the DevTools protocol, with aiohttp's websocket client.

Just what the browser tests need: open a page, evaluate JavaScript in it, close
it. The protocol: https://chromedevtools.github.io/devtools-protocol/ (Target
and Runtime domains; "flatten" sessions, so one socket carries every page).
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

__all__ = ["Browser", "Page", "chromium_path", "launch"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    for name in _NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse[Any]) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            reply = msg.json()
            future = self._waiting.pop(reply.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(reply)
        for future in self._waiting.values():  # the browser went away
            if not future.done():
                future.set_exception(ConnectionError("the DevTools socket closed"))

    async def send(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None
    ) -> dict[str, Any]:
        call_id = next(self._ids)
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        await self._ws.send_json(message)
        reply = await asyncio.wait_for(future, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply["result"]
        return result

    async def open(self, url: str) -> Page:
        target = (await self.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
        attached = await self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, target, attached["sessionId"])
        try:
            await page.eval(f"location.href = {url!r}")
        except RuntimeError as exc:  # the navigation may win the race with the reply
            if "navigated or closed" not in str(exc):
                raise
        await page.until("document.readyState === 'complete' && location.href !== 'about:blank'")
        return page

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


class Page:
    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self._browser = browser
        self.target = target
        self._session = session

    async def eval(self, expression: str) -> Any:
        result = await self._browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self._session,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def until(self, expression: str, timeout: float = 30.0) -> Any:
        """Evaluate ``expression`` until it is truthy; its value."""

        async def poll() -> Any:
            while True:
                try:
                    value = await self.eval(expression)
                except RuntimeError as exc:
                    # Evaluated while the page navigates: the old context is gone.
                    if "navigated or closed" not in str(exc):
                        raise
                    value = None
                if value:
                    return value
                await asyncio.sleep(0.05)

        return await asyncio.wait_for(poll(), timeout)

    async def close(self) -> None:
        """Close the tab, as a person does: its connections go with it."""
        await self._browser.send("Target.closeTarget", {"targetId": self.target})


@asynccontextmanager
async def launch(path: str) -> AsyncIterator[Browser]:
    with tempfile.TemporaryDirectory(prefix="rawclaude-chromium-") as profile:
        proc = await asyncio.create_subprocess_exec(
            path,
            "--headless=new",
            "--no-sandbox",  # root in a container has no user namespace to sandbox into
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            url = await asyncio.wait_for(_devtools_url(proc), 60)
            async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0) as ws:
                browser = Browser(ws)
                try:
                    yield browser
                finally:
                    await browser.close()
        finally:
            if proc.returncode is None:
                proc.terminate()
            await proc.wait()


async def _devtools_url(proc: asyncio.subprocess.Process) -> str:
    assert proc.stderr is not None
    seen = []
    while line := await proc.stderr.readline():
        text = line.decode(errors="replace").strip()
        seen.append(text)
        if text.startswith("DevTools listening on "):
            return text.removeprefix("DevTools listening on ")
    raise RuntimeError("chromium exited before listening:\n" + "\n".join(seen[-20:]))
