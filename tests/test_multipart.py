"""The multipart/form-data envelope of uploads: parses back to the same file."""

from __future__ import annotations

import email
import email.policy

import pytest

from rawclaude.wire.errors import ConfigurationError
from rawclaude.wire.multipart import MultipartFile, guess_mime_type


def parse(part: MultipartFile, data: bytes) -> email.message.Message:
    body = part.head + data + part.tail
    assert len(body) == part.length(len(data))
    raw = f"Content-Type: {part.content_type}\r\n\r\n".encode() + body
    message = email.message_from_bytes(raw, policy=email.policy.HTTP)
    assert message.is_multipart()
    parts = message.get_payload()
    assert isinstance(parts, list) and len(parts) == 1
    only = parts[0]
    assert isinstance(only, email.message.Message)
    return only


def test_body_parses_back_to_the_file() -> None:
    data = bytes(range(256)) * 10 + b"\r\n--not-the-boundary\r\n"
    part = MultipartFile("report.pdf")
    got = parse(part, data)
    assert got.get_param("name", header="content-disposition") == "file"
    assert got.get_filename() == "report.pdf"
    assert got.get_content_type() == "application/pdf"
    assert got.get_payload(decode=True) == data


def test_quotes_and_line_breaks_in_names_cannot_break_the_header() -> None:
    part = MultipartFile('a"b\r\nX-Evil: 1.txt', "text/plain", boundary="B")
    assert b"X-Evil" not in part.head.split(b"\r\n")[2]
    assert part.head.count(b"\r\n") == 4
    assert parse(part, b"x").get_filename() == "a%22b%0D%0AX-Evil: 1.txt"


def test_utf8_name_and_explicit_type() -> None:
    part = MultipartFile("données.csv", "text/csv")
    assert "données.csv".encode() in part.head
    assert part.mime_type == "text/csv"


def test_guessing() -> None:
    assert guess_mime_type("a.png") == "image/png"
    assert guess_mime_type("noext") == "application/octet-stream"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"filename": ""}, "filename"),
        ({"filename": 5}, "filename"),
        ({"filename": "x" * 501}, "filename"),
        ({"filename": "a\x00b"}, "filename"),
        ({"filename": "a", "mime_type": ""}, "mime_type"),
        ({"filename": "a", "mime_type": "text/plain\r\nX: 1"}, "mime_type"),
        ({"filename": "a", "mime_type": "tëxt/plain"}, "mime_type"),
    ],
)
def test_bad_names_refused(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        MultipartFile(**kwargs)  # type: ignore[arg-type]
