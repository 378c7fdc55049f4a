"""The aiohttp session a client (and every ``with_options`` copy of it) shares.

Created lazily inside the running loop on the first call. aiohttp sessions
belong to the loop they were created in: using one from another loop fails
deep inside aiohttp, so the loop is checked here first. A session passed in by
the user is used as is (and never closed here), but a closed one is refused
before anything is sent.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..io import transport
from ..wire.errors import ConfigurationError

if TYPE_CHECKING:
    import aiohttp

__all__ = ["SessionHolder"]


class SessionHolder:
    """One lazily created session, the loop it belongs to, and who owns it."""

    __slots__ = ("_closed", "_loop", "_max_connections", "_owns", "_session")

    def __init__(
        self,
        session: aiohttp.ClientSession | None,
        *,
        max_connections: int,
    ) -> None:
        self._session = session
        self._owns = session is None
        self._max_connections = max_connections
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def created(self) -> bool:
        return self._session is not None

    def get(self) -> aiohttp.ClientSession:
        """The session for a call in the running loop (ConfigurationError if unusable)."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise ConfigurationError(
                "this Client is bound to the event loop it was first used in; create one "
                "Client per event loop (e.g. per asyncio.run())"
            )
        session = self._session
        if session is None:
            if self._closed:
                raise ConfigurationError("this Client is closed; create a new one")
            # The environment's proxies are looked up by the client, once per
            # host (aiohttp's trust_env would read them on every request).
            session = transport.new_session(self._max_connections, trust_env=False)
            self._session = session
        elif session.closed:
            raise ConfigurationError(
                "the aiohttp session given as Client(session=...) is closed"
                if not self._owns
                else "this Client is closed; create a new one"
            )
        return session

    async def close(self) -> None:
        """Close the session if we created it (idempotent; a user's session is left open)."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns and not session.closed:
            await session.close()
