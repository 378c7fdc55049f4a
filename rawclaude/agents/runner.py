"""The tool-use loop: ask the model, run the tools it asked for, send the results, repeat.

Follows "Tool use with Claude" (how tool use works): a reply with
``stop_reason: "tool_use"`` carries ``tool_use`` blocks; the next request
appends that reply as the assistant turn and one user turn with a
``tool_result`` block per ``tool_use`` id (results first in the content, in
the order of the ids). ``pause_turn`` (a server tool paused a long turn) is
answered by sending the conversation back as it is, so the model continues.
Server tools (``server_tool_use`` and their result blocks, e.g. web search)
run on the API's side: their blocks stay in the assistant turn untouched and
the runner runs nothing for them.

Per turn, every ``tool_use`` block runs concurrently (up to
``max_parallel_tools`` at a time), each under ``tool_timeout``; a timeout, an
unknown tool name, bad input or an exception becomes an ``is_error`` result.
Cancelling the task that drives the runner cancels the tools still running.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from ..types import Message, StreamEvent, ToolUseBlock, Usage
from ..wire.errors import ConfigurationError, MaxIterationsError
from .tools import Tool, ToolResult

if TYPE_CHECKING:
    from ..client.client import Client

__all__ = [
    "RunnerEvent",
    "RunnerStatus",
    "ToolCall",
    "ToolRunner",
    "Turn",
    "check_loop_limits",
    "sum_usage",
    "tool_table",
    "tool_runner",
]

RunnerStatus = Literal[
    "not_started", "running", "completed", "max_iterations", "failed", "cancelled"
]
#: ``prepare_request``: sees each request's keyword arguments, returns the ones to send.
PrepareRequest = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ToolCall(msgspec.Struct, kw_only=True, gc=False):
    """One tool call of a turn: what the model asked for and what it got back."""

    id: str
    name: str
    input: dict[str, Any]
    content: str | list[dict[str, Any]]
    is_error: bool
    #: Seconds the tool ran (from after the ``max_parallel_tools`` slot was taken).
    duration: float

    def result_block(self) -> dict[str, Any]:
        """The ``tool_result`` block for this call."""
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": self.id,
            "content": self.content,
        }
        if self.is_error:
            block["is_error"] = True
        return block


class Turn(msgspec.Struct, kw_only=True):
    """One request of the loop: the messages sent, the reply, the tools it ran."""

    messages: list[dict[str, Any]]
    message: Message
    calls: list[ToolCall] = msgspec.field(default_factory=list)


#: What ``runner.events()`` yields: the model's stream events as they arrive, a
#: ToolCall as each tool finishes, and the turn's complete Message at its end.
RunnerEvent = StreamEvent | ToolCall | Message


def sum_usage(usages: Iterable[Usage]) -> Usage:
    """The token counts of several responses added up (cache counts too)."""
    inp = out = written = read = 0
    for usage in usages:
        inp += usage.input_tokens
        out += usage.output_tokens
        written += usage.cache_creation_input_tokens or 0
        read += usage.cache_read_input_tokens or 0
    return Usage(
        input_tokens=inp,
        output_tokens=out,
        cache_creation_input_tokens=written,
        cache_read_input_tokens=read,
    )


def tool_table(tools: Sequence[Tool[Any] | dict[str, Any]]) -> dict[str, Tool[Any]]:
    table: dict[str, Tool[Any]] = {}
    for item in tools:
        if isinstance(item, Tool):
            if item.name in table:
                raise ConfigurationError(f"tools: two tools are named {item.name!r}")
            table[item.name] = item
        elif not isinstance(item, dict):
            raise ConfigurationError(
                "tools: expected @rawclaude.tool functions or tool dicts, "
                f"got {type(item).__name__}"
            )
    return table


def check_loop_limits(max_iterations: int, max_parallel: int | None, timeout: float | None) -> None:
    if (
        isinstance(max_iterations, bool)
        or not isinstance(max_iterations, int)
        or max_iterations < 1
    ):
        raise ConfigurationError(f"max_iterations must be an int >= 1, got {max_iterations!r}")
    if max_parallel is not None and (not isinstance(max_parallel, int) or max_parallel < 1):
        raise ConfigurationError(f"max_parallel_tools must be None or >= 1, got {max_parallel!r}")
    if timeout is not None and not timeout > 0:
        raise ConfigurationError(f"tool_timeout must be None or > 0 seconds, got {timeout!r}")


class ToolRunner:
    """The agent loop over ``client.messages``. Runs once.

    ``async for message in runner`` yields each assistant message;
    ``await runner.until_done()`` runs to the end and returns the last one;
    ``async for event in runner.events()`` streams each turn instead.

    After (or during) a run: ``status``, ``messages`` (the whole conversation,
    as sent next), ``turns`` (per request: messages sent, reply, tool calls),
    ``calls`` (every tool call), ``usage`` (summed over the loop).
    """

    def __init__(
        self,
        client: Client,
        *,
        tools: Sequence[Tool[Any] | dict[str, Any]],
        max_iterations: int = 10,
        max_parallel_tools: int | None = None,
        tool_timeout: float | None = None,
        prepare_request: PrepareRequest | None = None,
        **params: Any,
    ) -> None:
        check_loop_limits(max_iterations, max_parallel_tools, tool_timeout)
        for required in ("model", "max_tokens", "messages"):
            if required not in params:
                raise ConfigurationError(f"tool_runner needs {required}=")
        if "stream" in params:
            raise ConfigurationError("stream: use runner.events() to stream a tool loop")
        messages = params.pop("messages")
        if not isinstance(messages, list) or not messages:
            raise ConfigurationError("messages must be a non-empty list")
        self._client = client
        self._tools = tool_table(tools)
        self._definitions = [t.definition if isinstance(t, Tool) else t for t in tools]
        self._params = params
        self._prepare = prepare_request
        self._semaphore = asyncio.Semaphore(max_parallel_tools) if max_parallel_tools else None
        self.max_iterations = max_iterations
        self.tool_timeout = tool_timeout
        self.messages: list[dict[str, Any]] = list(messages)
        self.turns: list[Turn] = []
        self.status: RunnerStatus = "not_started"
        #: The exception that ended the run, when ``status == "failed"``.
        self.error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<ToolRunner {self.status} turns={len(self.turns)}>"

    # -- what callers read ---------------------------------------------------

    @property
    def calls(self) -> list[ToolCall]:
        """Every tool call of the run, turn by turn, in ``tool_use`` order."""
        return [call for turn in self.turns for call in turn.calls]

    @property
    def usage(self) -> Usage:
        """Token usage summed over every request of the loop."""
        return sum_usage(turn.message.usage for turn in self.turns)

    @property
    def last_message(self) -> Message | None:
        return self.turns[-1].message if self.turns else None

    # -- running ---------------------------------------------------------------

    def __aiter__(self) -> AsyncGenerator[Message, None]:
        return self._messages()

    async def _messages(self) -> AsyncGenerator[Message, None]:
        # aclosing: an abandoned outer generator closes the inner ones at once
        # (cancelling the running tools), not whenever they are collected.
        async with aclosing(self._run(streaming=False)) as items:
            async for item in items:
                if isinstance(item, Message):
                    yield item

    def events(self) -> AsyncGenerator[RunnerEvent, None]:
        """Stream the loop: each turn's stream events, its tool calls, its Message."""
        return self._run(streaming=True)

    async def until_done(self) -> Message:
        """Run to the end; the last assistant message.

        Raises MaxIterationsError (holding that message) when the loop stopped
        at ``max_iterations`` with tool calls still unanswered.
        """
        if self.status == "not_started":
            async for _ in self:
                pass
        last = self.last_message
        if self.status == "max_iterations":
            raise MaxIterationsError(
                f"the tool loop stopped after max_iterations={self.max_iterations} requests "
                f"before the model finished (last stop_reason: "
                f"{last.stop_reason if last else None!r})",
                message=last,
            )
        if last is None:
            raise RuntimeError(f"the tool runner ended without a message (status {self.status})")
        return last

    async def _run(self, *, streaming: bool) -> AsyncGenerator[RunnerEvent, None]:
        if self.status != "not_started":
            raise RuntimeError("a ToolRunner runs once; make a new one")
        self.status = "running"
        try:
            async with aclosing(self._loop(streaming)) as items:
                async for item in items:
                    yield item
        except (asyncio.CancelledError, GeneratorExit):
            self.status = "cancelled"
            raise
        except BaseException as exc:
            self.status, self.error = "failed", exc
            raise

    async def _loop(self, streaming: bool) -> AsyncGenerator[RunnerEvent, None]:
        while True:
            message: Message | None = None
            async with aclosing(self._ask(streaming)) as asked:
                async for item in asked:
                    if isinstance(item, Message):
                        message = item
                    else:
                        yield item
            assert message is not None, "the request yields its message last"
            self.messages.append({"role": "assistant", "content": _content(message)})
            yield message
            uses = [b for b in message.content if isinstance(b, ToolUseBlock)]
            paused = message.stop_reason == "pause_turn"
            if not paused and (message.stop_reason != "tool_use" or not uses):
                self.status = "completed"
                return
            if len(self.turns) >= self.max_iterations:
                self.status = "max_iterations"
                return
            if paused:
                continue  # "pause_turn": send the turn back as it is and the model resumes
            calls = self.turns[-1].calls
            async with aclosing(self._run_tools(uses, calls)) as running:
                async for call in running:
                    yield call
            self.messages.append({"role": "user", "content": [c.result_block() for c in calls]})

    async def _ask(self, streaming: bool) -> AsyncGenerator[StreamEvent | Message, None]:
        kwargs: dict[str, Any] = {**self._params, "messages": list(self.messages)}
        if self._definitions:
            kwargs["tools"] = list(self._definitions)
        if self._prepare is not None:
            kwargs = await self._prepare(kwargs)
        if streaming:
            async with self._client.messages.stream(**kwargs) as stream:
                async for event in stream:
                    yield event
                message = await stream.get_final_message()
        else:
            message = await self._client.messages.create(**kwargs)
        self.turns.append(Turn(messages=kwargs["messages"], message=message))
        yield message

    # -- tools -------------------------------------------------------------------

    async def _run_tools(
        self, uses: list[ToolUseBlock], calls: list[ToolCall]
    ) -> AsyncGenerator[ToolCall, None]:
        """Run every tool_use at once; yield each call as it finishes; fill ``calls``
        in the order of the tool_use blocks."""
        tasks = [asyncio.ensure_future(self._call(use)) for use in uses]
        try:
            for next_done in asyncio.as_completed(tasks):
                yield await next_done
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        calls.extend(task.result() for task in tasks)

    async def _call(self, use: ToolUseBlock) -> ToolCall:
        tool = self._tools.get(use.name)
        if tool is None:
            known = ", ".join(sorted(self._tools)) or "none"
            result = ToolResult(f"Unknown tool {use.name!r}; tools available: {known}", True)
            return _record(use, result, 0.0)
        if self._semaphore is None:
            return await self._timed(tool, use)
        async with self._semaphore:
            return await self._timed(tool, use)

    async def _timed(self, tool: Tool[Any], use: ToolUseBlock) -> ToolCall:
        start = time.perf_counter()
        if self.tool_timeout is None:
            result = await tool.run(use.input)
        else:
            try:
                result = await asyncio.wait_for(tool.run(use.input), self.tool_timeout)
            except asyncio.TimeoutError:
                result = ToolResult(
                    f"Tool {use.name!r} timed out after {self.tool_timeout:g} s", is_error=True
                )
        return _record(use, result, time.perf_counter() - start)


def _record(use: ToolUseBlock, result: ToolResult, duration: float) -> ToolCall:
    return ToolCall(
        id=use.id,
        name=use.name,
        input=use.input,
        content=result.content,
        is_error=result.is_error,
        duration=duration,
    )


def _content(message: Message) -> list[Any]:
    """The reply's content as the next request's assistant turn (the API's own JSON)."""
    content: list[Any] = msgspec.to_builtins(message.content)
    return content


def tool_runner(
    client: Client,
    *,
    tools: Sequence[Tool[Any] | dict[str, Any]],
    max_iterations: int = 10,
    max_parallel_tools: int | None = None,
    tool_timeout: float | None = None,
    **params: Any,
) -> ToolRunner:
    """A :class:`ToolRunner` over ``client`` (``client.messages.tool_runner`` calls this)."""
    return ToolRunner(
        client,
        tools=tools,
        max_iterations=max_iterations,
        max_parallel_tools=max_parallel_tools,
        tool_timeout=tool_timeout,
        **params,
    )
