"""6. Import time (whole ``python -c`` process, wall clock) and RSS after import + client.

Launched with ``-I`` (isolated: no PYTHON* variables, no current directory on the
path), so ``PYTHONDONTWRITEBYTECODE`` in the environment cannot leave one package
without bytecode caches: the first round's untimed launch writes any missing.
Each round is one launch per client (rounds interleave the clients), so a
round's rawclaude and floor launches are seconds apart and pair well.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time

from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult

_RSS = "\n    print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmRSS')))"
IMPORTS = {
    "rawclaude": "import rawclaude",
    "sdk": "import anthropic",
    "floor": "import aiohttp, msgspec, orjson",
    "baseline": "pass",
}
_URL = "'http://127.0.0.1:9'"
MAKE_CLIENT = {
    "rawclaude": f"c = rawclaude.Client('sk-bench-dummy', base_url={_URL})",
    "sdk": f"c = anthropic.AsyncAnthropic(api_key='sk-bench-dummy', base_url={_URL})",
    "floor": "c = aiohttp.ClientSession()",
    "baseline": "c = None",
}
CLOSE = {"floor": "\n    await c.close()"}
#: Rounds that also launch import + client (RSS is the same every time).
CLIENT_ROUNDS = 2
#: rawclaude's own share: its import timed inside a process that already has the floor's.
OWN_IMPORT = (
    "import time, aiohttp, msgspec, orjson\nt = time.perf_counter()\nimport rawclaude\n"
    "print((time.perf_counter() - t) * 1e3)"
)


def client_code(client: str) -> str:
    """Import, then build the client inside a running loop and print VmRSS (kB)."""
    imports = IMPORTS[client].replace("pass", "import sys")
    return (
        f"{imports}\nimport asyncio\nasync def main():\n    {MAKE_CLIENT[client]}"
        f"{_RSS}{CLOSE.get(client, '')}\nasyncio.run(main())\n"
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _launch(code: str, cwd: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of one ``python -I -c code``."""
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - start, _children_cpu() - cpu, done.stdout


def run(client: str, p: Params) -> WorkerResult:
    metrics: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as cwd:
        if p["round"] == 0 and p["warmup"]:  # bytecode and the OS file cache
            _launch(client_code(client), cwd)
        if p["round"] < CLIENT_ROUNDS:
            wall, _, out = _launch(client_code(client), cwd)
            metrics["client_ms"] = wall * 1e3
            metrics["rss_mib"] = int(out.split()[-1]) / 1024
        wall, cpu, _ = _launch(IMPORTS[client], cwd)
        if client == "rawclaude":
            metrics["own_import_ms"] = float(_launch(OWN_IMPORT, cwd)[2])
        if client in ("rawclaude", "sdk"):
            metrics["import_vs_floor_ms"] = _paired_with_floor(client, cwd) * 1e3
    metrics["import_ms"] = wall * 1e3
    metrics["import_cpu_ms"] = cpu * 1e3
    return {"metrics": metrics}


#: Launches of the client and of the floor, alternated, for the paired difference.
PAIRS = 5


def _paired_with_floor(client: str, cwd: str) -> float:
    """Fastest launch of ``import client`` minus fastest of the floor's, alternated.

    Launch times drift by tens of milliseconds from one second to the next on
    a shared machine; alternating the two in one worker and keeping each
    one's fastest launch (drift only adds) isolates the difference.
    """
    mine, floor = [], []
    for _ in range(PAIRS):
        mine.append(_launch(IMPORTS[client], cwd)[0])
        floor.append(_launch(IMPORTS["floor"], cwd)[0])
    return min(mine) - min(floor)


def params(cfg: Config) -> Params:
    return {"warmup": cfg.import_warmup}


METRICS = (
    Metric("import_ms", "python -c 'import X' wall", "ms", False),
    Metric("import_cpu_ms", "python -c 'import X' CPU (user+sys)", "ms", False),
    Metric("own_import_ms", "import rawclaude after the floor's 3 (in-process timer)", "ms", False),
    Metric("import_vs_floor_ms", "import X minus the floor's, alternated, fastest", "ms", False),
    Metric("client_ms", "import + client, wall", "ms", False),
    Metric("rss_mib", "RSS after import + client", "MiB", False),
)

CASE = Case(
    name="import",
    title="6. Import time and memory",
    metrics=lambda cfg: METRICS,
    params=params,
    run=run,
    clients=("rawclaude", "sdk", "floor", "baseline"),
    reps=lambda cfg: cfg.import_rounds,
    notes=(
        "Whole-process wall time of `python -I -c CODE`, nothing subtracted, one launch per "
        "client per round (median over rounds); CPU = the child's user+system time. "
        "'baseline' is `python -c pass`. import X: rawclaude = `import rawclaude`, SDK = "
        "`import anthropic`, floor = `import aiohttp, msgspec, orjson`. Client (first "
        f"{CLIENT_ROUNDS} rounds): rawclaude.Client(...), anthropic.AsyncAnthropic(...), "
        "aiohttp.ClientSession(), each built inside asyncio.run(); RSS = VmRSS read right "
        "after. The first round starts with one untimed launch (bytecode, file cache). "
        "'import rawclaude after the floor's 3': a process imports aiohttp, msgspec and "
        "orjson, then times `import rawclaude` with perf_counter: rawclaude's own share, "
        "far less noisy than the difference of two ~300 ms process times."
    ),
)
