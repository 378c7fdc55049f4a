"""An OpenTelemetry hook (extra ``rawclaude[otel]``; ``opentelemetry`` imported lazily).

One span per call, named ``chat {model}`` (kind CLIENT), with the GenAI
semantic-convention attributes (``gen_ai.operation.name``, ``gen_ai.provider.name``
and the older ``gen_ai.system``, ``gen_ai.request.model``,
``gen_ai.usage.input_tokens`` -- all prompt tokens, cached ones
included, as the conventions ask -- ``gen_ai.usage.output_tokens``,
``gen_ai.usage.cache_read.input_tokens``, ``gen_ai.usage.cache_creation.input_tokens``,
``server.address`` / ``server.port``, ``error.type``), a ``gen_ai.first_token``
event at the stream's time to first token, and the metrics
``gen_ai.client.token.usage`` (by ``gen_ai.token.type``),
``gen_ai.client.operation.duration`` and
``gen_ai.client.operation.time_to_first_chunk``. The span is recorded when
the call completes, with its real start and end times.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..client.hooks import CallRecord, Hook

__all__ = ["OpenTelemetryHook"]

_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304]
_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
                     20.48, 40.96, 81.92]  # fmt: skip


class OpenTelemetryHook(Hook):
    """Spans and metrics for every call (the global providers unless given)."""

    def __init__(self, *, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        try:
            from opentelemetry import metrics, trace
        except ImportError:  # pragma: no cover - depends on the environment
            from ..wire.errors import ConfigurationError

            raise ConfigurationError(
                "OpenTelemetryHook needs opentelemetry-api: pip install 'rawclaude[otel]'"
            ) from None
        self._trace = trace
        self.tracer = trace.get_tracer("rawclaude", tracer_provider=tracer_provider)
        meter = metrics.get_meter("rawclaude", meter_provider=meter_provider)
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )  # fmt: skip
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )  # fmt: skip
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk", unit="s",
            description="Time to receive the first chunk of a streaming response",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )  # fmt: skip

    def on_complete(self, record: CallRecord) -> None:
        base = _base_attributes(record)
        attributes = dict(base)
        tokens = record.tokens
        if tokens is not None:
            attributes["gen_ai.usage.input_tokens"] = tokens.prompt
            attributes["gen_ai.usage.output_tokens"] = tokens.output
            attributes["gen_ai.usage.cache_read.input_tokens"] = tokens.cache_read
            attributes["gen_ai.usage.cache_creation.input_tokens"] = tokens.cache_write
        if record.request_id:
            attributes["anthropic.request_id"] = record.request_id
        if record.attempts:
            attributes["anthropic.attempts"] = record.attempts
        start = int(record.started_at * 1e9)
        end = start + int(record.latency * 1e9)
        span = self.tracer.start_span(
            f"chat {record.model or ''}".strip(),
            kind=self._trace.SpanKind.CLIENT,
            attributes=attributes,
            start_time=start,
        )
        if record.ttft is not None:
            span.add_event("gen_ai.first_token", timestamp=start + int(record.ttft * 1e9))
        if record.error is not None:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, record.error_type))
        span.end(end_time=end)
        self.duration.record(record.latency, base)
        if record.ttft is not None:
            self.first_chunk.record(record.ttft, base)
        if tokens is not None:
            self.tokens.record(tokens.prompt, {**base, "gen_ai.token.type": "input"})
            self.tokens.record(tokens.output, {**base, "gen_ai.token.type": "output"})


def _base_attributes(record: CallRecord) -> dict[str, Any]:
    parts = urlsplit(record.url)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.system": "anthropic",
        "server.address": parts.hostname or "",
    }
    if parts.port is not None:
        attributes["server.port"] = parts.port
    if record.model:
        attributes["gen_ai.request.model"] = record.model
    if record.error is not None:
        attributes["error.type"] = record.error_type
    return attributes
