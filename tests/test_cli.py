"""The command line as a person uses it: ``rawclaude ...`` run as a subprocess.

Every command runs with ``--fake`` (an embedded fake server: no key, no
network), except the error cases, which point the real code path at a fake
server process that refuses the key.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

CLI = [sys.executable, "-m", "rawclaude"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "RAWCLAUDE_"))}
    env.update(extra)
    return env


def run(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(**env),
        timeout=60,
        stdin=subprocess.DEVNULL if stdin is None else None,
    )


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr


def test_ask_streams_the_answer_and_reports_on_stderr() -> None:
    result = run("ask", "--fake", "hello there")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello there\n"
    assert "tokens: " in result.stderr and " in, 2 out" in result.stderr
    assert "request: req_" in result.stderr
    assert "\x1b[" not in result.stderr + result.stdout  # not a terminal: no colour


def test_ask_reads_the_prompt_from_stdin() -> None:
    result = run("ask", "--fake", stdin="a prompt\nfrom a pipe\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a prompt\nfrom a pipe\n"


def test_ask_json_prints_the_final_message() -> None:
    result = run("ask", "--fake", "--json", "--model", "claude-haiku-4-5-20251001", "hi")
    assert result.returncode == 0, result.stderr
    message = json.loads(result.stdout)
    assert message["type"] == "message" and message["model"] == "claude-haiku-4-5-20251001"
    assert message["content"][0]["text"] == "hi"
    assert message["usage"]["output_tokens"] == 1


def test_ask_text_arrives_before_the_answer_ends() -> None:
    words = " ".join(f"w{i}" for i in range(12))
    proc = subprocess.Popen(
        [*CLI, "ask", "--fake", "--fake-delay", "0.25", words],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.read(2)  # blocks until the first delta is written
        assert first == b"w0"
        assert proc.poll() is None  # ... while the rest is still coming
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()
    assert (first + rest).decode() == words + "\n"


def test_ctrl_c_during_ask_exits_130_quietly() -> None:
    proc = subprocess.Popen(
        [*CLI, "ask", "--fake", "--fake-delay", "0.3", "a b c d e f g h i j"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=_env(),
    )
    assert proc.stdout is not None
    assert proc.stdout.read(1) == b"a"  # the answer is streaming
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err == b"rawclaude: interrupted\n"


def test_reader_going_away_exits_141_quietly() -> None:
    proc = subprocess.Popen(
        [*CLI, "ask", "--fake", "--fake-delay", "0.05", " ".join(map(str, range(200)))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(2) == b"0 "
    proc.stdout.close()  # as `| head -c 2` does
    assert proc.wait(timeout=60) == 141
    assert proc.stderr.read() == b""


def test_system_prompt_and_count() -> None:
    plain = run("count", "--fake", "how many tokens")
    with_system = run("count", "--fake", "--system", "You are terse. " * 10, "how many tokens")
    assert plain.returncode == with_system.returncode == 0
    assert int(with_system.stdout) > int(plain.stdout) > 0


def test_models_lists_ids_and_names() -> None:
    result = run("models", "--fake")
    assert result.returncode == 0, result.stderr
    assert "claude-sonnet-4-6" in result.stdout and "Claude Sonnet 4.6" in result.stdout
    as_json = run("models", "--fake", "--json")
    assert {m["id"] for m in json.loads(as_json.stdout)} >= {"claude-sonnet-4-6"}


def test_no_key_and_no_fake_names_both_ways_out() -> None:
    result = run("ask", "hi")
    assert result.returncode == 2
    assert "ANTHROPIC_API_KEY" in result.stderr and "--fake" in result.stderr
    _no_traceback(result)


@pytest.mark.parametrize(
    "args",
    [("ask", "--fake", "--max-tokens", "0", "hi"), ("nope",), ("ask", "--fake", "--bogus", "x")],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr
    _no_traceback(result)


def test_empty_prompt_is_a_usage_error() -> None:
    result = run("ask", "--fake", stdin="  \n")
    assert result.returncode == 2 and "empty" in result.stderr
    _no_traceback(result)


@pytest.fixture(scope="module")
def strict_server() -> Iterator[str]:
    """A fake API in its own process that accepts one key only."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rawclaude.testing", "--port", "0", "--api-key", "sk-ant-right"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("command", [("ask", "hi"), ("count", "hi"), ("models",)])
def test_api_error_exits_1_with_class_and_message(
    strict_server: str, command: tuple[str, ...]
) -> None:
    secret = "sk-ant-wrong-secret"
    result = run(*command, ANTHROPIC_API_KEY=secret, ANTHROPIC_BASE_URL=strict_server)
    assert result.returncode == 1
    assert result.stderr.startswith("rawclaude: AuthenticationError: ")
    assert "request_id=req_" in result.stderr
    assert secret not in result.stderr + result.stdout
    _no_traceback(result)


def test_the_real_api_path_works_with_a_key(strict_server: str) -> None:
    result = run("ask", "hi", ANTHROPIC_API_KEY="sk-ant-right", ANTHROPIC_BASE_URL=strict_server)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi\n"


def test_console_script_is_installed() -> None:
    script = os.path.join(os.path.dirname(sys.executable), "rawclaude")
    result = subprocess.run(
        [script, "--version"], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert result.returncode == 0 and result.stdout.startswith("rawclaude ")


def test_import_rawclaude_loads_no_cli() -> None:
    code = (
        "import sys, rawclaude\n"
        "print(sorted(m for m in sys.modules if m in {'argparse', 'rawclaude.cli'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]"
