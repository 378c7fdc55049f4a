"""``python -m bench.results_server --port 0``: serves pre-built batch results.

The batch cases need results bodies the fake server cannot make (realistic
classifications, a 4 MiB line) at sizes where building a batch first would
measure the wrong thing. This server answers the two requests every client's
``results()`` makes, as the API does ("Retrieve a Message Batch", "Retrieve
Message Batch results"):

* ``GET /v1/messages/batches/{id}``: an ended batch whose ``results_url``
  points back here;
* ``GET /v1/messages/batches/{id}/results``: the JSONL body, written in 64 KiB
  HTTP chunks;
* ``POST /v1/messages/batches`` and ``POST /v1/files``: the body is read,
  checked (the batch's JSON parsed, the upload's bytes counted) and dropped,
  so the upload and ``create_many`` cases measure the client, not a server
  that keeps hundreds of MB.

The batch id names the body: ``msgbatch_n{count}`` is ``count`` realistic
results (bench/batch_payload.py); ``msgbatch_line{size}`` is one line of
``size`` bytes. Bodies are built once and kept. It prints its base URL once
it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys

import orjson
from aiohttp import BodyPartReader, web

from .batch_payload import one_line_body, results_body

WRITE = 64 * 1024
_BODIES: dict[str, bytes] = {}


def body_for(batch_id: str) -> bytes | None:
    if batch_id not in _BODIES:
        kind = batch_id.removeprefix("msgbatch_")
        if kind.startswith("n") and kind[1:].isdigit():
            _BODIES[batch_id] = results_body(int(kind[1:]))
        elif kind.startswith("line") and kind[4:].isdigit():
            _BODIES[batch_id] = one_line_body(int(kind[4:]))
        else:
            return None
    return _BODIES[batch_id]


def batch_json(batch_id: str, base: str, count: int, *, ended: bool = True) -> dict[str, object]:
    when = "2026-12-01T00:00:00.000000Z"
    done, left = (count, 0) if ended else (0, count)
    return {
        "id": batch_id,
        "type": "message_batch",
        "processing_status": "ended" if ended else "in_progress",
        "request_counts": {
            "processing": left,
            "succeeded": done,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        },
        "created_at": when,
        "expires_at": when,
        "ended_at": when if ended else None,
        "cancel_initiated_at": None,
        "archived_at": None,
        "results_url": f"{base}/v1/messages/batches/{batch_id}/results" if ended else None,
    }


async def get_batch(request: web.Request) -> web.Response:
    batch_id = request.match_info["batch_id"]
    body = body_for(batch_id)
    if body is None:
        raise web.HTTPNotFound()
    payload = batch_json(batch_id, str(request.url.origin()), body.count(b"\n"))
    return web.Response(body=orjson.dumps(payload), content_type="application/json")


async def get_results(request: web.Request) -> web.StreamResponse:
    body = body_for(request.match_info["batch_id"])
    if body is None:
        raise web.HTTPNotFound()
    response = web.StreamResponse(headers={"Content-Type": "application/x-jsonl"})
    await response.prepare(request)
    view = memoryview(body)
    try:
        for start in range(0, len(view), WRITE):
            await response.write(view[start : start + WRITE])
        await response.write_eof()
    except ConnectionError:
        pass  # a client that stops reading early (break) is allowed to
    return response


async def create_batch(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    count = len(body["requests"])
    payload = batch_json(f"msgbatch_made{count}", str(request.url.origin()), count, ended=False)
    return web.Response(body=orjson.dumps(payload), content_type="application/json")


async def upload_file(request: web.Request) -> web.Response:
    reader = await request.multipart()
    part = await reader.next()
    if not isinstance(part, BodyPartReader) or part.name != "file":
        raise web.HTTPBadRequest()
    size = 0
    while chunk := await part.read_chunk(WRITE):
        size += len(chunk)
    meta = {
        "id": "file_bench",
        "type": "file",
        "filename": part.filename or "file",
        "mime_type": part.headers.get("Content-Type", "application/octet-stream"),
        "size_bytes": size,
        "created_at": "2026-12-01T00:00:00.000000Z",
        "downloadable": False,
    }
    return web.Response(body=orjson.dumps(meta), content_type="application/json")


def app() -> web.Application:
    application = web.Application(client_max_size=1024**3)
    application.router.add_post("/v1/messages/batches", create_batch)
    application.router.add_post("/v1/files", upload_file)
    application.router.add_get("/v1/messages/batches/{batch_id}", get_batch)
    application.router.add_get("/v1/messages/batches/{batch_id}/results", get_results)
    return application


async def serve(port: int) -> None:
    runner = web.AppRunner(app(), access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    await web.SockSite(runner, sock).start()
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.results_server")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
