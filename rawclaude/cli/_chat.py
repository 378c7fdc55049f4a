"""``rawclaude chat``: an interactive conversation.

The terminal is read with ``input()`` (line editing through ``readline``)
outside the event loop; each answer runs in one persistent loop, so the client
(and ``--fake``'s server) live for the whole conversation. While an answer
streams, Ctrl-C (SIGINT) cancels that answer only: the partial text stays in
the history, as a chat app keeps it. At the prompt, Ctrl-C clears the line and
Ctrl-D (end of input) leaves.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from ..wire.errors import APIError
from ._commands import message_params
from ._session import open_client
from ._term import Painter, stderr_painter, summary_line

if TYPE_CHECKING:
    from .. import Client

__all__ = ["chat"]


def chat(args: argparse.Namespace) -> int:
    interactive = sys.stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (input() gains line editing and history)
    err = stderr_painter()
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    try:
        client = loop.run_until_complete(stack.enter_async_context(open_client(args)))
        if interactive:
            err.line(err.dim(f"{args.model} · Ctrl-C stops an answer · Ctrl-D leaves"))
        _converse(loop, client, args, err, prompt="you> " if interactive else "")
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()
    return 0


def _converse(
    loop: asyncio.AbstractEventLoop,
    client: Client,
    args: argparse.Namespace,
    err: Painter,
    *,
    prompt: str,
) -> None:
    history: list[dict[str, Any]] = []
    while True:
        try:
            line = input(prompt)
        except EOFError:
            if prompt:
                sys.stdout.write("\n")
            return
        except KeyboardInterrupt:
            sys.stdout.write("\n")
            continue
        if not line.strip():
            continue
        history.append({"role": "user", "content": line})
        text = loop.run_until_complete(_turn(client, message_params(args, history), err))
        if text.strip():
            # The API refuses a final assistant turn ending in whitespace; a user turn
            # follows here, but a stopped answer may end mid-word with a space.
            history.append({"role": "assistant", "content": text.rstrip()})
        else:
            history.pop()  # nothing came back: the question was not answered


async def _turn(client: Client, params: dict[str, Any], err: Painter) -> str:
    """One answer, streamed; Ctrl-C cancels it. Returns the text that arrived."""
    pieces: list[str] = []
    task = asyncio.ensure_future(_stream(client, params, pieces, err))
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # this coroutine itself was cancelled, not the answer
        _end_line(pieces)
        err.line(err.dim("[stopped]"))
    except APIError as exc:
        _end_line(pieces)
        err.line(err.red(f"{type(exc).__name__}: {exc}"))
        return ""
    finally:
        loop.remove_signal_handler(signal.SIGINT)  # back to KeyboardInterrupt at the prompt
    return "".join(pieces)


async def _stream(client: Client, params: dict[str, Any], pieces: list[str], err: Painter) -> None:
    out = sys.stdout
    async with client.messages.stream(**params) as stream:
        async for text in stream.text_stream:
            pieces.append(text)
            out.write(text)
            out.flush()
        message = await stream.get_final_message()
    _end_line(pieces)
    err.line(err.dim(summary_line(message, stream.request_id)))


def _end_line(pieces: list[str]) -> None:
    if pieces and not pieces[-1].endswith("\n"):
        sys.stdout.write("\n")
    sys.stdout.flush()
