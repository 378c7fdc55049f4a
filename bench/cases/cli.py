"""16. ``rawclaude ask`` end to end: process start to the answer's last byte.

Against the same fake server process: the ``rawclaude`` console script, and the
official SDK in the 10-line script a person would write (``SDK_SCRIPT``); the
baseline is a Python process that prints the same text. rawclaude also runs
with ``--fake`` (its own embedded fake server: what a first try on a fresh
machine costs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult

SDK_SCRIPT = """\
import sys
import anthropic

client = anthropic.Anthropic()  # ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL
messages = [{"role": "user", "content": sys.argv[1]}]
with client.messages.stream(model="claude-sonnet-4-6", max_tokens=4096, messages=messages) as s:
    for text in s.text_stream:
        print(text, end="", flush=True)
print()
"""
BASELINE = "import sys; print(sys.argv[1], flush=True)"


def _rawclaude() -> list[str]:
    script = Path(sys.executable).with_name("rawclaude")
    return [str(script)] if script.exists() else [sys.executable, "-m", "rawclaude"]


def _commands(client: str) -> dict[str, list[str]]:
    if client == "rawclaude":
        return {"": [*_rawclaude(), "ask"], "fake_": [*_rawclaude(), "ask", "--fake"]}
    if client == "sdk":
        return {"": [sys.executable, "-c", SDK_SCRIPT]}
    return {"": [sys.executable, "-c", BASELINE]}


def _launch(command: list[str], prompt: str, env: dict[str, str]) -> tuple[float, float]:
    """(seconds to the answer's last byte on stdout, seconds to exit) of one launch."""
    want = (prompt + "\n").encode()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*command, prompt],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdout is not None
    got = b""
    while len(got) < len(want):
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        got += chunk
    last_byte = time.perf_counter() - start
    proc.stdout.close()
    code = proc.wait()
    exited = time.perf_counter() - start
    if code != 0 or got != want:
        raise RuntimeError(f"{command[:2]} exited {code} with {got[:80]!r}")
    return last_byte, exited


def run(client: str, p: Params) -> WorkerResult:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(ANTHROPIC_API_KEY="sk-bench-dummy", ANTHROPIC_BASE_URL=p["base_url"])
    prompt = " ".join(f"word{i}" for i in range(p["words"]))
    metrics: dict[str, float] = {}
    for prefix, command in _commands(client).items():
        if p["warmup"]:
            _launch(command, prompt, env)  # bytecode and the OS file cache
        runs = [_launch(command, prompt, env) for _ in range(p["launches"])]
        # The fastest launch of each: a shared machine's noise only ever adds.
        metrics[f"{prefix}last_byte_ms"] = min(r[0] for r in runs) * 1e3
        metrics[f"{prefix}exit_ms"] = min(r[1] for r in runs) * 1e3
    return {"metrics": metrics}


def params(cfg: Config) -> Params:
    return {"launches": cfg.cli_launches, "words": cfg.cli_words, "warmup": cfg.import_warmup}


METRICS = (
    Metric("last_byte_ms", "process start to the answer's last byte", "ms", False),
    Metric("exit_ms", "process start to exit", "ms", False),
    Metric("fake_last_byte_ms", "rawclaude ask --fake: start to last byte", "ms", False),
    Metric("fake_exit_ms", "rawclaude ask --fake: start to exit", "ms", False),
)

CASE = Case(
    name="cli",
    title="16. Command line: ask, end to end",
    metrics=lambda cfg: METRICS,
    params=params,
    run=run,
    clients=("rawclaude", "sdk", "baseline"),
    needs="server",
    notes=(
        "One prompt of N words, echoed back by the fake server as N text deltas. rawclaude = "
        "the `rawclaude ask PROMPT` console script; SDK = the 10-line script in "
        "bench/cases/cli.py (anthropic.Anthropic, messages.stream, print each text); "
        "baseline = `python -c` printing the prompt. Each against the same fake server "
        "process; `--fake` rows start rawclaude's embedded fake server instead. Wall time "
        "from Popen to the last byte of the answer read from stdout, and to exit; the "
        "fastest of several launches per worker (the first one untimed), median over rounds."
    ),
)
