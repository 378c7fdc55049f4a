"""rawclaude.testing: the Files API, seen by plain aiohttp and by the official SDK."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anthropic
import pytest

from rawclaude.testing import FakeServer

HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    async with FakeServer(max_file_bytes=1000, storage_quota_bytes=1500) as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=HEADERS) as client:
        yield client


async def upload(
    session: aiohttp.ClientSession,
    server: FakeServer,
    data: bytes,
    filename: str = "notes.txt",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type="text/plain")
    async with session.post(server.base_url + "/v1/files", data=form, headers=headers) as response:
        return response.status, json.loads(await response.read())


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, bytes]:
    async with session.get(url) as response:
        return response.status, await response.read()


async def test_upload_metadata_and_recording(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    status, meta = await upload(session, server, b"hello files", headers={"anthropic-beta": "x"})
    assert status == 200
    assert meta["id"].startswith("file_") and meta["type"] == "file"
    assert meta["filename"] == "notes.txt" and meta["mime_type"] == "text/plain"
    assert meta["size_bytes"] == 11 and meta["downloadable"] is False
    assert meta["created_at"].endswith("Z")
    status, raw = await get(session, f"{server.base_url}/v1/files/{meta['id']}")
    assert (status, json.loads(raw)) == (200, meta)
    recorded = server.requests[0]
    assert recorded.json == {
        "file": {"filename": "notes.txt", "mime_type": "text/plain", "size_bytes": 11}
    }
    assert recorded.headers["x-api-key"] == "***"


async def test_uploaded_file_is_not_downloadable(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    _, meta = await upload(session, server, b"secret")
    status, raw = await get(session, f"{server.base_url}/v1/files/{meta['id']}/content")
    error = json.loads(raw)["error"]
    assert status == 400
    assert error["type"] == "invalid_request_error"
    assert error["details"] == {"error_code": "file_not_downloadable"}


async def test_tool_file_downloads_and_expires(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    data = bytes(range(256)) * 3
    meta = server.add_file(data, filename="chart.png", mime_type="image/png")
    async with session.get(f"{server.base_url}/v1/files/{meta['id']}/content") as response:
        assert response.status == 200
        assert response.content_type == "image/png"
        assert await response.read() == data
    server.expire_file(meta["id"])
    status, raw = await get(session, f"{server.base_url}/v1/files/{meta['id']}/content")
    assert status == 404
    assert json.loads(raw)["error"]["details"]["error_code"] == "file_expired"


async def test_size_limit_and_storage_quota(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    status, body = await upload(session, server, b"x" * 1001)
    assert status == 413 and body["error"]["type"] == "request_too_large"
    assert server.requests[-1].json["file"]["size_bytes"] is None
    assert (await upload(session, server, b"x" * 1000))[0] == 200
    status, body = await upload(session, server, b"y" * 600)
    assert status == 400
    assert body["error"]["details"]["error_code"] == "storage_quota_exceeded"
    assert len(server.files) == 1


async def test_missing_file_part_and_unknown_ids(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    form = aiohttp.FormData()
    form.add_field("purpose", "user_data")
    async with session.post(server.base_url + "/v1/files", data=form) as response:
        assert response.status == 400
    for path in ("/v1/files/file_nope", "/v1/files/file_nope/content"):
        status, raw = await get(session, server.base_url + path)
        assert status == 404 and json.loads(raw)["error"]["type"] == "not_found_error"


async def test_delete(server: FakeServer, session: aiohttp.ClientSession) -> None:
    _, meta = await upload(session, server, b"bye")
    async with session.delete(f"{server.base_url}/v1/files/{meta['id']}") as response:
        assert json.loads(await response.read()) == {"id": meta["id"], "type": "file_deleted"}
    assert server.files == []


async def test_list_pages_by_cursor_and_by_page_token(
    server: FakeServer, session: aiohttp.ClientSession
) -> None:
    ids = [server.add_file(b"f", filename=f"{i}.txt")["id"] for i in range(5)]
    newest = list(reversed(ids))
    _, raw = await get(session, f"{server.base_url}/v1/files?limit=2")
    page = json.loads(raw)
    assert [f["id"] for f in page["data"]] == newest[:2]
    assert page["has_more"] is True and page["first_id"] == newest[0]
    assert page["next_page"] == f"page_{newest[1]}"
    _, raw = await get(session, f"{server.base_url}/v1/files?limit=2&after_id={newest[1]}")
    assert [f["id"] for f in json.loads(raw)["data"]] == newest[2:4]
    _, raw = await get(session, f"{server.base_url}/v1/files?limit=3&page={page['next_page']}")
    last = json.loads(raw)
    assert [f["id"] for f in last["data"]] == newest[2:]
    assert last["has_more"] is False and last["next_page"] is None


async def test_sdk_upload_list_download_delete() -> None:
    async with FakeServer() as fake:
        sdk = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test", max_retries=0)
        uploaded = await sdk.files.upload(file=("doc.txt", b"uploaded bytes", "text/plain"))
        assert uploaded.filename == "doc.txt" and uploaded.size_bytes == 14
        made = [fake.add_file(b"tool output %d" % i, filename=f"out{i}.txt") for i in range(3)]
        listed = [f.id async for f in sdk.files.list(limit=2)]  # walks every page
        assert listed == [m["id"] for m in reversed(made)] + [uploaded.id]
        beta = [f.id async for f in sdk.beta.files.list(limit=3)]  # after_id cursors
        assert beta == listed
        download = await sdk.files.download(made[0]["id"])
        assert await download.read() == b"tool output 0"
        with pytest.raises(anthropic.BadRequestError) as caught:
            await sdk.files.download(uploaded.id)
        assert "file_not_downloadable" in str(caught.value.body)
        assert (await sdk.files.delete(uploaded.id)).type == "file_deleted"
        await sdk.close()
