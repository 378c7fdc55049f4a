"""The benchmark cases, in the order the suite runs them.

Loaded by name on demand, so a worker imports only its own case's module (the
import-time case must not pay for aiohttp in its parent, nor anything else).
"""

from __future__ import annotations

from importlib import import_module

from ..spec import Case

#: case name -> module in this package, in suite order
MODULES = {
    "inproc": "inproc",
    "stream": "stream",
    "ttft": "ttft",
    "create": "create",
    "stages": "stages",
    "production": "production",
    "many": "many",
    "import": "imports",
    "footprint": "footprint",
    "limiter": "limiter",
    "share": "share",
    "toolinput": "toolinput",
    "agentloop": "agentloop",
    "batch_results": "batch_results",
    "batch_line": "batch_line",
    "upload": "upload",
    "create_many": "create_many",
    "cli": "cli",
    "relay": "relay",
}


def load(name: str) -> Case:
    case: Case = import_module(f"{__name__}.{MODULES[name]}").CASE
    return case


def all_cases() -> list[Case]:
    return [load(name) for name in MODULES]
