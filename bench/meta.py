"""What was compared, on what: versions, machine, command line."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from typing import Any

PACKAGES = (
    "rawclaude",
    "aiohttp",
    "msgspec",
    "orjson",
    "anthropic",
    "httpx",
    "httpx2",
    "pydantic",
    "redis",
)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["redis-server"] = _redis_server_version()
    return found


def _redis_server_version() -> str:
    try:
        out = subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "not found"
    words = [w for w in out.split() if w.startswith("v=")]
    return words[0][2:] if words else out.strip() or "unknown"


def _first(path: str, prefix: str) -> str:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1]
    except OSError:
        pass
    return "unknown"


def machine() -> dict[str, Any]:
    mem_kb = _first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cpu": _first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "ram_gib": round(int(mem_kb) / 1024**2, 1) if mem_kb.isdigit() else "unknown",
        "os": _first("/etc/os-release", "PRETTY_NAME=").strip().strip('"'),
        "kernel": platform.release(),
        "python_build": sys.version.replace("\n", " "),
    }


def command_line() -> str:
    return "python -m bench " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "python -m bench"


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []
