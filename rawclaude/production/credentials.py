"""Credential providers that follow rotation without a restart.

Both are objects with ``get()`` and ``refresh()``, the provider protocol the
client asks before every attempt (and, after a 401, refreshes once and
retries). Their values never appear in a repr, a log line or an error.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..wire.errors import ConfigurationError

__all__ = ["EnvCredential", "FileCredential"]


class EnvCredential:
    """The value of an environment variable, read once and again on ``refresh()``."""

    def __init__(self, name: str = "ANTHROPIC_API_KEY") -> None:
        if not isinstance(name, str) or not name:
            raise ConfigurationError("EnvCredential needs the name of a variable")
        self.name = name
        self._value: str | None = None

    def get(self) -> str:
        if self._value is None:
            self.refresh()
        assert self._value is not None
        return self._value

    def refresh(self) -> None:
        value = os.environ.get(self.name, "").strip()
        if not value:
            raise ConfigurationError(f"the environment variable {self.name} is not set")
        self._value = value

    def __repr__(self) -> str:
        return f"EnvCredential({self.name!r})"


class FileCredential:
    """The content of a file (stripped), re-read whenever the file changes.

    Orchestrators rotate mounted secrets by replacing the file (Kubernetes swaps
    a symlink): a change of inode, size or modification time is noticed on the
    next ``get()``; ``refresh()`` re-reads unconditionally.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int, int] | None = None
        self._value = ""

    def get(self) -> str:
        stamp = self._stat()
        if stamp != self._stamp:
            self._read(stamp)
        return self._value

    def refresh(self) -> None:
        self._read(self._stat())

    def _stat(self) -> tuple[int, int, int]:
        try:
            st = self.path.stat()
        except OSError as exc:
            raise ConfigurationError(
                f"credential file {str(self.path)!r} cannot be read ({type(exc).__name__})"
            ) from None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _read(self, stamp: tuple[int, int, int]) -> None:
        try:
            value = self.path.read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                f"credential file {str(self.path)!r} cannot be read ({type(exc).__name__})"
            ) from None
        if not value:
            raise ConfigurationError(f"credential file {str(self.path)!r} is empty")
        self._value, self._stamp = value, stamp

    def __repr__(self) -> str:
        return f"FileCredential({str(self.path)!r})"
