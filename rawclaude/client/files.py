"""``client.files``: the Files API (generally available: no beta header).

Upload once, refer to the file by id in messages (``{"type": "document",
"source": {"type": "file", "file_id": ...}}``). Uploads stream from disk: a
500 MB file is read in small pieces, never whole, and a retried upload reads
it again from the start. Downloads (only of files a tool created) stream to
disk or to the caller. Through ``client.request()``; the API's file errors are
typed (:class:`~rawclaude.FileExpiredError`,
:class:`~rawclaude.FileNotDownloadableError`,
:class:`~rawclaude.StorageQuotaExceededError`).
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..wire.errors import ConfigurationError
from ..wire.files import (
    DeletedFile,
    FileMetadata,
    decode_deleted_file,
    decode_file,
    decode_file_page,
)
from ..wire.multipart import MultipartFile
from ..wire.pages import Page
from .pages import Paginator, list_query
from .rest import call_json, path_id, slices, typed

if TYPE_CHECKING:
    from ..policy.timeouts import Timeout
    from .client import Client
    from .raw import RawResponse

__all__ = ["FileContent", "Files"]

_BASE = "/v1/files"
#: One read from disk, and so the most an upload holds of the file at once.
READ_SIZE = 1024 * 1024

FileSource = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
Chunks = Callable[[], AsyncIterator[bytes]]


class Files:
    """``client.files``: upload, list, retrieve, delete, download, content."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def upload(
        self,
        file: FileSource,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        timeout: Timeout | float | None = None,
    ) -> FileMetadata:
        """POST /v1/files (multipart/form-data): store a file, get its metadata.

        ``file`` is a path, bytes, or a binary file object opened for reading
        (it must be seekable: a retry re-reads it from where it stood).
        ``filename`` defaults to the path's (or file object's) name, and is
        required for bytes; ``mime_type`` defaults to a guess from the name.
        """
        name, source = _source(file, filename)
        part = MultipartFile(name, mime_type)

        async def body() -> AsyncIterator[bytes]:
            yield part.head
            async for chunk in source():
                yield chunk
            yield part.tail

        resp = await self._client.request(
            "POST",
            _BASE,
            data=body,
            content_type=part.content_type,
            timeout=timeout,
            limited=False,
        )
        return typed(resp, decode_file)

    def list(
        self,
        *,
        limit: int | None = None,
        page: str | None = None,
        timeout: Timeout | float | None = None,
    ) -> Paginator[FileMetadata, Page[FileMetadata]]:
        """GET /v1/files: ``async for`` over every file (following ``next_page``),
        or ``await`` for one page."""
        query = list_query(limit, page=page)

        async def fetch(params: dict[str, str]) -> Page[FileMetadata]:
            return await call_json(
                self._client, "GET", _BASE, decode_file_page, params=params, timeout=timeout
            )

        return Paginator(fetch, query)

    async def retrieve(
        self, file_id: str, *, timeout: Timeout | float | None = None
    ) -> FileMetadata:
        """GET /v1/files/{id}: a file's metadata."""
        path = f"{_BASE}/{path_id('file_id', file_id)}"
        return await call_json(self._client, "GET", path, decode_file, timeout=timeout)

    #: The official SDK's name for :meth:`retrieve`.
    retrieve_metadata = retrieve

    async def delete(self, file_id: str, *, timeout: Timeout | float | None = None) -> DeletedFile:
        """DELETE /v1/files/{id}."""
        path = f"{_BASE}/{path_id('file_id', file_id)}"
        return await call_json(self._client, "DELETE", path, decode_deleted_file, timeout=timeout)

    def content(self, file_id: str, *, timeout: Timeout | float | None = None) -> FileContent:
        """GET /v1/files/{id}/content, streamed: ``async for chunk in ...`` (bytes).

        Only files a tool created are downloadable; others raise
        :class:`~rawclaude.FileNotDownloadableError`. Use ``async with`` (or
        read to the end) so the response is released when you stop early.
        """
        path = f"{_BASE}/{path_id('file_id', file_id)}/content"
        return FileContent(self._client, path, timeout)

    async def download(
        self, file_id: str, to: str | os.PathLike[str], *, timeout: Timeout | float | None = None
    ) -> int:
        """Stream a file's content to the path ``to``; return the bytes written.

        Written to a temporary file beside ``to`` and renamed at the end, so
        ``to`` never holds half a download (on any error the temporary file is
        removed).
        """
        target = Path(os.fspath(to))
        if await asyncio.to_thread(target.is_dir):
            raise ConfigurationError(f"to={str(target)!r} is a directory; give a file path")
        partial = target.with_name(f".{target.name}.part-{os.getpid()}-{id(target):x}")
        written = 0
        out = await asyncio.to_thread(open, partial, "wb")
        try:
            try:
                async with self.content(file_id, timeout=timeout) as chunks:
                    async for chunk in chunks:
                        await asyncio.to_thread(out.write, chunk)
                        written += len(chunk)
            finally:
                out.close()
            await asyncio.to_thread(os.replace, partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return written


class FileContent:
    """A file's bytes as they arrive; ``async with`` releases the response."""

    __slots__ = ("_client", "_iterator", "_path", "_timeout")

    def __init__(self, client: Client, path: str, timeout: Timeout | float | None) -> None:
        self._client = client
        self._path = path
        self._timeout = timeout
        self._iterator: AsyncIterator[bytes] | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._iterator is None:
            self._iterator = _content(self._client, self._path, self._timeout)
        return self._iterator

    async def read(self) -> bytes:
        """The whole content in memory (for small files)."""
        return b"".join([chunk async for chunk in self])

    async def aclose(self) -> None:
        iterator = self._iterator
        if iterator is not None and hasattr(iterator, "aclose"):
            await iterator.aclose()

    async def __aenter__(self) -> FileContent:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def _content(
    client: Client, path: str, timeout: Timeout | float | None
) -> AsyncIterator[bytes]:
    # A function, not a method: no FileContent <-> generator cycle, so a `break`
    # releases the response at once (see rawclaude.client.batches._read).
    resp: RawResponse = await client.request(
        "GET", path, stream=True, timeout=timeout, limited=False
    )
    try:
        async for chunk in resp.iter_bytes():
            yield chunk
    finally:
        await resp.aclose()


def _source(file: object, filename: str | None) -> tuple[str, Chunks]:
    """(the file name to send, a fresh reader of the bytes for each attempt)."""
    if isinstance(file, (bytes, bytearray, memoryview)):
        if filename is None:
            raise ConfigurationError("filename= is required when uploading bytes")
        data = bytes(file) if not isinstance(file, bytes) else file
        return filename, lambda: slices(data)
    if isinstance(file, (str, os.PathLike)):
        path = Path(os.fspath(file))
        if not path.is_file():
            raise ConfigurationError(f"file={str(path)!r} is not a readable file")
        return filename or path.name, lambda: _read_path(path)
    if hasattr(file, "read"):
        return _file_object(file, filename)
    raise ConfigurationError(
        f"file must be a path, bytes or a binary file object, got {type(file).__name__}"
    )


def _file_object(file: object, filename: str | None) -> tuple[str, Chunks]:
    if isinstance(file, io.TextIOBase):
        raise ConfigurationError("file must be opened in binary mode ('rb'), not text mode")
    seekable = getattr(file, "seekable", None)
    if not callable(seekable) or not seekable():
        raise ConfigurationError(
            "file must be seekable, so that a retried upload can read it again; pass "
            "a path or bytes instead"
        )
    stream: IO[bytes] = file  # type: ignore[assignment]
    start = stream.tell()
    name = filename or os.path.basename(str(getattr(file, "name", "") or ""))
    if not name:
        raise ConfigurationError("filename= is required: this file object has no name")
    return name, lambda: _read_stream(stream, start)


async def _read_path(path: Path) -> AsyncIterator[bytes]:
    # Opened per attempt; reads in a thread so a slow disk never blocks the loop.
    handle = await asyncio.to_thread(open, path, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, READ_SIZE):
            yield chunk
    finally:
        handle.close()


async def _read_stream(stream: IO[bytes], start: int) -> AsyncIterator[bytes]:
    await asyncio.to_thread(stream.seek, start)
    while chunk := await asyncio.to_thread(stream.read, READ_SIZE):
        if not isinstance(chunk, bytes):
            raise ConfigurationError("file must be opened in binary mode: read() gave text")
        yield chunk
