"""14. Upload of a large file: peak RSS growth while it streams from disk.

rawclaude reads the file in 1 MiB pieces inside the multipart body; the goal
is that a 200 MB upload grows the process by at most 16 MiB. The SDK's
``files.upload`` is measured beside it. The bench server reads the upload and
drops it (bench/results_server.py).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import rss
from ..clients import API_KEY
from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult

MIB = 1024 * 1024


def params(cfg: Config) -> Params:
    return {"mib": cfg.upload_mib}


def _make_file(directory: str, mib: int) -> Path:
    path = Path(directory) / "upload.bin"
    block = os.urandom(MIB)
    with open(path, "wb") as out:
        for _ in range(mib):
            out.write(block)
    return path


async def _upload(client: str, base_url: str, path: Path) -> tuple[float, int, int]:
    """(seconds, size the server saw, peak RSS growth KiB) of one upload."""
    uploader: Any
    if client == "rawclaude":
        import rawclaude

        uploader = rawclaude.Client(API_KEY, base_url=base_url, max_retries=0)

        async def send(p: Path) -> int:
            return (await uploader.files.upload(p)).size_bytes  # type: ignore[no-any-return]
    else:
        import anthropic

        uploader = anthropic.AsyncAnthropic(api_key=API_KEY, base_url=base_url, max_retries=0)

        async def send(p: Path) -> int:
            return (await uploader.files.upload(file=p)).size_bytes  # type: ignore[no-any-return]

    try:
        small = path.with_name("warm.bin")
        small.write_bytes(b"warm" * 1024)
        await send(small)
        before = rss.reset_peak()
        start = time.perf_counter()
        size = await send(path)
        seconds = time.perf_counter() - start
        growth = rss.peak_kib() - before
    finally:
        await uploader.close()
    return seconds, size, growth


def run(client: str, p: Params) -> WorkerResult:
    with tempfile.TemporaryDirectory(prefix="rawclaude-bench-") as directory:
        path = _make_file(directory, p["mib"])
        seconds, size, growth = asyncio.run(_upload(client, p["base_url"], path))
    if size != p["mib"] * MIB:
        raise AssertionError(f"{client}: the server got {size} bytes, not {p['mib']} MiB")
    metrics = {"rss_growth_mib": growth / 1024, "mib_per_s": p["mib"] / seconds}
    return {"metrics": metrics, "info": {"mib": p["mib"]}}


METRICS = (
    Metric("rss_growth_mib", "peak RSS growth during the upload", "MiB", False),
    Metric("mib_per_s", "upload throughput", "MiB/s", True),
)

CASE = Case(
    name="upload",
    title="14. Upload of a 200 MB file",
    metrics=lambda cfg: METRICS,
    params=params,
    run=run,
    clients=("rawclaude", "sdk"),
    needs="results",
    notes=(
        "A file of random bytes on disk, uploaded by path to the bench server (which counts "
        "and drops it); peak RSS growth from a VmHWM reset just before the upload."
    ),
)
