"""A logging hook: one structured record per call on the ``rawclaude`` logger.

Each finished call logs one line -- model, status or error class, attempts,
latency, time to first token, input / output / cache tokens, cost and request
id -- with the same fields as a dict in ``record.rawclaude`` for structured
handlers (JSON formatters read it from the LogRecord). Records never hold a
credential: the pipeline's records carry none. Message content only with
``content=True`` (the last user turn and the answer, cut short).
``ANTHROPIC_LOG=info`` or ``debug`` turns it on for every client, as the
official SDK's variable does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Mapping
from functools import partial
from typing import Any

from ..policy.cost import cost_units, format_units
from ..policy.prices import PriceTable
from ..wire.errors import ConfigurationError
from .hooks import CallRecord, Hook, RequestRecord

__all__ = ["LoggingHook", "logging_hook_from_env"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}

_MESSAGE = (
    "rawclaude %(kind)s model=%(model)s status=%(status)s error=%(error)s "
    "attempts=%(attempts)d latency=%(latency).3fs ttft=%(ttft)s "
    "in=%(input_tokens)d out=%(output_tokens)d cache_write=%(cache_write_tokens)d "
    "cache_read=%(cache_read_tokens)d cost=%(cost)s request_id=%(request_id)s"
)
_CONTENT_MESSAGE = _MESSAGE + " prompt=%(prompt)r output=%(output)r"


def _cut(text: str | None, limit: int) -> str | None:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}...[{len(text) - limit} more chars]"


def _text_of(content: Any) -> str | None:
    """A turn's or a message's content as text: a string, or its text blocks joined
    (request dicts or typed response blocks)."""
    if isinstance(content, str) or content is None:
        return content
    if not isinstance(content, list):
        return None
    parts = []
    for block in content:
        get = block.get if isinstance(block, Mapping) else partial(getattr, block)
        text = get("text", None)
        if get("type", None) == "text" and isinstance(text, str):
            parts.append(text)
    return "".join(parts)


def _last_user_text(params: Mapping[str, Any] | None) -> str | None:
    """The text of the request's last user turn."""
    messages = params.get("messages") if params else None
    if not isinstance(messages, list):
        return None
    for turn in reversed(messages):
        if isinstance(turn, Mapping) and turn.get("role") == "user":
            return _text_of(turn.get("content"))
    return None


class LoggingHook(Hook):
    """Logs each finished call at ``level`` (errors at WARNING), attempts at DEBUG.

    ``content=True`` adds the last user turn (``prompt``) and the answer's text
    (``output``), each cut to ``max_content_chars``: off by default, since
    prompts carry what users typed (after any redaction stage, which runs
    before the request is recorded).
    """

    def __init__(
        self,
        logger: logging.Logger | str = "rawclaude",
        *,
        level: int = logging.INFO,
        prices: PriceTable | None = None,
        content: bool = False,
        max_content_chars: int = 500,
    ) -> None:
        if not isinstance(content, bool):
            raise ConfigurationError(f"content must be True or False, got {content!r}")
        if (
            not isinstance(max_content_chars, int)
            or isinstance(max_content_chars, bool)
            or (max_content_chars < 1)
        ):
            raise ConfigurationError(
                f"max_content_chars must be an int >= 1, got {max_content_chars!r}"
            )
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.level = level
        self.prices = prices
        #: Read by the pipeline: a stream's final message is built for this hook.
        self.content = content
        self.max_content_chars = max_content_chars
        self._records = _RecordMaker()

    def on_request(self, record: RequestRecord) -> None:
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug(
                "rawclaude attempt %d %s %s model=%s",
                record.attempt, record.method, record.url, record.model,
            )  # fmt: skip

    def on_complete(self, record: CallRecord) -> None:
        level = self.level if record.error is None else max(self.level, logging.WARNING)
        if not self.logger.isEnabledFor(level):
            return
        fields = self.fields(record)
        message = _CONTENT_MESSAGE if self.content else _MESSAGE
        self.logger.handle(self._records.make(self.logger, level, message, fields))

    def fields(self, record: CallRecord) -> dict[str, Any]:
        cost: str | None = None
        inputs = outputs = writes = reads = 0
        t = record.tokens
        if t is not None:
            inputs, outputs, reads = t.input, t.output, t.cache_read
            writes = t.cache_write_5m + t.cache_write_1h
            units = cost_units(t, record.model, prices=self.prices)
            cost = None if units is None else format_units(units)
        error, ttft = record.error, record.ttft
        fields: dict[str, Any] = {
            "kind": record.kind,
            "model": record.model,
            "status": record.status,
            "error": None if error is None else type(error).__name__,
            "end": record.end,
            "attempts": record.attempts,
            "latency": record.latency,
            "ttft": None if ttft is None else round(ttft, 4),
            "input_tokens": inputs,
            "output_tokens": outputs,
            "cache_write_tokens": writes,
            "cache_read_tokens": reads,
            "cost": cost,
            "request_id": record.request_id,
            "tags": dict(record.tags),
        }
        if self.content:
            fields["prompt"] = _cut(_last_user_text(record.request), self.max_content_chars)
            output = _text_of(getattr(record.response, "content", None))
            fields["output"] = _cut(output, self.max_content_chars)
        return fields


