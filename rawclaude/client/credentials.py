"""Credentials, resolved per attempt (the pipeline's first stage).

A credential is a string, or a *provider*: a callable (sync or async) that
returns the current value, or an object with ``get()`` and optionally
``refresh()`` (each may be sync or async). A provider is asked before every
attempt -- it caches on its own side -- so a rotated key is used from the next
attempt on, without a restart. After a 401 the pipeline asks each provider
that has ``refresh()`` to refresh, and retries the request once.

Nothing here ever puts a value in a repr, a log line or an error message.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from ..wire.errors import ConfigurationError
from ..wire.headers import check_credential

__all__ = ["CredentialProvider", "CredentialSource", "Credentials", "resolve_sources"]


@runtime_checkable
class CredentialProvider(Protocol):
    """An object that knows the current credential."""

    def get(self) -> str | Awaitable[str]: ...


CredentialSource = str | Callable[[], str | Awaitable[str]] | CredentialProvider


def resolve_sources(
    api_key: CredentialSource | None, auth_token: CredentialSource | None
) -> tuple[CredentialSource | None, CredentialSource | None]:
    """The client's credential sources: an explicit argument beats the environment.

    With neither argument, both ``ANTHROPIC_API_KEY`` and ``ANTHROPIC_AUTH_TOKEN``
    are read (and both sent, as the official SDK does). With one argument, the
    environment is not consulted at all: exactly the credential passed is sent.
    """
    if api_key is None and auth_token is None:
        return os.environ.get("ANTHROPIC_API_KEY") or None, (
            os.environ.get("ANTHROPIC_AUTH_TOKEN") or None
        )
    return api_key, auth_token


class _Slot:
    """One credential (the API key or the bearer token) and how it is sent."""

    __slots__ = ("_cached", "_cached_for", "header", "name", "prefix", "source", "static")

    def __init__(self, name: str, header: str, prefix: str, source: CredentialSource) -> None:
        self.name, self.header, self.prefix = name, header, prefix
        self.source = source
        self.static = isinstance(source, str)
        if self.static:
            check_credential(name, source)  # type: ignore[arg-type]
        elif not callable(source) and not callable(getattr(source, "get", None)):
            raise ConfigurationError(
                f"{name} must be a string, a callable returning one, or an object with "
                f"get(); got {type(source).__name__}"
            )
        self._cached_for: str | None = None
        self._cached: str = ""

    async def value(self) -> str:
        source = self.source
        if isinstance(source, str):
            return source
        getter = source if callable(source) else source.get
        got: Any = getter()
        if inspect.isawaitable(got):
            got = await got
        if not isinstance(got, str) or not got:
            raise ConfigurationError(
                f"the {self.name} provider returned {type(got).__name__}, not a non-empty str"
            )
        if got is not self._cached_for:
            check_credential(f"the value of the {self.name} provider", got)
            self._cached_for, self._cached = got, self.prefix + got
        return got

    def header_value(self, value: str) -> str:
        if value is self._cached_for:
            return self._cached
        return self.prefix + value

    async def refresh(self) -> bool:
        refresh = getattr(self.source, "refresh", None)
        if self.static or not callable(refresh):
            return False
        got = refresh()
        if inspect.isawaitable(got):
            await got
        return True


class Credentials:
    """The credential headers of each attempt."""

    __slots__ = ("_slots", "_static", "suppressed")

    def __init__(
        self,
        api_key: CredentialSource | None,
        auth_token: CredentialSource | None,
        *,
        suppress: frozenset[str] = frozenset(),
    ) -> None:
        """``suppress``: credential headers ``default_headers`` removed (set to "")."""
        slots = []
        if api_key:
            slots.append(_Slot("api_key (ANTHROPIC_API_KEY)", "x-api-key", "", api_key))
        if auth_token:
            slots.append(
                _Slot("auth_token (ANTHROPIC_AUTH_TOKEN)", "authorization", "Bearer ", auth_token)
            )
        self._slots = tuple(s for s in slots if s.header not in suppress)
        #: The caller removed a credential header on purpose (send without one).
        self.suppressed = bool(suppress & {"x-api-key", "authorization"})
        #: The headers when every credential is a plain string, built once.
        self._static: dict[str, str] | None = None
        if all(s.static for s in self._slots):
            self._static = {s.header: s.prefix + str(s.source) for s in self._slots}

    def __repr__(self) -> str:
        return f"Credentials({self.describe()})"

    def describe(self) -> str:
        """Which kinds are configured (never their values), for reprs."""
        kinds = [("api_key", "auth_token")[s.header == "authorization"] for s in self._slots]
        return "+".join(kinds) or "none"

    @property
    def refreshable(self) -> bool:
        return any(callable(getattr(s.source, "refresh", None)) for s in self._slots)

    async def headers(self) -> Mapping[str, str]:
        """The credential headers for the next attempt."""
        static = self._static
        if static is not None:
            return static
        out = {}
        for slot in self._slots:
            out[slot.header] = slot.header_value(await slot.value())
        return out

    async def refresh(self) -> bool:
        """Ask every provider that can to refresh; whether any could (after a 401)."""
        refreshed = False
        for slot in self._slots:
            refreshed = await slot.refresh() or refreshed
        return refreshed

    def scrub(self, text: str) -> str:
        """``text`` with any static credential value replaced by ``***``."""
        for slot in self._slots:
            if slot.static and str(slot.source) in text:
                text = text.replace(str(slot.source), "***")
        return text
