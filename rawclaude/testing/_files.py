"""The Files API store of the fake: metadata and bytes in memory. No aiohttp.

From "Files API" and its reference:
- A file's metadata is ``{"id": "file_...", "type": "file", "filename",
  "mime_type", "size_bytes", "created_at", "downloadable"}``.
- Uploaded files are not downloadable; only files a tool created are
  (``server.add_file(..., downloadable=True)`` plays that tool).
- Errors carry a fine-grained ``error.details.error_code``: downloading a file
  with ``downloadable: false`` is 400 ``file_not_downloadable``; an expired
  file's content is 404 ``file_expired``; an upload past the organization's
  storage is 400 ``storage_quota_exceeded``. (Per file 500 MB, per
  organization 500 GB, the "Files API" doc's limits, are the defaults.)
- The list pages newest first with ``limit`` and ``after_id`` / ``before_id``
  (``has_more``, ``first_id``, ``last_id``) and also with the opaque
  ``page`` cursor and ``next_page`` (``page_...``) of the generally available
  API; each page carries both, so clients of either kind can walk it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._checks import ApiError
from ._pages import page_of
from ._wire import rfc3339_ms

MAX_FILE_BYTES = 500 * 1024 * 1024
STORAGE_QUOTA_BYTES = 500 * 1024 * 1024 * 1024
PAGE_PREFIX = "page_"


@dataclass
class StoredFile:
    metadata: dict[str, Any]
    data: bytes
    expired: bool = False


def not_found(file_id: str) -> ApiError:
    return ApiError(404, "not_found_error", f"File not found: {file_id}")


class FileStore:
    def __init__(self, quota_bytes: int) -> None:
        self.quota_bytes = quota_bytes
        self._files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()
        self._ids = 0

    def used_bytes(self) -> int:
        with self._lock:
            return sum(len(f.data) for f in self._files.values())

    def quota_error(self, size: int) -> ApiError | None:
        if self.used_bytes() + size <= self.quota_bytes:
            return None
        return ApiError(
            400,
            "invalid_request_error",
            "The organization's file storage quota is exhausted; delete files to free up space",
            "storage_quota_exceeded",
        )

    def add(
        self, data: bytes, filename: str, mime_type: str, *, downloadable: bool, now: float
    ) -> dict[str, Any] | ApiError:
        error = self.quota_error(len(data))
        if error is not None:
            return error
        with self._lock:
            self._ids += 1
            metadata: dict[str, Any] = {
                "id": f"file_fake{self._ids:016d}",
                "type": "file",
                "filename": filename,
                "mime_type": mime_type,
                "size_bytes": len(data),
                "created_at": rfc3339_ms(now),
                "downloadable": downloadable,
            }
            self._files[metadata["id"]] = StoredFile(metadata, data)
            return dict(metadata)

    def metadata(self, file_id: str) -> dict[str, Any] | ApiError:
        with self._lock:
            stored = self._files.get(file_id)
            return not_found(file_id) if stored is None else dict(stored.metadata)

    def content(self, file_id: str) -> StoredFile | ApiError:
        with self._lock:
            stored = self._files.get(file_id)
        if stored is None:
            return not_found(file_id)
        if stored.expired:
            return ApiError(404, "not_found_error", f"File {file_id} has expired", "file_expired")
        if not stored.metadata["downloadable"]:
            return ApiError(
                400,
                "invalid_request_error",
                f"File {file_id} is not downloadable: only files created by tools can be "
                "downloaded",
                "file_not_downloadable",
            )
        return stored

    def expire(self, file_id: str) -> None:
        with self._lock:
            self._files[file_id].expired = True

    def delete(self, file_id: str) -> dict[str, Any] | ApiError:
        with self._lock:
            if self._files.pop(file_id, None) is None:
                return not_found(file_id)
        return {"id": file_id, "type": "file_deleted"}

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(f.metadata) for f in reversed(self._files.values())]

    def page(self, query: Mapping[str, str]) -> dict[str, Any] | ApiError:
        cursors = dict(query)
        token = cursors.pop("page", None)
        if token is not None:
            if not token.startswith(PAGE_PREFIX):
                return ApiError(400, "invalid_request_error", "page: not a page cursor")
            cursors["after_id"] = token[len(PAGE_PREFIX) :]
        page = page_of(self.listing(), cursors)
        if isinstance(page, ApiError):
            return page
        more = page["has_more"] and "before_id" not in cursors
        page["next_page"] = PAGE_PREFIX + page["last_id"] if more else None
        return page
