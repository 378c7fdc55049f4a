"""``rawclaude batch submit | status | wait | results``: the Message Batches API.

A request file is JSON Lines, one batch request a line, as the API takes them:
``{"custom_id": "q1", "params": {"model": ..., "max_tokens": ..., "messages": [...]}}``.
It is read lazily and split into as many batches as the limits require (100,000
requests or 256 MB each; ``client.messages.batches.create_many``). Results are
written as JSON Lines too, in the API's shape, in no fixed order (match them by
``custom_id``).

With ``--fake`` a batch lives in the embedded fake server, so only as long as
the command: ``batch submit --fake FILE --wait --out results.jsonl`` does the
whole round trip in one go.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import msgspec

from ..wire.errors import ConfigurationError
from ._session import open_client
from ._term import Painter, stderr_painter

if TYPE_CHECKING:
    from .. import Client
    from ..wire.batches import MessageBatch, MessageBatchRequestCounts

__all__ = ["add_batch_commands", "run_batch"]

_JSON = msgspec.json.Encoder()
_LINE = msgspec.json.Decoder()
_COUNTS = ("succeeded", "errored", "canceled", "expired")


def add_batch_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    batch = commands.add_parser("batch", help="Message Batches: submit, status, wait, results")
    sub = batch.add_subparsers(dest="batch_command", metavar="ACTION", required=True)
    poll = argparse.ArgumentParser(add_help=False)
    poll.add_argument(
        "--poll",
        type=float,
        metavar="SECONDS",
        help="seconds between status checks (default 10; 0.2 with --fake)",
    )
    poll.add_argument("--timeout", type=float, metavar="SECONDS", help="give up after this long")

    submit = sub.add_parser(
        "submit", parents=[common, poll], help="submit a JSONL file of batch requests"
    )
    submit.add_argument("file", help="JSONL of {custom_id, params} requests ('-': stdin)")
    submit.add_argument("--wait", action="store_true", help="then wait for the batches to end")
    submit.add_argument("--out", help="with --wait: write every result to this JSONL file")
    submit.add_argument(
        "--max-requests",
        type=int,
        metavar="N",
        help="at most N requests per batch (default: the API's 100,000)",
    )

    status = sub.add_parser("status", parents=[common], help="a batch's status and counts")
    status.add_argument("id")
    status.add_argument("--json", action="store_true", help="print the batch object as JSON")

    wait = sub.add_parser(
        "wait", parents=[common, poll], help="wait for a batch to end, with its progress"
    )
    wait.add_argument("id")

    results = sub.add_parser("results", parents=[common], help="write a batch's results as JSONL")
    results.add_argument("id")
    results.add_argument("--out", default="-", help="JSONL file to write ('-': stdout, default)")


async def run_batch(args: argparse.Namespace) -> int:
    if getattr(args, "out", None) and args.batch_command == "submit" and not args.wait:
        raise ConfigurationError("--out needs --wait (results exist once a batch has ended)")
    async with open_client(args) as client:
        batches = client.messages.batches
        if args.batch_command == "status":
            batch = await batches.retrieve(args.id)
            sys.stdout.write(_JSON.encode(batch).decode() if args.json else _status(batch))
            sys.stdout.write("\n")
            return 0
        if args.batch_command == "results":
            await _write_results(client, [args.id], args.out)
            return 0
        if args.batch_command == "wait":
            batch = await _wait(client, args.id, args)
            sys.stdout.write(_status(batch) + "\n")
            return 0
        return await _submit(client, args)


async def _submit(client: Client, args: argparse.Namespace) -> int:
    err = stderr_painter()
    lines = _Requests(args.file)
    try:
        limits = {} if args.max_requests is None else {"max_requests": args.max_requests}
        created = await client.messages.batches.create_many(lines, **limits)
    except ConfigurationError as exc:
        already = getattr(exc, "created_batches", None)
        if already:  # submitted before the bad line: processed and billed
            err.line("already submitted: " + " ".join(b.id for b in already))
        raise
    finally:
        lines.close()
    if not lines.count:
        raise ConfigurationError(f"no requests in {lines.path} (one JSON request a line)")
    for batch in created:
        sys.stdout.write(batch.id + "\n")
    sys.stdout.flush()
    err.line(f"submitted {lines.count} requests as {len(created)} batch(es)")
    if args.wait:
        for batch in created:
            ended = await _wait(client, batch.id, args)
            err.line(_status(ended))
        if args.out:
            await _write_results(client, [b.id for b in created], args.out)
    return 0


class _Requests:
    """The request lines of a JSONL file, read lazily; mistakes name their line."""

    def __init__(self, path: str) -> None:
        try:
            self._file: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
        self.path = "stdin" if path == "-" else path
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for number, line in enumerate(self._file, 1):
            if not line.strip():
                continue
            try:
                request = _LINE.decode(line)
            except msgspec.DecodeError as exc:
                raise ConfigurationError(f"{self.path} line {number}: not JSON ({exc})") from None
            self.count += 1
            yield request

    def close(self) -> None:
        if self._file is not sys.stdin.buffer:
            self._file.close()


async def _wait(client: Client, batch_id: str, args: argparse.Namespace) -> MessageBatch:
    poll = args.poll if args.poll is not None else (0.2 if args.fake else 10.0)
    progress = _Progress(stderr_painter(), batch_id)
    try:
        return await client.messages.batches.wait(
            batch_id, poll_interval=poll, timeout=args.timeout, on_progress=progress.show
        )
    finally:
        progress.end()


class _Progress:
    """A live bar of the request counts on a terminal; a line per change elsewhere."""

    WIDTH = 30

    def __init__(self, painter: Painter, batch_id: str) -> None:
        self._painter = painter
        self._id = batch_id
        self._last = ""
        self._drawn = 0

    def show(self, batch: MessageBatch) -> None:
        text = _counts(batch.request_counts)
        if text == self._last and batch.processing_status != "ended":
            return
        self._last = text
        if not self._painter.tty:
            self._painter.line(f"{self._id}: {batch.processing_status}, {text}")
            return
        counts = batch.request_counts
        done = counts.total - counts.processing
        filled = round(self.WIDTH * done / counts.total) if counts.total else 0
        bar = "█" * filled + "░" * (self.WIDTH - filled)
        line = f"{self._id} [{bar}] {done}/{counts.total}  {text}"
        stream = self._painter.stream
        stream.write("\r" + line.ljust(self._drawn))
        stream.flush()
        self._drawn = len(line)

    def end(self) -> None:
        if self._drawn:
            self._painter.stream.write("\n")
            self._painter.stream.flush()


async def _write_results(client: Client, batch_ids: list[str], out: str) -> None:
    tally = dict.fromkeys(_COUNTS, 0)
    with _output(out) as sink:
        for batch_id in batch_ids:
            async with client.messages.batches.results(batch_id) as results:
                async for result in results:
                    sink.write(_JSON.encode(result) + b"\n")
                    kind = result.type
                    tally[kind] = tally.get(kind, 0) + 1
    err = stderr_painter()
    total = sum(tally.values())
    where = "" if out == "-" else f" to {out}"
    err.line(f"{total} results{where}: " + ", ".join(f"{k} {v}" for k, v in tally.items()))


@contextlib.contextmanager
def _output(path: str) -> Iterator[IO[bytes]]:
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    try:
        sink = open(path, "wb")  # noqa: SIM115
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror}") from None
    with sink:
        yield sink


def _counts(counts: MessageBatchRequestCounts) -> str:
    parts = [f"processing {counts.processing}"] if counts.processing else []
    parts += [f"{k} {getattr(counts, k)}" for k in _COUNTS if getattr(counts, k)]
    return ", ".join(parts) or "no requests"


def _status(batch: MessageBatch) -> str:
    return f"{batch.id}  {batch.processing_status}  {_counts(batch.request_counts)}"
