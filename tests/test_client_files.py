"""client.files and paginated client.models against the fake server."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from rawclaude import (
    Client,
    ConfigurationError,
    FileExpiredError,
    FileNotDownloadableError,
    NotFoundError,
    RequestTooLargeError,
    StorageQuotaExceededError,
)
from rawclaude.client.hooks import CallRecord, Hook
from rawclaude.testing import FakeServer
from rawclaude.wire.models import ModelList


class Records(Hook):
    def __init__(self) -> None:
        self.done: list[CallRecord] = []

    def on_complete(self, record: CallRecord) -> None:
        self.done.append(record)


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    async with FakeServer(max_file_bytes=4 * 1024 * 1024, storage_quota_bytes=8 * 1024 * 1024) as s:
        yield s


@pytest.fixture
def records() -> Records:
    return Records()


@pytest.fixture
async def client(server: FakeServer, records: Records) -> AsyncIterator[Client]:
    async with Client("sk-fake", base_url=server.base_url, hooks=[records]) as c:
        yield c


def uploads(server: FakeServer) -> list[Any]:
    return [r.json for r in server.requests if r.method == "POST" and r.path == "/v1/files"]


DATA = bytes(range(256)) * 4096 + b"\r\n--tail"  # 1 MiB and a bit, every byte value


async def test_upload_a_path(client: Client, server: FakeServer, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(DATA)
    meta = await client.files.upload(path)
    assert (meta.filename, meta.mime_type, meta.size_bytes) == (
        "report.pdf",
        "application/pdf",
        len(DATA),
    )
    assert meta.id.startswith("file_") and not meta.downloadable and meta.request_id
    assert uploads(server) == [
        {
            "file": {
                "filename": "report.pdf",
                "mime_type": "application/pdf",
                "size_bytes": len(DATA),
            }
        }
    ]
    stored = server.files[0]
    assert stored["id"] == meta.id


async def test_upload_bytes_and_file_objects(
    client: Client, server: FakeServer, tmp_path: Path
) -> None:
    meta = await client.files.upload(b"a,b\n1,2\n", filename="t.csv")
    assert (meta.mime_type, meta.size_bytes) == ("text/csv", 8)
    buffer = io.BytesIO(b"skip" + DATA)
    buffer.seek(4)  # from where it stands, not from 0
    meta = await client.files.upload(buffer, filename="blob", mime_type="application/x-thing")
    assert (meta.filename, meta.mime_type, meta.size_bytes) == (
        "blob",
        "application/x-thing",
        len(DATA),
    )
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello")
    with open(path, "rb") as handle:  # noqa: ASYNC230
        meta = await client.files.upload(handle)
    assert (meta.filename, meta.size_bytes) == ("notes.txt", 5)


class Unseekable(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


@pytest.mark.parametrize(
    ("source", "kwargs", "words"),
    [
        (b"x", {}, "filename= is required"),
        ("/nonexistent/file.bin", {}, "not a readable file"),
        (io.StringIO("text"), {}, "binary mode"),
        (Unseekable(), {"filename": "x"}, "seekable"),
        (io.BytesIO(b"x"), {}, "filename= is required"),
        (12, {}, "path, bytes or a binary file object"),
        (b"x", {"filename": "a\nb", "mime_type": "text/plain\r\nX: y"}, "mime_type"),
        (b"x", {"filename": ""}, "filename"),
    ],
)
async def test_upload_mistakes_refused_before_sending(
    client: Client, server: FakeServer, source: Any, kwargs: dict[str, Any], words: str
) -> None:
    with pytest.raises(ConfigurationError, match=words):
        await client.files.upload(source, **kwargs)
    assert server.requests == []


async def test_upload_is_re_read_on_retry(tmp_path: Path) -> None:
    """The first attempt gets a 529 after the whole body; the retry sends it all again."""
    received: list[bytes] = []

    async def upload(request: web.Request) -> web.Response:
        reader = await request.multipart()
        part = await reader.next()
        assert part is not None
        received.append(await part.read())  # type: ignore[union-attr]
        if len(received) == 1:
            error = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
            return web.json_response(error, status=529, headers={"retry-after-ms": "1"})
        meta = {
            "id": "file_1",
            "type": "file",
            "filename": part.filename,  # type: ignore[union-attr]
            "mime_type": "application/octet-stream",
            "size_bytes": len(received[-1]),
            "created_at": "2026-12-01T00:00:00Z",
            "downloadable": False,
        }
        return web.json_response(meta)

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/v1/files", upload)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    path = tmp_path / "data.bin"
    path.write_bytes(DATA * 3)
    try:
        async with Client("sk-fake", base_url=f"http://127.0.0.1:{runner.addresses[0][1]}") as c:
            meta = await c.files.upload(path)
    finally:
        await runner.cleanup()
    assert received == [DATA * 3, DATA * 3]
    assert meta.size_bytes == len(DATA) * 3 and meta.filename == "data.bin"


async def test_upload_limits_are_typed(client: Client, server: FakeServer) -> None:
    with pytest.raises(RequestTooLargeError):
        await client.files.upload(b"x" * (4 * 1024 * 1024 + 1), filename="big.bin")
    for i in range(2):
        await client.files.upload(b"x" * (4 * 1024 * 1024), filename=f"f{i}.bin")
    with pytest.raises(StorageQuotaExceededError) as info:
        await client.files.upload(b"x", filename="one-more.bin")
    assert info.value.error_code == "storage_quota_exceeded"
    assert "client.files.delete" in str(info.value)


async def test_list_retrieve_delete(client: Client, server: FakeServer) -> None:
    made = [await client.files.upload(b"%d" % i, filename=f"f{i}.txt") for i in range(5)]
    listed = [f.id async for f in client.files.list(limit=2)]
    assert sorted(listed) == sorted(f.id for f in made) and len(listed) == 5
    page = await client.files.list(limit=2)
    assert len(page.data) == 2 and page.next_page
    pages = [len(p.data) async for p in client.files.list(limit=2).pages()]
    assert pages == [2, 2, 1]
    first = await client.files.retrieve(made[0].id)
    assert first == made[0]
    assert (await client.files.retrieve_metadata(made[0].id)).id == made[0].id
    deleted = await client.files.delete(made[0].id)
    assert deleted.id == made[0].id and deleted.type == "file_deleted"
    with pytest.raises(NotFoundError):
        await client.files.retrieve(made[0].id)
    with pytest.raises(ConfigurationError, match="file_id"):
        await client.files.retrieve("")


async def test_download_to_a_path_and_stream(
    client: Client, server: FakeServer, tmp_path: Path, records: Records
) -> None:
    file_id = server.add_file(DATA, filename="out.bin")["id"]
    target = tmp_path / "got.bin"
    assert await client.files.download(file_id, to=target) == len(DATA)
    assert target.read_bytes() == DATA
    assert list(tmp_path.iterdir()) == [target]  # noqa: ASYNC240 (no temporary file left)
    content = await client.files.content(file_id).read()
    assert content == DATA
    async with client.files.content(file_id) as chunks:
        async for _ in chunks:
            break
    assert [r.end for r in records.done if r.url.endswith("/content")][-1] == "closed"


async def test_download_errors_are_typed_and_leave_no_file(
    client: Client, server: FakeServer, tmp_path: Path
) -> None:
    uploaded = await client.files.upload(b"mine", filename="mine.txt")
    target = tmp_path / "x.bin"
    with pytest.raises(FileNotDownloadableError, match="created by a tool"):
        await client.files.download(uploaded.id, to=target)
    tool_made = server.add_file(b"abc")["id"]
    server.expire_file(tool_made)
    with pytest.raises(FileExpiredError, match="upload it again"):
        await client.files.download(tool_made, to=target)
    assert list(tmp_path.iterdir()) == []  # noqa: ASYNC240
    with pytest.raises(ConfigurationError, match="directory"):
        await client.files.download(tool_made, to=tmp_path)


# -- models --------------------------------------------------------------------------


async def test_models_list_pages_and_one_page(client: Client, server: FakeServer) -> None:
    everything = [m.id async for m in client.models.list(limit=1)]
    page = await client.models.list()
    assert isinstance(page, ModelList) and everything == [m.id for m in page.data]
    assert len(everything) > 1
    first = await client.models.list_page(limit=1)
    assert [m.id for m in first.data] == everything[:1] and first.has_more
    rest = [m.id async for m in client.models.list(limit=1, after_id=first.last_id)]
    assert rest == everything[1:]
    assert (await client.models.retrieve(everything[0])).id == everything[0]
