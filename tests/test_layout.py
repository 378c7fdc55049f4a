"""The layered package (issue 8, section 3): public import paths kept, the
sans-IO parser usable without aiohttp, `import rawclaude` light."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_rawclaude_sse_does_not_import_aiohttp() -> None:
    assert _run("import sys, rawclaude.sse; print('aiohttp' in sys.modules)") == "False"


def test_import_rawclaude_loads_no_client_and_no_optional_part() -> None:
    code = (
        "import sys, rawclaude; "
        "print(sorted(m for m in ('aiohttp', 'redis', 'rawclaude.client', 'rawclaude.agents', "
        "'rawclaude.testing._server', 'opentelemetry') if m in sys.modules))"
    )
    assert _run(code) == "[]"


@pytest.mark.parametrize(
    "name",
    [
        "Client",
        "MessageStream",
        "Timeout",
        "RateLimiter",
        "TokenBucket",
        "Hook",
        "RawResponse",
        "Message",
        "Usage",
        "RateLimitState",
        "APIStatusError",
        "SpendLimitError",
        "tool",
    ],
)
def test_public_names_resolve(name: str) -> None:
    import rawclaude

    assert getattr(rawclaude, name) is not None
    assert name in rawclaude.__all__ and name in dir(rawclaude)


def test_public_modules_keep_their_paths() -> None:
    code = (
        "from rawclaude.types import TextBlock, ContentBlockDeltaEvent; "
        "from rawclaude.sse import SSEParser, ServerSentEvent; "
        "from rawclaude.testing import FakeServer, Reply; print('ok')"
    )
    assert _run(code) == "ok"


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    import rawclaude

    with pytest.raises(AttributeError):
        rawclaude.NoSuchThing  # noqa: B018
