"""The README's agent examples, run as written against the fake server.

Each example is the ```python block after a ``<!-- example: NAME -->`` marker in
README.md. It builds ``rawclaude.Client()``, which reads ANTHROPIC_BASE_URL and
ANTHROPIC_API_KEY: the test points those at a fake server (in its own thread, so
the example's ``asyncio.run`` works) and scripts the replies the example needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rawclaude.testing import FakeServer, Reply

README = Path(__file__).resolve().parent.parent / "README.md"
_EXAMPLE = re.compile(r"<!-- example: ([\w-]+) -->\s*```python\n(.*?)```", re.DOTALL)


def examples() -> dict[str, str]:
    return dict(_EXAMPLE.findall(README.read_text(encoding="utf-8")))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    with FakeServer() as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-readme-example")
        yield server


def run_example(name: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    code = examples()[name]
    exec(compile(code, f"README.md:{name}", "exec", dont_inherit=True), {"__name__": "__readme__"})
    return capsys.readouterr().out.splitlines()


def test_the_readme_has_the_three_examples() -> None:
    assert set(examples()) == {"tool-loop", "safe-json", "conversation"}


def test_tool_loop(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    fake.queue(Reply.tool_use("get_weather", {"city": "Paris"}), Reply.text("21 °C in Paris."))
    out = run_example("tool-loop", capsys)
    assert out[0] == "21 °C in Paris."
    assert out[1].startswith("get_weather {'city': 'Paris'} False ")
    assert out[2].startswith("tokens in/out: ")
    result = fake.requests[1].json["messages"][2]["content"][0]
    assert result["content"] == '{"city":"Paris","temperature":21,"unit":"celsius"}'


def test_safe_json(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    fake.queue(Reply.text('{"vendor": "ACME GmbH", "total": 120.5, "currency": "EUR"}'))
    assert run_example("safe-json", capsys) == ["ACME GmbH 120.5 EUR"]
    fake.queue(Reply.refusal("No."))
    assert run_example("safe-json", capsys) == ["no invoice: OutputRefusedError refusal No."]
    fmt = fake.requests[0].json["output_config"]["format"]
    assert fmt["schema"]["properties"]["total"] == {"type": "number", "description": "(minimum: 0)"}


def test_conversation(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_example("conversation", capsys)
    assert [line.split(" | ")[0] for line in out] == [
        "My router blinks red.",
        "I restarted it.",
        "Still red.",
    ]
    reads = [int(line.split("cache read: ")[1].split()[0]) for line in out]
    assert reads[0] == 0 and reads[1] > 0 and reads[2] > reads[1]
    assert all(r.json["system"][0]["cache_control"] for r in fake.requests)
