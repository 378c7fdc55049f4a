"""The redaction request stage: user text redacted before a Messages request is encoded.

``Client(request_stages=[RedactionStage()])``. Counts per kind accumulate in
``stage.totals``; ``on_report(report)`` sees each request's report (counts,
never values). See :mod:`rawclaude.policy.redact` for what is found.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from ..policy.redact import RedactionReport, Redactor

__all__ = ["RedactionStage"]

log = logging.getLogger("rawclaude")


class RedactionStage:
    def __init__(
        self,
        redactor: Redactor | None = None,
        *,
        roles: Collection[str] = ("user",),
        system: bool = False,
        tool_results: bool = True,
        tool_inputs: bool = False,
        on_report: Callable[[RedactionReport], Any] | None = None,
    ) -> None:
        self.redactor = redactor or Redactor()
        self.options = {"roles": tuple(roles), "system": system,
                        "tool_results": tool_results, "tool_inputs": tool_inputs}  # fmt: skip
        self.on_report = on_report
        self.totals: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        new, report = self.redactor.redact_request(params, **self.options)  # type: ignore[arg-type]
        if not report:
            return params
        with self._lock:
            self.totals.update(report.counts)
        log.info("rawclaude: redacted %s", dict(report.counts))
        if self.on_report is not None:
            self.on_report(report)
        return dict(new)
