"""``rawclaude chat`` in a real terminal: tmux runs it, we type and read the screen.

The fake server answers slowly (``--fake-delay``), so Ctrl-C lands mid-answer.
Every wait is for something to appear on the screen, with a deadline.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None,
    reason="tmux is not installed (apt-get install tmux; .ci/run installs it)",
)

DEADLINE = 30.0
WORDS = " ".join(f"word{i}" for i in range(40))


class Terminal:
    """One tmux session on its own server socket (nothing shared with a user's tmux)."""

    def __init__(self, command: str, tmp: Path) -> None:
        self.socket = f"rawclaude-test-{os.getpid()}-{id(self)}"
        self.status = tmp / "status"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "TMUX"))}
        shell = f"{command}; echo $? > {shlex.quote(str(self.status))}; sleep 60"
        self._tmux("new-session", "-d", "-x", "120", "-y", "50", shell, env=env)

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=True,
        )
        return result.stdout

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-l", text)
        self._tmux("send-keys", "Enter")

    def screen(self) -> str:
        # Without the blank rows below the cursor, so offsets into it stay valid.
        lines = self._tmux("capture-pane", "-p", "-S", "-200").split("\n")
        return "\n".join(line.rstrip() for line in lines).rstrip("\n")

    def wait_for(self, pattern: str, *, after: int = 0) -> str:
        """The screen, once ``pattern`` (a regex) shows past character ``after``."""
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            screen = self.screen()
            if re.search(pattern, screen[after:]):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} never showed; the screen:\n{self.screen()}")

    def exit_status(self) -> int:
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if self.status.exists() and self.status.read_text().strip():
                return int(self.status.read_text())
            time.sleep(0.05)
        raise AssertionError(f"the chat never left; the screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    command = f"{shlex.quote(sys.executable)} -m rawclaude chat --fake --fake-delay 0.2"
    term = Terminal(command, tmp_path)
    try:
        yield term
    finally:
        term.close()


def _input_tokens(summary: str) -> int:
    match = re.search(r"tokens: (\d+) in", summary)
    assert match, summary
    return int(match.group(1))


def test_chat_ctrl_c_stops_an_answer_history_is_kept_ctrl_d_leaves(terminal: Terminal) -> None:
    terminal.wait_for(r"Ctrl-D leaves")
    terminal.type(WORDS)
    # The echo arrives word by word, 0.2 s apart: stop it after a few words.
    terminal.wait_for(r"\nword0 word1 word2")
    terminal.keys("C-c")
    screen = terminal.wait_for(r"\[stopped\]")
    answer = screen.split("\n")[screen.split("\n").index("[stopped]") - 1]
    assert answer.startswith("word0 word1 word2") and "word39" not in answer

    # Still in the chat: the next question is answered, with the history sent along.
    mark = len(screen)
    terminal.type("second question")
    screen = terminal.wait_for(r"tokens: \d+ in", after=mark)
    assert "\nsecond question\n" in screen[mark:]
    alone = subprocess.run(
        [sys.executable, "-m", "rawclaude", "count", "--fake", "second question"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert _input_tokens(screen[mark:]) > int(alone.stdout) + len(WORDS) // 8

    # Ctrl-C at the prompt does not leave; Ctrl-D does, with status 0.
    terminal.keys("C-c")
    terminal.type("third")
    screen = terminal.wait_for(r"\nthird\n", after=mark)
    terminal.wait_for(r"tokens: \d+ in[^\n]*\n(.|\n)*tokens: \d+ in", after=mark)
    terminal.keys("C-d")
    assert terminal.exit_status() == 0
    assert "Traceback" not in terminal.screen()
