"""``rawclaude``, the command line (``python -m rawclaude`` too); see ``rawclaude --help``.

Only ``import rawclaude.cli`` loads this; ``import rawclaude`` never does.
Expected failures end with one line on stderr and an exit status, never a
traceback: 1 for an error from the API (its class and message), 2 for a usage
error (bad arguments, no key, an unreadable file), 130 for Ctrl-C, 141 when
the reader of stdout goes away (``rawclaude ask ... | head``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from ..wire.errors import APIError, ConfigurationError, RawClaudeError
from ._parser import build_parser
from ._term import stderr_painter

__all__ = ["main"]

EXIT_OK, EXIT_API_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 130, 141


def _async_commands() -> dict[str, Callable[[Any], Coroutine[Any, Any, int]]]:
    from . import _commands as c
    from ._batch import run_batch

    return {"ask": c.ask, "count": c.count, "models": c.models, "batch": run_batch}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on a usage error, as argparse does
    err = stderr_painter()
    try:
        if args.command == "chat":
            from ._chat import chat

            return chat(args)
        return asyncio.run(_async_commands()[args.command](args))
    except ConfigurationError as exc:
        err.line(f"rawclaude: error: {exc}")
        return EXIT_USAGE
    except APIError as exc:
        err.line(err.red(f"rawclaude: {type(exc).__name__}: {exc}"))
        return EXIT_API_ERROR
    except RawClaudeError as exc:  # e.g. a shared limiter that cannot be reached
        err.line(f"rawclaude: {type(exc).__name__}: {exc}")
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        err.line("rawclaude: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`rawclaude ask ... | head`): stop quietly, and keep
        # Python from failing again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE  # 128 + SIGPIPE, what a shell reports for a writer killed by it
