"""A real ``redis-server`` for tests: 127.0.0.1, a free port, a temp dir, no persistence.

Import the fixtures into a test module (``from redis_server import redis_server``).
Tests using them are skipped only when ``redis-server`` is not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
)
SKIP_REASON = "redis-server is not installed (CI installs it: apt-get install redis-server)"


def free_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening (at the time of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(port: int, password: str | None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            if password is not None:
                sock.sendall(f"AUTH {password}\r\n".encode())
                sock.recv(64)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process; ``url`` to reach it, ``stop()`` to kill it."""

    def __init__(self, directory: Path, password: str | None = None) -> None:
        assert REDIS_SERVER is not None
        self.directory = directory
        self.password = password
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, port: int | None = None) -> None:
        # A port picked free may be taken before redis binds it: try a few.
        for _ in range(5):
            self.port = port or free_port()
            if self._launch():
                return
        raise RuntimeError(f"redis-server did not start; see {self.directory}/redis.log")

    def _launch(self) -> bool:
        args = [REDIS_SERVER or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        args += ["--logfile", str(self.directory / "redis.log")]
        if self.password:
            args += ["--requirepass", self.password]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            if _ping(self.port, self.password):
                return True
            if self._proc.poll() is not None:
                return False  # exited: most likely the port was taken
            time.sleep(0.01)
        self.stop()
        return False

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.kill()
        self._proc.wait(5)
        self._proc = None


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server shared by one test module (tests use distinct keys)."""
    if REDIS_SERVER is None:
        pytest.skip(SKIP_REASON)
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, with a password, that the test may stop."""
    if REDIS_SERVER is None:
        pytest.skip(SKIP_REASON)
    server = RedisServer(tmp_path, password="s3cret-pw-for-tests")
    server.start()
    yield server
    server.stop()
