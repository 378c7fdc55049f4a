"""Instructions per request with the production pieces on: ``python -m bench.instructions``.

The CPU-time cases (``production``, ``python -m bench.production``) swing by tens
of percent on a shared machine; this one does not. Each configuration runs
``create`` at concurrency 64 against the fake server (its own process, not
counted) in a fresh process under ``valgrind --tool=callgrind``, twice: with
``--n1`` and with ``--n2`` requests after the same warm-up, and the difference of
the two instruction counts over ``n2 - n1`` is the client's user-space
instructions per request. The collector is paused during the measured requests
(its runs are rare, large and land unevenly, which would swamp the difference);
kernel time is not counted, so the ratio overstates what the pieces cost in CPU
time. Counts repeat within a few hundred instructions per request against one
server process, but move by up to ~1.5% from one server process to the next (how
its replies fall into reads), so configurations are compared within one run.
``--stages`` adds issue 8's case (a limiter and one no-op hook, bench case 4b).
Needs valgrind (``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import clients, procs
from .cases.stages import _clients as stages_clients
from .production import CONCURRENCY, PIECES, _client

OUT = Path(__file__).parent / "out"


def _make_client(config: str, base_url: str) -> Any:
    if config == "stages":  # issue 8's case: a limiter and one no-op hook
        return stages_clients(base_url)[1]
    on: bool | str = {"none": False, "all": True}.get(config, config)
    return _client(base_url, on)


def _worker(config: str, n: int, base_url: str) -> None:
    async def run() -> None:
        client = _make_client(config, base_url)
        warm = CONCURRENCY * 3
        await asyncio.gather(*(client.messages.create(**clients.BODY) for _ in range(warm)))
        gc.collect()
        gc.disable()
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one() -> None:
            async with gate:
                await client.messages.create(**clients.BODY)

        await asyncio.gather(*(one() for _ in range(n)))
        gc.enable()
        await client.close()

    asyncio.run(run())


def _count(config: str, n: int, base_url: str) -> int:
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
           "-m", "bench.instructions", "--worker", config, str(n), base_url]  # fmt: skip
    # One hash seed for every run: string hashes (and so dict probing) otherwise
    # move the count by thousands of instructions per request from run to run.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        cmd, capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent, env=env
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-500:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n1", type=int, default=200)
    parser.add_argument("--n2", type=int, default=1000)
    parser.add_argument("--pieces", action="store_true", help="also each piece alone")
    parser.add_argument(
        "--stages", action="store_true", help="also a limiter and a no-op hook (bench case 4b)"
    )
    parser.add_argument("--worker", nargs=3, metavar=("CONFIG", "N", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker[0], int(args.worker[1]), args.worker[2])
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind not found (apt-get install valgrind)")
    OUT.mkdir(exist_ok=True)
    configs = ["none", "all", *(PIECES if args.pieces else ())]
    if args.stages:
        configs.append("stages")
    per_request: dict[str, float] = {}
    with procs.fake_server(OUT / "instructions-server.log") as base_url:
        for config in configs:
            low, high = (_count(config, n, base_url) for n in (args.n1, args.n2))
            per_request[config] = (high - low) / (args.n2 - args.n1)
            base = per_request["none"]
            print(f"{config:8s} {per_request[config]:10,.0f} instructions/request  "
                  f"{per_request[config] / base:.3f}x none", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
