"""``rawclaude batch ...`` as subprocesses: with --fake in one command, and across
commands against a fake server process (a batch outlives one command there)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import _no_traceback, run
from test_cli_chat import Terminal

from rawclaude.testing import FakeServer

KEY = "sk-ant-batch-cli"


def _requests(path: Path, n: int) -> Path:
    lines = [
        json.dumps(
            {
                "custom_id": f"q{i}",
                "params": {
                    "model": "claude-haiku-4-5-20251001",
                    "max_tokens": 64,
                    "messages": [{"role": "user", "content": f"question {i}"}],
                },
            }
        )
        for i in range(n)
    ]
    path.write_text("\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:]) + "\n")  # a blank line
    return path


def _results(text: str) -> dict[str, dict[str, object]]:
    return {r["custom_id"]: r["result"] for r in map(json.loads, text.splitlines())}


def test_submit_wait_and_results_in_one_fake_command(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    requests = _requests(tmp_path / "requests.jsonl", 5)
    result = run(
        "batch",
        "submit",
        "--fake",
        str(requests),
        "--max-requests",
        "2",
        "--wait",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    ids = result.stdout.split()
    assert len(ids) == 3 and all(i.startswith("msgbatch_") for i in ids)  # split at 2 requests
    assert "submitted 5 requests as 3 batch(es)" in result.stderr
    assert "ended" in result.stderr  # progress: not a terminal, so a line per change
    assert "5 results to" in result.stderr and "succeeded 5" in result.stderr
    results = _results(out.read_text())
    assert set(results) == {f"q{i}" for i in range(5)}
    assert all(r["type"] == "succeeded" for r in results.values())
    assert results["q3"]["message"]["content"][0]["text"] == "question 3"  # type: ignore[index]


@pytest.fixture(scope="module")
def api() -> Iterator[dict[str, str]]:
    """A fake API process: batches live across commands."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rawclaude.testing", "--port", "0", "--api-key", KEY],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": proc.stdout.readline().strip()}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_submit_status_wait_results_across_commands(api: dict[str, str], tmp_path: Path) -> None:
    submitted = run("batch", "submit", str(_requests(tmp_path / "r.jsonl", 3)), **api)
    assert submitted.returncode == 0, submitted.stderr
    [batch_id] = submitted.stdout.split()

    status = run("batch", "status", batch_id, "--json", **api)
    assert status.returncode == 0, status.stderr
    batch = json.loads(status.stdout)
    assert (
        batch["id"] == batch_id
        and batch["request_counts"]["processing"]
        + sum(batch["request_counts"][k] for k in ("succeeded", "errored", "canceled", "expired"))
        == 3
    )

    waited = run("batch", "wait", batch_id, "--poll", "0.05", **api)
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout == f"{batch_id}  ended  succeeded 3\n"

    results = run("batch", "results", batch_id, **api)
    assert results.returncode == 0, results.stderr
    assert set(_results(results.stdout)) == {"q0", "q1", "q2"}
    assert "3 results: succeeded 3" in results.stderr

    plain = run("batch", "status", batch_id, **api)
    assert plain.stdout == f"{batch_id}  ended  succeeded 3\n"


def test_wait_timeout_exits_1(tmp_path: Path) -> None:
    # A batch that takes an hour: the threaded fake runs beside the test.
    with FakeServer(api_key=KEY, batch_processing_seconds=3600) as server:
        env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": server.base_url}
        submitted = run("batch", "submit", str(_requests(tmp_path / "r.jsonl", 1)), **env)
        [batch_id] = submitted.stdout.split()
        result = run("batch", "wait", batch_id, "--poll", "0.05", "--timeout", "0.3", **env)
    assert result.returncode == 1
    assert "BatchWaitTimeoutError" in result.stderr
    _no_traceback(result)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("not json\n", "stdin line 1: not JSON"),
        ('{"custom_id": "bad id!", "params": {}}\n', "custom_id"),
        ("", "no requests"),
    ],
)
def test_bad_request_files_are_usage_errors(lines: str, expected: str) -> None:
    result = run("batch", "submit", "--fake", "-", stdin=lines)
    assert result.returncode == 2
    assert expected in result.stderr
    _no_traceback(result)


def test_other_usage_errors(tmp_path: Path) -> None:
    missing = run("batch", "submit", "--fake", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    no_wait = run(
        "batch", "submit", "--fake", str(_requests(tmp_path / "r.jsonl", 1)), "--out", "x"
    )
    assert no_wait.returncode == 2 and "--out needs --wait" in no_wait.stderr
    for result in (missing, no_wait):
        _no_traceback(result)


def test_unknown_batch_is_an_api_error() -> None:
    result = run("batch", "status", "--fake", "msgbatch_nope")
    assert result.returncode == 1
    assert result.stderr.startswith("rawclaude: NotFoundError: ")
    _no_traceback(result)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_wait_draws_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    requests = _requests(tmp_path / "r.jsonl", 4)
    command = f"{sys.executable} -m rawclaude batch submit --fake {requests} --wait"
    term = Terminal(command, tmp_path)
    try:
        assert term.exit_status() == 0
        screen = term.screen()
    finally:
        term.close()
    assert "[" + "█" * 30 + "] 4/4  succeeded 4" in screen
    assert "in_progress," not in screen  # no log lines on a terminal: the bar instead