class _RecordMaker:
    """LogRecords for the hook's one call site, copied from a template.

    ``LogRecord.__init__`` works out per record what never changes for one call
    site in one thread (file and module names, process, thread and their
    names): the costliest part of a log call. The template is a record made
    by ``LogRecord`` itself, remade when the thread, process, logger or level
    changes; each record copies it and sets its time and message. With a
    custom record factory or a Logger subclass that overrides ``makeRecord``,
    records are made the standard way.
    """

    __slots__ = ("_key", "_start", "_template")

    def __init__(self) -> None:
        self._key: tuple[Any, ...] = ()
        self._template: dict[str, Any] = {}
        self._start = 0.0

    def make(
        self, logger: logging.Logger, level: int, message: str, fields: dict[str, Any]
    ) -> logging.LogRecord:
        if (
            logging.getLogRecordFactory() is not logging.LogRecord
            or type(logger).makeRecord is not logging.Logger.makeRecord
        ):
            return logger.makeRecord(logger.name, level, __file__, 0, message, (fields,), None,
                                     extra={"rawclaude": fields})  # fmt: skip
        key = (threading.get_ident(), _PID[0], logger.name, level, message)
        if key != self._key:
            model = logging.LogRecord(logger.name, level, __file__, 0, message, (), None)
            self._template = dict(model.__dict__)
            self._start = model.created - model.relativeCreated / 1000
            self._key = key
        entry = dict(self._template)
        now = time.time()
        entry["created"] = now
        entry["msecs"] = int((now - int(now)) * 1000) + 0.0
        entry["relativeCreated"] = (now - self._start) * 1000
        entry["args"] = fields
        entry["rawclaude"] = fields
        if "taskName" in entry:  # Python 3.12+: the asyncio task logging from
            entry["taskName"] = _task_name()
        record = logging.LogRecord.__new__(logging.LogRecord)
        record.__dict__ = entry
        return record


#: This process's id, kept current across fork (os.getpid() is a system call).
_PID = [os.getpid()]


def _forked() -> None:
    _PID[0] = os.getpid()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_forked)


def _task_name() -> str | None:
    if not getattr(logging, "logAsyncioTasks", False):
        return None
    try:
        return asyncio.current_task().get_name()  # type: ignore[union-attr]
    except Exception:
        return None


def logging_hook_from_env(environ: Any = None) -> LoggingHook | None:
    """A LoggingHook when ``ANTHROPIC_LOG`` is ``info`` or ``debug`` (a stderr handler is
    added to the ``rawclaude`` logger if it has none), else None."""
    value = (environ if environ is not None else os.environ).get("ANTHROPIC_LOG", "")
    level = _LEVELS.get(value.strip().lower())
    if level is None:
        return None
    logger = logging.getLogger("rawclaude")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    return LoggingHook(logger, level=logging.INFO)
