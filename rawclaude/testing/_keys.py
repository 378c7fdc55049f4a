"""The application key under which every handler finds the server's state."""

from __future__ import annotations

from aiohttp import web

from ._state import ServerState

STATE_KEY = web.AppKey("rawclaude_fake_state", ServerState)
