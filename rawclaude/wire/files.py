"""Files API, response side: file metadata, deletions and list pages (layer 0).

Shapes follow the Files API reference (https://platform.claude.com/docs/en/api/files):
a file is ``{"id", "type": "file", "filename", "mime_type", "size_bytes",
"created_at", "downloadable"}``, plus ``expires_at`` for files that expire.
Only files a tool created (code execution, for one) are ``downloadable``;
uploaded files are not. The list pages with the opaque ``page`` /
``next_page`` cursor (see :mod:`rawclaude.wire.pages`).
"""

from __future__ import annotations

from typing import Any

import msgspec

from .errors import APIResponseValidationError
from .models import _Response
from .pages import Page, page_decoder

__all__ = [
    "FileMetadata",
    "DeletedFile",
    "decode_file",
    "decode_file_page",
    "decode_deleted_file",
]


class FileMetadata(_Response, kw_only=True, dict=True):
    """A stored file's metadata (``"type": "file"``); datetimes are RFC 3339 strings."""

    id: str
    type: str = "file"
    filename: str
    mime_type: str
    size_bytes: int
    created_at: str
    downloadable: bool = False
    expires_at: str | None = None


class DeletedFile(_Response, kw_only=True, dict=True):
    """What ``DELETE /v1/files/{id}`` returns."""

    id: str
    type: str = "file_deleted"


_FILE_DECODER = msgspec.json.Decoder(FileMetadata)
_DELETED_DECODER = msgspec.json.Decoder(DeletedFile)
_PAGE_DECODER = page_decoder(FileMetadata)


def _decode(decoder: msgspec.json.Decoder[Any], data: bytes, what: str) -> Any:
    try:
        return decoder.decode(data)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise APIResponseValidationError(f"cannot decode {what}: {exc}", data=data) from exc


def decode_file(data: bytes) -> FileMetadata:
    """A file's metadata (upload, retrieve)."""
    meta: FileMetadata = _decode(_FILE_DECODER, data, "file metadata")
    return meta


def decode_deleted_file(data: bytes) -> DeletedFile:
    """The answer to a file delete."""
    deleted: DeletedFile = _decode(_DELETED_DECODER, data, "deleted file")
    return deleted


def decode_file_page(data: bytes) -> Page[FileMetadata]:
    """One page of ``GET /v1/files``."""
    page: Page[FileMetadata] = _decode(_PAGE_DECODER, data, "file list")
    return page
