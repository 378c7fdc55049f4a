"""Child processes the runner owns: workers, the fake server, redis-server."""

from __future__ import annotations

import contextlib
import json
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT = 30.0


class WorkerError(RuntimeError):
    pass


def run_worker(case: str, client: str, params: dict[str, Any], timeout: float) -> dict[str, Any]:
    """One ``python -m bench.worker`` run; its JSON result, or WorkerError with its stderr tail."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.worker", case, client],
            input=json.dumps(params),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
        )
    except subprocess.TimeoutExpired as exc:
        raise WorkerError(f"timed out after {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-6:]
        raise WorkerError(f"exit {done.returncode}: " + " | ".join(tail))
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def fake_server(log: Path, module: str = "rawclaude.testing") -> Iterator[str]:
    """``python -m rawclaude.testing --port 0`` (or another server ``module`` that prints
    its URL once listening) in its own process; yields its base URL."""
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=REPO,
        )
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], SERVER_START_TIMEOUT)
            url = proc.stdout.readline().strip() if ready else ""  # printed once listening
            if not url.startswith("http://127.0.0.1:"):
                raise RuntimeError(f"{module} did not start (see {log})")
            yield url
        finally:
            _stop(proc)


def prime(url: str, headers: dict[str, str]) -> None:
    """One streamed request, read to the end, so the server renders and caches that reply."""
    body = json.dumps(
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 1024,
            "stream": True,
            "messages": [{"role": "user", "content": "prime"}],
        }
    ).encode()
    request = urllib.request.Request(
        url + "/v1/messages",
        data=body,
        method="POST",
        headers={
            "x-api-key": "sk-bench-dummy",
            "anthropic-version": "2023-06-01",
            "content-type": "application/json",
            **headers,
        },
    )
    with urllib.request.urlopen(request, timeout=120) as resp:
        while resp.read(1 << 16):
            pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_ready(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(log: Path) -> Iterator[tuple[str | None, str]]:
    """A throwaway redis-server on a free loopback port: yields (url, "") or (None, why not)."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None, "skipped: redis-server not found on PATH"
        return
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmp, open(log, "w") as out:
        args = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            tmp,
        ]
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 10
            while not _redis_ready(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    yield None, f"skipped: redis-server did not start (see {log})"
                    return
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0", ""
        finally:
            _stop(proc)
