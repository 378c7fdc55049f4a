"""Files API routes (see ``_files`` for the store and the documented errors).

``POST /v1/files`` (multipart/form-data, a ``file`` part, streamed with a size
cap), ``GET /v1/files``, ``GET /v1/files/{id}``, ``GET /v1/files/{id}/content``,
``DELETE /v1/files/{id}``. The Files API is generally available, so no
``anthropic-beta`` header is needed; one is accepted and ignored.
"""

from __future__ import annotations

import mimetypes
from typing import Any

import orjson
from aiohttp import BodyPartReader, web

from ._checks import ApiError
from ._files import StoredFile
from ._keys import STATE_KEY
from ._respond import error_response, require_context
from ._state import RecordedRequest, mask_headers

_READ_CHUNK = 64 * 1024


def _json(payload: Any) -> web.Response:
    return web.Response(body=orjson.dumps(payload), content_type="application/json")


def _reply(request: web.Request, found: dict[str, Any] | ApiError) -> web.Response:
    if isinstance(found, ApiError):
        return error_response(found, require_context(request).request_id)
    return _json(found)


def _record(request: web.Request, summary: dict[str, Any]) -> None:
    """Record what was uploaded (name, type, size), never the bytes."""
    headers = mask_headers(request.headers)
    entry = RecordedRequest(request.method, request.path, headers, summary, dict(request.query))
    request.app[STATE_KEY].record(entry)


async def _read_part(part: BodyPartReader, limit: int) -> bytes | ApiError:
    """The part's bytes, read in chunks and refused as soon as they pass ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            return ApiError(413, "request_too_large", f"File exceeds the maximum of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _file_part(request: web.Request) -> tuple[BodyPartReader, str] | ApiError:
    if request.content_type != "multipart/form-data":
        return ApiError(400, "invalid_request_error", "file: expected multipart/form-data")
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and part.name == "file":
            filename = part.filename or "file"
            guessed = mimetypes.guess_type(filename)[0]
            mime = part.headers.get("Content-Type") or guessed or "application/octet-stream"
            return part, mime
        await part.release()
    return ApiError(400, "invalid_request_error", "file: Field required")


async def upload_file(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    found = await _file_part(request)
    if isinstance(found, ApiError):
        _record(request, {"file": None})
        return _reply(request, found)
    part, mime = found
    data = await _read_part(part, state.settings.max_file_bytes)
    filename = part.filename or "file"
    size = len(data) if isinstance(data, bytes) else None
    _record(request, {"file": {"filename": filename, "mime_type": mime, "size_bytes": size}})
    if isinstance(data, ApiError):
        return _reply(request, data)
    now = state.clock.now()
    return _reply(request, state.files.add(data, filename, mime, downloadable=False, now=now))


async def list_files(request: web.Request) -> web.StreamResponse:
    return _reply(request, request.app[STATE_KEY].files.page(request.query))


async def get_file(request: web.Request) -> web.StreamResponse:
    return _reply(request, request.app[STATE_KEY].files.metadata(request.match_info["file_id"]))


async def delete_file(request: web.Request) -> web.StreamResponse:
    return _reply(request, request.app[STATE_KEY].files.delete(request.match_info["file_id"]))


async def download_file(request: web.Request) -> web.StreamResponse:
    found = request.app[STATE_KEY].files.content(request.match_info["file_id"])
    if isinstance(found, ApiError):
        return error_response(found, require_context(request).request_id)
    return await _stream(request, found)


async def _stream(request: web.Request, stored: StoredFile) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": stored.metadata["mime_type"]})
    response.content_length = len(stored.data)
    try:
        await response.prepare(request)
        view = memoryview(stored.data)
        for start in range(0, len(view), _READ_CHUNK):
            await response.write(view[start : start + _READ_CHUNK])
        await response.write_eof()
    except ConnectionError:
        pass
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/files", upload_file)
    app.router.add_get("/v1/files", list_files)
    app.router.add_get("/v1/files/{file_id}", get_file)
    app.router.add_delete("/v1/files/{file_id}", delete_file)
    app.router.add_get("/v1/files/{file_id}/content", download_file)
