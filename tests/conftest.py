"""Shared pytest configuration.

Fixtures that belong to one area live in that area's test module; this file
only holds what several modules use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from scripted_server import ScriptedServer, start


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    """A scripted aiohttp server on 127.0.0.1 (see scripted_server.py)."""
    srv = ScriptedServer()
    runner = await start(srv)
    yield srv
    await runner.cleanup()
