"""``rawclaude.Conversation``: a chat history that trims itself, caches its prefix,
runs tools and can live in a store.

Each ``send`` appends the user's message, runs the tool loop (one request when
there are no tools or the model calls none), and on success appends the
replies and tool results. A failed send changes nothing, so it can simply be
retried. See ``history`` for the trimming and cache-breakpoint rules.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from ..types import ContentBlockDeltaEvent, Message, TextDelta, Usage
from ..wire.errors import (
    ConfigurationError,
    ContextBudgetError,
    ConversationConflictError,
    MaxIterationsError,
)
from .history import (
    MAX_BREAKPOINTS,
    CacheTTL,
    blocks_form,
    cache_control,
    count_breakpoints,
    estimate_tokens,
    is_turn_start,
    mark_last_block,
    mark_system,
    merge_leading_users,
    turn_starts,
    with_user_message,
)
from .runner import RunnerEvent, ToolRunner, check_loop_limits, sum_usage, tool_table
from .tools import Tool

if TYPE_CHECKING:
    from ..client.client import Client
    from .store import ConversationStore

__all__ = ["Conversation", "ConversationState", "ConversationStream"]


class ConversationState(msgspec.Struct, kw_only=True):
    """What a conversation's JSON holds (the store's version is kept beside it)."""

    id: str
    model: str
    system: str | list[dict[str, Any]] | None = None
    messages: list[dict[str, Any]] = msgspec.field(default_factory=list)


_STATE = msgspec.json.Decoder(ConversationState)


def _check(max_input_tokens: int | None, trim_to: float, cache_ttl: str, on_conflict: str) -> None:
    if max_input_tokens is not None and (
        isinstance(max_input_tokens, bool)
        or not isinstance(max_input_tokens, int)
        or max_input_tokens < 1
    ):
        raise ConfigurationError(
            f"max_input_tokens must be None or an int >= 1, got {max_input_tokens!r}"
        )
    if not 0 < trim_to <= 1:
        raise ConfigurationError(f"trim_to must be in (0, 1], got {trim_to!r}")
    if cache_ttl not in ("5m", "1h"):
        raise ConfigurationError(f"cache_ttl must be '5m' or '1h', got {cache_ttl!r}")
    if on_conflict not in ("retry", "raise"):
        raise ConfigurationError(f"on_conflict must be 'retry' or 'raise', got {on_conflict!r}")


def _check_messages(messages: list[dict[str, Any]]) -> None:
    if messages and not is_turn_start(messages[0]):
        raise ConfigurationError("messages must start with a user message (not tool results)")


class Conversation:
    """A conversation with Claude. ``await conv.send("...")`` returns the reply.

    ``max_input_tokens``: before each request, the oldest turns are dropped
    until the estimate (``exact=True``: ``count_tokens``) fits; when it does
    not, the history is cut to ``trim_to`` of the budget, so the following
    turns keep one prefix (and keep hitting the prompt cache).
    ``keep_first_turn``: the first user message always stays.
    ``cache``: ``cache_control`` breakpoints on the system prompt, the tools,
    the newest user message and the one before it (never more than the API's
    4, counting any the messages already carry), with ``cache_ttl``.
    ``tools``: ``@rawclaude.tool`` functions (or tool dicts) run by a
    :class:`ToolRunner` with ``max_iterations`` / ``max_parallel_tools`` /
    ``tool_timeout``. Other keyword arguments go to every request.
    """

    def __init__(
        self,
        client: Client,
        *,
        model: str,
        system: str | list[dict[str, Any]] | None = None,
        max_tokens: int = 1024,
        max_input_tokens: int | None = None,
        keep_first_turn: bool = False,
        exact: bool = False,
        trim_to: float = 0.75,
        tools: Sequence[Tool[Any] | dict[str, Any]] | None = None,
        max_iterations: int = 10,
        max_parallel_tools: int | None = None,
        tool_timeout: float | None = None,
        cache: bool = True,
        cache_ttl: CacheTTL = "5m",
        id: str | None = None,
        messages: list[dict[str, Any]] | None = None,
        store: ConversationStore | None = None,
        on_conflict: Literal["retry", "raise"] = "retry",
        max_conflict_retries: int = 5,
        **params: Any,
    ) -> None:
        _check(max_input_tokens, trim_to, cache_ttl, on_conflict)
        check_loop_limits(max_iterations, max_parallel_tools, tool_timeout)
        tool_table(tools or [])
        history = list(messages or [])
        _check_messages(history)
        self._client = client
        self.id = id or f"conv_{uuid.uuid4().hex}"
        self.model = model
        self.system = system
        self.max_tokens = max_tokens
        self.max_input_tokens = max_input_tokens
        self.keep_first_turn = keep_first_turn
        self.exact = exact
        self.trim_to = trim_to
        self.tools = list(tools or [])
        self._loop = {
            "max_iterations": max_iterations,
            "max_parallel_tools": max_parallel_tools,
            "tool_timeout": tool_timeout,
        }
        self.cache = cache
        self.cache_ttl = cache_ttl
        self._params = params
        self._history = history
        self._store = store
        self.on_conflict = on_conflict
        self.max_conflict_retries = max_conflict_retries
        #: The store's version this conversation was loaded at (0: never saved).
        self.version = 0
        self._unsaved: list[dict[str, Any]] = []
        self._floor = 0
        #: Usage of every request, oldest first (cache reads and writes included).
        self.usages: list[Usage] = []
        #: The runner of the latest send: its turns, tool calls and status.
        self.last_runner: ToolRunner | None = None

    def __repr__(self) -> str:
        return f"<Conversation {self.id} messages={len(self._history)}>"

    # -- reading ---------------------------------------------------------------

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The history as the next request will build on it (do not mutate)."""
        return self._history

    @property
    def usage(self) -> Usage:
        """Usage summed over every request of this conversation object."""
        return sum_usage(self.usages)

    # -- sending ----------------------------------------------------------------

    async def send(self, content: str | list[dict[str, Any]]) -> Message:
        """Send a user message (text or content blocks); the final reply.

        Raises MaxIterationsError (after keeping the history) when the tool
        loop ran out of iterations; the next send answers the open calls.
        """
        runner = self._runner(content)
        async with aclosing(runner.__aiter__()) as replies:
            async for _ in replies:
                pass
        return await self._finish(runner)

    def stream(self, content: str | list[dict[str, Any]]) -> ConversationStream:
        """Like ``send``, streamed: ``async for event in conv.stream(...)`` (model
        events, tool calls, each turn's Message) or ``.text_stream``; then
        ``await stream.get_final_message()``."""
        return ConversationStream(self, self._runner(content))

    def _runner(self, content: str | list[dict[str, Any]]) -> ToolRunner:
        if not isinstance(content, (str, list)) or not content:
            raise ConfigurationError("content must be a non-empty string or list of blocks")
        self._floor = 0
        runner = ToolRunner(
            self._client,
            tools=self.tools,
            prepare_request=self._prepare,
            **self._loop,  # type: ignore[arg-type]
            **self._params,
            model=self.model,
            max_tokens=self.max_tokens,
            messages=with_user_message(self._history, content),
        )
        self.last_runner = runner
        return runner

    async def _finish(self, runner: ToolRunner) -> Message:
        self._unsaved.extend(runner.messages[len(self._history) :])
        self._history = self._kept(runner.messages, self._floor)
        self.usages.extend(turn.message.usage for turn in runner.turns)
        if self._store is not None:
            await self.save()
        last = runner.last_message
        assert last is not None, "a finished runner has a message"
        if runner.status == "max_iterations":
            raise MaxIterationsError(
                f"the tool loop stopped after max_iterations={runner.max_iterations}",
                message=last,
            )
        return last

    # -- each request: trim, then mark the cache breakpoints -------------------

    async def _prepare(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        messages = kwargs["messages"]
        self._floor = await self._trim(messages, kwargs.get("tools"))
        request = merge_leading_users(self._kept(messages, self._floor))
        system, tools = self.system, kwargs.get("tools")
        if self.cache:
            request, system, tools = self._mark(request, system, tools)
        out = {**kwargs, "messages": request}
        if system is not None:
            out["system"] = system
        if tools is not None:
            out["tools"] = tools
        return out

    def _kept(self, messages: list[dict[str, Any]], floor: int) -> list[dict[str, Any]]:
        if floor == 0:
            return list(messages)
        if self.keep_first_turn:
            return [messages[0], *messages[floor:]]
        return messages[floor:]

    async def _trim(self, messages: list[dict[str, Any]], tools: Any) -> int:
        """The index of the first message to keep (past the kept first turn, if any)."""
        budget = self.max_input_tokens
        if budget is None:
            return 0
        cost = self._counter(messages, tools)
        if await cost(self._floor) <= budget:
            return self._floor
        starts = [s for s in turn_starts(messages) if s > self._floor]
        if not starts:
            needed = await cost(self._floor)
            raise self._over(needed, budget)
        target = budget * self.trim_to
        last = starts[-1]
        if await cost(last) > target:
            needed = await cost(last)
            if needed <= budget:
                return last
            raise self._over(needed, budget)
        lo, hi = 0, len(starts) - 1  # the first start whose cost fits the target
        while lo < hi:
            mid = (lo + hi) // 2
            if await cost(starts[mid]) <= target:
                hi = mid
            else:
                lo = mid + 1
        return starts[lo]

    def _over(self, needed: int, budget: int) -> ContextBudgetError:
        return ContextBudgetError(
            f"the newest turn alone needs about {needed} input tokens, over "
            f"max_input_tokens={budget}; nothing was sent",
            needed=needed,
            budget=budget,
        )

    def _counter(self, messages: list[dict[str, Any]], tools: Any) -> Any:
        """``cost(start)``: input tokens of the request kept from ``start``."""
        if self.exact:

            async def exact(start: int) -> int:
                kept = merge_leading_users(self._kept(messages, start))
                extra: dict[str, Any] = {}
                if self.system is not None:
                    extra["system"] = self.system
                if tools:
                    extra["tools"] = tools
                counted = await self._client.messages.count_tokens(
                    model=self.model, messages=kept, **extra
                )
                return counted.input_tokens

            return exact
        sizes = [estimate_tokens(m) for m in messages]
        suffix = [0] * (len(sizes) + 1)
        for i in range(len(sizes) - 1, -1, -1):
            suffix[i] = suffix[i + 1] + sizes[i]
        fixed = estimate_tokens([self.system, tools])
        first = sizes[0] if self.keep_first_turn else 0

        async def cheap(start: int) -> int:
            return fixed + suffix[start] + (first if start > 0 else 0)

        return cheap

    def _mark(
        self, messages: list[dict[str, Any]], system: Any, tools: list[Any] | None
    ) -> tuple[list[dict[str, Any]], Any, list[Any] | None]:
        """Place breakpoints: system, tools, newest user message, the user message before."""
        marker = cache_control(self.cache_ttl)
        # A breakpoint turns a string content into a text block; every message takes
        # the block form so the prefix reads the same whichever messages are marked.
        messages = [blocks_form(m) for m in messages]
        room = MAX_BREAKPOINTS - count_breakpoints([messages, system, tools])
        if room > 0 and system is not None:
            marked = mark_system(system, marker)
            if marked is not None:
                system, room = marked, room - 1
        if room > 0 and tools and "cache_control" not in tools[-1]:
            tools, room = [*tools[:-1], {**tools[-1], "cache_control": marker}], room - 1
        users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
        for index in reversed(users[-2:]):
            if room <= 0:
                break
            marked_message = mark_last_block(messages[index], marker)
            if marked_message is not None:
                messages = [*messages[:index], marked_message, *messages[index + 1 :]]
                room -= 1
        return messages, system, tools

    # -- JSON and stores --------------------------------------------------------

    @property
    def state(self) -> ConversationState:
        return ConversationState(
            id=self.id, model=self.model, system=self.system, messages=self._history
        )

    def to_json(self) -> bytes:
        """The conversation (id, model, system, messages) as JSON."""
        return msgspec.json.encode(self.state)

    @classmethod
    def from_json(cls, client: Client, data: bytes | str, **options: Any) -> Conversation:
        """A conversation from ``to_json`` output; ``options`` as for the constructor
        (tools are functions: pass them again)."""
        try:
            state = _STATE.decode(data)
        except msgspec.DecodeError as exc:
            raise ConfigurationError(f"data is not a saved conversation: {exc}") from exc
        options.setdefault("model", state.model)
        options.setdefault("system", state.system)
        return cls(client, id=state.id, messages=state.messages, **options)

    @classmethod
    async def open(
        cls, client: Client, store: ConversationStore, conversation_id: str, **options: Any
    ) -> Conversation:
        """The stored conversation ``conversation_id`` (a new one if there is none),
        saved to ``store`` after every send."""
        loaded = await store.load(conversation_id)
        if loaded is None:
            return cls(client, id=conversation_id, store=store, **options)
        data, version = loaded
        conv = cls.from_json(client, data, store=store, **options)
        conv.version = version
        return conv

    async def save(self) -> None:
        """Save to the store; on a conflict, rebase this writer's new messages onto the
        stored ones and try again (``on_conflict="retry"``, up to
        ``max_conflict_retries``), else raise ConversationConflictError."""
        store = self._store
        if store is None:
            raise ConfigurationError("store: this conversation was made without a store")
        attempt = 0
        while True:
            try:
                self.version = await store.save(
                    self.id, self.to_json(), expected_version=self.version
                )
            except ConversationConflictError:
                if self.on_conflict == "raise" or attempt >= self.max_conflict_retries:
                    raise
                attempt += 1
                await self._rebase(store)
                continue
            self._unsaved.clear()
            return

    async def _rebase(self, store: ConversationStore) -> None:
        """The stored history, then this writer's unsaved messages (none lost)."""
        loaded = await store.load(self.id)
        stored: list[dict[str, Any]] = []
        version = 0
        if loaded is not None:
            stored, version = _STATE.decode(loaded[0]).messages, loaded[1]
        history = list(stored)
        if self._unsaved:
            first, rest = self._unsaved[0], self._unsaved[1:]
            # Its answers to tool calls belong to the old tail: rebuild them for this one.
            history = [*with_user_message(history, _without_results(first["content"])), *rest]
        self._history, self.version = history, version


def _without_results(content: Any) -> Any:
    if not isinstance(content, list):
        return content
    return [b for b in content if not (isinstance(b, dict) and b.get("type") == "tool_result")]


class ConversationStream:
    """``conv.stream(...)``: iterate it for events, or ``text_stream`` for text."""

    def __init__(self, conversation: Conversation, runner: ToolRunner) -> None:
        self._conversation = conversation
        self._runner = runner
        self._events = self._run()
        #: The final reply, once the stream is done.
        self.reply: Message | None = None

    async def _run(self) -> AsyncGenerator[RunnerEvent, None]:
        async with aclosing(self._runner.events()) as events:
            async for event in events:
                yield event
        self.reply = await self._conversation._finish(self._runner)

    def __aiter__(self) -> AsyncIterator[RunnerEvent]:
        return self._events

    @property
    def text_stream(self) -> AsyncIterator[str]:
        return self._texts()

    async def _texts(self) -> AsyncGenerator[str, None]:
        async for event in self._events:
            if isinstance(event, ContentBlockDeltaEvent) and isinstance(event.delta, TextDelta):
                yield event.delta.text

    async def get_final_message(self) -> Message:
        async for _ in self._events:
            pass
        if self.reply is None:
            raise RuntimeError("the conversation stream was closed before its end")
        return self.reply

    async def __aenter__(self) -> ConversationStream:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._events.aclose()
