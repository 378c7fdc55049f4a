"""The multipart/form-data envelope of a file upload (layer 0: no IO).

``POST /v1/files`` takes ``multipart/form-data`` with one ``file`` part
(Files API reference). The body is the head built here, the file's bytes as
they are, and the tail; so an upload can stream the file from disk between
the two and knows its length up front (no chunked encoding needed).

Names follow RFC 7578 and the WHATWG HTML form encoding: the field and file
names are quoted strings in which ``"``, CR and LF are percent-encoded (what
browsers and curl send); other characters go as UTF-8.
"""

from __future__ import annotations

import mimetypes
import secrets

from .errors import ConfigurationError

__all__ = ["MultipartFile", "guess_mime_type"]

#: The Files API's limits on the metadata it stores (reference: 1-500, 1-255).
MAX_FILENAME = 500
MAX_MIME_TYPE = 255

_ESCAPES = str.maketrans({'"': "%22", "\r": "%0D", "\n": "%0A"})


def guess_mime_type(filename: str) -> str:
    """The MIME type a file name suggests, ``application/octet-stream`` if none."""
    return mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream"


def _check(name: str, value: object, cap: int) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} must be a non-empty string, got {value!r}")
    if len(value) > cap:
        raise ConfigurationError(f"{name} must be at most {cap} characters, got {len(value)}")
    if "\x00" in value:
        raise ConfigurationError(f"{name} must not contain NUL characters")
    return value


class MultipartFile:
    """Head and tail of a one-file ``multipart/form-data`` body.

    ``content_type`` is the request's Content-Type header (with the boundary);
    :meth:`length` is the body's length for a file of ``size`` bytes.
    """

    __slots__ = ("boundary", "content_type", "filename", "head", "mime_type", "tail")

    def __init__(
        self,
        filename: str,
        mime_type: str | None = None,
        *,
        field: str = "file",
        boundary: str | None = None,
    ) -> None:
        self.filename = _check("filename", filename, MAX_FILENAME)
        mime = guess_mime_type(filename) if mime_type is None else mime_type
        self.mime_type = _check("mime_type", mime, MAX_MIME_TYPE)
        if any(c in self.mime_type for c in "\r\n") or not self.mime_type.isascii():
            raise ConfigurationError(f"mime_type must be a plain ASCII media type, got {mime!r}")
        # 128 random bits: a file holding the boundary by chance is not a concern.
        self.boundary = boundary or f"rawclaude-{secrets.token_hex(16)}"
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        quoted = self.filename.translate(_ESCAPES)
        self.head = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{field.translate(_ESCAPES)}"; '
            f'filename="{quoted}"\r\n'
            f"Content-Type: {self.mime_type}\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()

    def length(self, size: int) -> int:
        """The length of the whole body around a file of ``size`` bytes."""
        return len(self.head) + size + len(self.tail)

    def __repr__(self) -> str:
        return f"MultipartFile(filename={self.filename!r}, mime_type={self.mime_type!r})"
