"""The ``rawclaude`` command line: its arguments (argparse, stdlib only)."""

from __future__ import annotations

import argparse
import os

__all__ = ["DEFAULT_MAX_TOKENS", "DEFAULT_MODEL", "build_parser"]

#: The model when neither ``--model`` nor ``RAWCLAUDE_MODEL`` says one.
DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_MAX_TOKENS = 4096

_DESCRIPTION = """\
Talk to Claude from a shell, through rawclaude.

  rawclaude ask "Why is the sky blue?"     stream one answer
  echo "text" | rawclaude ask              the prompt from stdin
  rawclaude chat                           a conversation (Ctrl-C stops an answer, Ctrl-D leaves)
  rawclaude count "some text"              input tokens of a prompt
  rawclaude models                         the models your key can use
  rawclaude batch submit requests.jsonl    Message Batches (also: status, wait, results)

The key comes from ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN). Add --fake to any
command to run it against a fake Claude API started in the process: no key, no network.
"""

_EPILOG = """\
exit status: 0 ok, 1 the API answered with an error (its class and message on
stderr), 2 a usage error (arguments, missing key, unreadable file), 130 Ctrl-C,
141 the reader of stdout went away.
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 <= value < 3600:
        raise argparse.ArgumentTypeError(f"must be from 0 to 3600 seconds, got {text}")
    return value


def _common() -> argparse.ArgumentParser:
    """Options every command takes."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--fake",
        action="store_true",
        help="run against a fake Claude API started in this process (no key, no network)",
    )
    return common


def _model_options(*, generation: bool) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    add = options.add_argument
    add(
        "-m",
        "--model",
        default=os.environ.get("RAWCLAUDE_MODEL") or DEFAULT_MODEL,
        help=f"model id (default: $RAWCLAUDE_MODEL or {DEFAULT_MODEL})",
    )
    add("-s", "--system", help="system prompt")
    if generation:
        add(
            "--max-tokens",
            type=_positive_int,
            default=DEFAULT_MAX_TOKENS,
            help=f"most tokens to generate (default {DEFAULT_MAX_TOKENS})",
        )
        add(
            "--fake-delay",
            type=_seconds,
            default=0.0,
            metavar="SECONDS",
            help="with --fake: seconds between streamed events, to watch the text arrive",
        )
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rawclaude",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"rawclaude {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common, generate = _common(), _model_options(generation=True)

    ask = commands.add_parser(
        "ask", parents=[common, generate], help="stream one answer to a prompt"
    )
    ask.add_argument("prompt", nargs="?", help="the prompt (default: read stdin)")
    ask.add_argument("--json", action="store_true", help="print the final message as JSON")

    commands.add_parser(
        "chat", parents=[common, generate], help="an interactive conversation (history kept)"
    )

    count = commands.add_parser(
        "count", parents=[common, _model_options(generation=False)], help="count input tokens"
    )
    count.add_argument("prompt", nargs="?", help="the prompt (default: read stdin)")

    models = commands.add_parser("models", parents=[common], help="list the available models")
    models.add_argument("--json", action="store_true", help="print the model objects as JSON")

    from ._batch import add_batch_commands

    add_batch_commands(commands, common)
    return parser
