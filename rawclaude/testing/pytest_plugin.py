"""The ``claude_server`` pytest fixture, registered through the ``pytest11`` entry point.

Imported at the start of every pytest run of everyone who installs rawclaude,
so it imports nothing heavy: the server (aiohttp.web) loads inside the fixture.
The server runs in its own thread and loop, so the fixture serves sync tests and
tests on any async framework or loop alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._server import FakeServer


@pytest.fixture
def claude_server() -> Iterator[FakeServer]:
    """A running fake Claude API; point a client at ``claude_server.base_url``."""
    from ._server import FakeServer

    with FakeServer() as server:
        yield server
