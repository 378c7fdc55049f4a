"""The client a command runs with: the real API, or ``--fake``'s embedded fake server."""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from ..wire.errors import ConfigurationError

if TYPE_CHECKING:
    from .. import Client

__all__ = ["NoCredentialError", "fake_headers", "open_client"]

_FAKE_KEY = "sk-ant-fake-cli"


class NoCredentialError(ConfigurationError):
    """Neither a key in the environment nor ``--fake``: the message says both ways out."""

    def __init__(self) -> None:
        super().__init__(
            "no API key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) to use the Claude API, "
            "or add --fake to run against a local fake server (no key, no network)"
        )


@asynccontextmanager
async def open_client(args: argparse.Namespace) -> AsyncIterator[Client]:
    """A client for ``args``; with ``--fake``, a ``FakeServer`` on 127.0.0.1 for its lifetime."""
    from .. import Client

    if not args.fake:
        if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
            raise NoCredentialError()
        async with Client() as client:
            yield client
        return
    from ..testing import FakeServer

    async with FakeServer(record=False) as server:
        # auth_token="" (not None): a token in the environment is not sent, even locally.
        client = Client(api_key=_FAKE_KEY, auth_token="", base_url=server.base_url)
        async with client:
            yield client


def fake_headers(args: argparse.Namespace) -> dict[str, str] | None:
    """The request headers that slow the fake server's answer (``--fake-delay``)."""
    delay = getattr(args, "fake_delay", 0.0)
    if not (args.fake and delay):
        return None
    # rawclaude.testing._overrides: x-fake-event-delay is seconds between two events.
    return {"x-fake-event-delay": repr(delay)}
