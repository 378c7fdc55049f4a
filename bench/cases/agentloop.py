"""11. The tool runner's own overhead per turn: 8 parallel no-op tools, fake server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..config import Config
from ..payload import MODEL
from ..spec import Case, Metric, Params, WorkerResult

API_KEY = "sk-bench-dummy"  # the fake server accepts any key


def params(cfg: Config) -> Params:
    return {
        "tools": cfg.agentloop_tools,
        "turns": cfg.agentloop_turns,
        "min_time": cfg.agentloop_min_time,
    }


def _replies(tools: int, turns: int) -> list[Any]:
    from rawclaude.testing import Reply

    calls = [("noop", {"i": i}) for i in range(tools)]
    return [*(Reply.tool_uses(calls) for _ in range(turns)), Reply.text("done")]


async def _loop(client: Any, server: Any, p: Params) -> list[dict[str, Any]]:
    """One agent loop of ``turns`` tool turns and a final answer; the bodies it sent."""
    import rawclaude

    @rawclaude.tool
    async def noop(i: int) -> str:
        """Does nothing."""
        return "ok"

    server.reset()
    server.queue(*_replies(p["tools"], p["turns"]))
    runner = rawclaude.tool_runner(
        client,
        tools=[noop],
        max_iterations=p["turns"] + 1,
        model=MODEL,
        max_tokens=256,
        messages=[{"role": "user", "content": "Run the tools."}],
    )
    await runner.until_done()
    assert len(runner.calls) == p["tools"] * p["turns"] and not any(
        c.is_error for c in runner.calls
    )
    return [r.json for r in server.requests]


async def _replay(client: Any, server: Any, bodies: list[dict[str, Any]], p: Params) -> None:
    """The same requests as one loop, sent with bare ``messages.create`` (no runner)."""
    server.reset()
    server.queue(*_replies(p["tools"], p["turns"]))
    for body in bodies:
        await client.messages.create(**body)


async def _measure(server: Any, p: Params) -> dict[str, float]:
    import rawclaude

    async with rawclaude.Client(API_KEY, base_url=server.base_url, max_retries=0) as client:
        bodies = await _loop(client, server, p)  # warm-up, and the bodies to replay
        await _replay(client, server, bodies, p)
        runner_cpu, replay_cpu, runs = [], [], 0
        # Alternate runner and replay runs so machine drift hits both alike; the
        # client thread's own CPU only (the fake server runs in another thread).
        while runs == 0 or sum(runner_cpu) + sum(replay_cpu) < p["min_time"]:
            start = time.thread_time()
            await _loop(client, server, p)
            runner_cpu.append(time.thread_time() - start)
            start = time.thread_time()
            await _replay(client, server, bodies, p)
            replay_cpu.append(time.thread_time() - start)
            runs += 1
    turns = p["turns"]
    # Fastest of each: neighbours' load only adds CPU time. Everything the runner
    # adds, the final turn's included, is charged to the tool turns.
    loop_ms, bare_ms = min(runner_cpu) * 1e3, min(replay_cpu) * 1e3
    return {
        "runner_cpu_ms_per_turn": loop_ms / (turns + 1),
        "create_cpu_ms_per_request": bare_ms / (turns + 1),
        "overhead_cpu_ms_per_turn": (loop_ms - bare_ms) / turns,
    }


def run(client: str, p: Params) -> WorkerResult:
    from rawclaude.testing import FakeServer

    with FakeServer() as server:  # its own thread and loop
        metrics = asyncio.run(_measure(server, p))
    return {"metrics": metrics, "info": {"tools_per_turn": p["tools"], "turns": p["turns"]}}


METRICS = (
    Metric("overhead_cpu_ms_per_turn", "runner overhead per tool turn", "ms", False),
    Metric("runner_cpu_ms_per_turn", "client CPU per request, runner", "ms", False),
    Metric("create_cpu_ms_per_request", "client CPU per request, bare create", "ms", False),
)

CASE = Case(
    name="agentloop",
    title="11. Tool runner overhead per turn (8 parallel no-op tools)",
    metrics=lambda cfg: METRICS,
    params=params,
    run=run,
    clients=("rawclaude",),
    notes=(
        "A ToolRunner loop of N turns, each with 8 tool_use blocks of one no-op async tool, "
        "then a final answer, against the fake server running in a thread of the worker; "
        "then the very same request bodies sent with bare messages.create. Client CPU is "
        "time.thread_time() of the event-loop thread only (the server's thread excluded). "
        "Overhead per turn = (runner loop CPU - bare requests CPU) / tool turns: decoding "
        "and validating tool inputs, 8 tasks, result blocks, history and records."
    ),
)
