"""A logging hook: one structured record per call on the ``rawclaude`` logger.

Each finished call logs one line -- model, status or error class, attempts,
latency, time to first token, input / output / cache tokens, cost and request
id -- with the same fields as a dict in ``record.rawclaude`` for structured
handlers (JSON formatters read it from the LogRecord). Records never hold a
credential: the pipeline's records carry none. ``ANTHROPIC_LOG=info`` or
``debug`` turns it on for every client, as the official SDK's variable does.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ..policy.cost import Cost, try_cost
from ..policy.prices import PriceTable
from .hooks import CallRecord, Hook, RequestRecord

__all__ = ["LoggingHook", "logging_hook_from_env"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}

_MESSAGE = (
    "rawclaude %(kind)s model=%(model)s status=%(status)s error=%(error)s "
    "attempts=%(attempts)d latency=%(latency).3fs ttft=%(ttft)s "
    "in=%(input_tokens)d out=%(output_tokens)d cache_write=%(cache_write_tokens)d "
    "cache_read=%(cache_read_tokens)d cost=%(cost)s request_id=%(request_id)s"
)


class LoggingHook(Hook):
    """Logs each finished call at ``level`` (errors at WARNING), attempts at DEBUG."""

    def __init__(
        self,
        logger: logging.Logger | str = "rawclaude",
        *,
        level: int = logging.INFO,
        prices: PriceTable | None = None,
    ) -> None:
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.level = level
        self.prices = prices

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
        logger = self.logger
        # makeRecord + handle, as Logger.log does minus findCaller's stack walk
        # (the caller is always this hook): the costliest step of a log call.
        entry = logger.makeRecord(
            logger.name, level, __file__, 0, _MESSAGE, (fields,), None,
            extra={"rawclaude": fields},
        )  # fmt: skip
        logger.handle(entry)

    def fields(self, record: CallRecord) -> dict[str, Any]:
        usage = record.usage
        cost: str | None = None
        tokens = (0, 0, 0, 0)
        if usage is not None:
            priced = try_cost(usage, model=record.model, prices=self.prices)
            t = priced.tokens
            tokens = (t.input, t.output, t.cache_write, t.cache_read)
            cost = f"{priced.total.normalize():f}" if isinstance(priced, Cost) else None
        return {
            "kind": record.kind,
            "model": record.model,
            "status": record.status,
            "error": record.error_type,
            "end": record.end,
            "attempts": record.attempts,
            "latency": record.latency,
            "ttft": None if record.ttft is None else round(record.ttft, 4),
            "input_tokens": tokens[0],
            "output_tokens": tokens[1],
            "cache_write_tokens": tokens[2],
            "cache_read_tokens": tokens[3],
            "cost": cost,
            "request_id": record.request_id,
            "tags": dict(record.tags),
        }


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
