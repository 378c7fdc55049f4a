"""``ask``, ``count`` and ``models``: one request each."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

import msgspec

from ..wire.errors import ConfigurationError
from ._session import fake_headers, open_client
from ._term import stderr_painter, summary_line

if TYPE_CHECKING:
    from .. import Client

__all__ = ["ask", "count", "models", "read_prompt"]

_JSON = msgspec.json.Encoder()


def read_prompt(args: argparse.Namespace) -> str:
    """The prompt argument, else all of stdin (unless stdin is a terminal)."""
    if args.prompt is not None:
        prompt: str = args.prompt
    elif sys.stdin is None or sys.stdin.isatty():
        raise ConfigurationError("no prompt: give one as an argument, or pipe it into stdin")
    else:
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise ConfigurationError("the prompt is empty")
    return prompt


def message_params(args: argparse.Namespace, messages: list[dict[str, Any]]) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": args.model,
        "max_tokens": args.max_tokens,
        "messages": messages,
        "extra_headers": fake_headers(args),
    }
    if args.system:
        params["system"] = args.system
    return params


async def ask(args: argparse.Namespace) -> int:
    prompt = read_prompt(args)
    params = message_params(args, [{"role": "user", "content": prompt}])
    async with open_client(args) as client:
        await _ask(client, params, as_json=args.json)
    return 0


async def _ask(client: Client, params: dict[str, Any], *, as_json: bool) -> None:
    out = sys.stdout
    async with client.messages.stream(**params) as stream:
        last = "\n"
        if not as_json:
            async for text in stream.text_stream:
                out.write(text)
                out.flush()  # as it arrives, on a terminal or down a pipe
                last = text[-1:] or last
        message = await stream.get_final_message()
    if as_json:
        out.write(_JSON.encode(message).decode() + "\n")
    elif last != "\n":
        out.write("\n")
    out.flush()
    err = stderr_painter()
    err.line(err.dim(summary_line(message, stream.request_id)))


async def count(args: argparse.Namespace) -> int:
    prompt = read_prompt(args)
    params: dict[str, Any] = {
        "model": args.model,
        "messages": [{"role": "user", "content": prompt}],
    }
    if args.system:
        params["system"] = args.system
    async with open_client(args) as client:
        result = await client.messages.count_tokens(**params)
    sys.stdout.write(f"{result.input_tokens}\n")
    return 0


async def models(args: argparse.Namespace) -> int:
    async with open_client(args) as client:
        found = []
        after: str | None = None
        while True:  # every page (List Models pages with has_more / last_id)
            page = await client.models.list(limit=1000, after_id=after)
            found.extend(page.data)
            if not page.has_more or not page.last_id:
                break
            after = page.last_id
    out = sys.stdout
    if args.json:
        out.write(_JSON.encode(found).decode() + "\n")
        return 0
    width = max((len(m.id) for m in found), default=0)
    for model in found:
        out.write(f"{model.id:<{width}}  {model.display_name}\n")
    return 0
