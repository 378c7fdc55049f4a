"""``python -m rawclaude.testing``: run the fake Claude API until Ctrl-C or SIGTERM.

Prints the base URL on one line (flushed) once it listens, so a parent process
can read it, e.g. a benchmark that starts the server in its own process::

    python -m rawclaude.testing --port 0 --deltas 50000 --delta-text "tok "

Per-request ``x-fake-*`` headers can still override the default reply (listed
below), so one process serves many benchmark cases.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from . import _overrides
from ._ratelimit import RateLimit
from ._reply import Reply


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rawclaude.testing",
        description=__doc__,
        epilog=_overrides.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    add("--deltas", type=int, help="default reply: this many text deltas instead of the echo")
    add("--delta-text", default="hello ", help="text of each delta (default 'hello ')")
    add("--delay", type=float, default=0.0, help="seconds before the response headers")
    add("--first-event-delay", type=float, default=0.0, help="seconds before the first event")
    add("--event-delay", type=float, default=0.0, help="seconds between two events")
    add("--no-auth", action="store_true", help="accept requests without credentials")
    add("--api-key", help="accept only this API key / bearer token")
    add("--record", action="store_true", help="keep a log of requests (grows without bound)")
    for bucket in ("requests", "tokens", "input-tokens", "output-tokens"):
        add(f"--ratelimit-{bucket}", type=int, help=f"send anthropic-ratelimit-{bucket}-* headers")
    add("--ratelimit-window", type=float, default=60.0, help="seconds until buckets refill")
    add("--ratelimit-enforce", action="store_true", help="answer 429 once a bucket is empty")
    return parser


def _default_reply(args: argparse.Namespace) -> Reply:
    if args.deltas is None:
        reply = Reply.echo()
    else:
        reply = Reply.text(deltas=[args.delta_text] * args.deltas)
    return reply.with_delays(
        response=args.delay, first_event=args.first_event_delay, between_events=args.event_delay
    )


def _ratelimit(args: argparse.Namespace) -> RateLimit | None:
    limits = (
        args.ratelimit_requests,
        args.ratelimit_tokens,
        args.ratelimit_input_tokens,
        args.ratelimit_output_tokens,
    )
    if all(limit is None for limit in limits):
        return None
    return RateLimit(*limits, window=args.ratelimit_window, enforce=args.ratelimit_enforce)


async def _serve(args: argparse.Namespace) -> None:
    from ._server import FakeServer

    server = FakeServer(
        host=args.host,
        port=args.port,
        ratelimit=_ratelimit(args),
        require_auth=not args.no_auth,
        api_key=args.api_key,
        default_reply=_default_reply(args),
        delta_text=args.delta_text,
        record=args.record,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Windows has no add_signal_handler: Ctrl-C raises KeyboardInterrupt instead.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with server:
        print(server.base_url, flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.deltas is not None and args.deltas < 0:
        parser.error("--deltas must be >= 0")
    if min(args.delay, args.first_event_delay, args.event_delay) < 0:
        parser.error("delays must be >= 0")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
