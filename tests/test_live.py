"""Against the real API: only with ANTHROPIC_API_KEY set *and* RAWCLAUDE_LIVE_TESTS=1.

Skipped everywhere else (CI has no network beyond the package registries), so
a key that happens to be in the environment never makes the suite reach out.
The model can be chosen with RAWCLAUDE_LIVE_MODEL.
"""

from __future__ import annotations

import os

import pytest

import rawclaude
from rawclaude.types import TextBlock

pytestmark = pytest.mark.skipif(
    not (os.environ.get("ANTHROPIC_API_KEY") and os.environ.get("RAWCLAUDE_LIVE_TESTS") == "1"),
    reason="live API tests need ANTHROPIC_API_KEY and RAWCLAUDE_LIVE_TESTS=1",
)

MODEL = os.environ.get("RAWCLAUDE_LIVE_MODEL", "claude-haiku-4-5")
MSG = [{"role": "user", "content": "Reply with the single word: pong"}]


async def test_live_create_and_stream_agree_on_shape() -> None:
    async with rawclaude.Client() as client:
        made = await client.messages.create(model=MODEL, max_tokens=16, messages=MSG)
        async with client.messages.stream(model=MODEL, max_tokens=16, messages=MSG) as s:
            streamed = await s.get_final_message()
    for message in (made, streamed):
        assert message.request_id
        assert message.usage.output_tokens > 0
        assert (
            "pong" in "".join(b.text for b in message.content if isinstance(b, TextBlock)).lower()
        )
    assert client.rate_limit_state is not None
