"""Message Batches, request side: checking requests and encoding batch bodies.

Pure (layer 0). The API's rules ("Create a Message Batch", "Batch
processing"), checked here so that a mistake costs no round trip:

* a request is ``{"custom_id": ..., "params": {...}}`` and nothing else;
* ``custom_id`` is 1-64 characters of ``[A-Za-z0-9_-]``, unique in its batch;
* ``params`` are Messages API parameters (``model``, ``max_tokens``,
  ``messages`` at least), checked against the API version's rules, and not
  streaming (a batch has no stream to send);
* a batch holds at most 100,000 requests and 256 MB of request body.

Every mistake is a ``ConfigurationError`` naming the request by its index in
the caller's input and its ``custom_id``.

:class:`BatchEncoder` encodes request after request straight into the body
of the batch being built (each request encoded once, appended to one
``bytearray``, no copy of the whole), and hands out a finished body whenever the next
request would break a limit. So ``create_many`` holds one batch body at a
time, never the caller's whole input twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgspec

from .errors import ConfigurationError, UnsupportedParameterError
from .headers import check_params

__all__ = [
    "MAX_BATCH_REQUESTS",
    "MAX_BATCH_BYTES",
    "BatchRequest",
    "EncodedBatch",
    "BatchEncoder",
    "encode_batch",
    "encode_batches",
]

#: At most this many requests in one batch (API docs).
MAX_BATCH_REQUESTS = 100_000
#: At most this many bytes of request body per batch: "256 MB" in the API
#: docs, read as decimal megabytes so that either reading is respected.
MAX_BATCH_BYTES = 256_000_000

_CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HEAD = b'{"requests":['
_TAIL = b"]}"
_REQUEST_KEYS = frozenset({"custom_id", "params"})
_ENCODER = msgspec.json.Encoder()


class BatchRequest(msgspec.Struct, kw_only=True):
    """One request of a batch: a ``custom_id`` and Messages API ``params``.

    The same as the dict ``{"custom_id": ..., "params": {...}}``, which is
    accepted too::

        BatchRequest(custom_id="ticket-42", params={
            "model": "claude-haiku-4-5", "max_tokens": 64,
            "messages": [{"role": "user", "content": "Classify: ..."}],
        })
    """

    custom_id: str
    params: dict[str, Any]


class EncodedBatch:
    """A finished batch body (``{"requests":[...]}``) and what it holds.

    ``body`` is a ``bytearray`` handed over to the caller (the encoder keeps
    no reference), so sending it needs no copy. ``first_index`` is the index
    of its first request in the caller's input.
    """

    __slots__ = ("body", "count", "first_index")

    def __init__(self, body: bytearray, count: int, first_index: int) -> None:
        self.body = body
        self.count = count
        self.first_index = first_index

    def __repr__(self) -> str:
        return (
            f"EncodedBatch(count={self.count}, first_index={self.first_index}, "
            f"size={len(self.body)})"
        )


def _where(index: int, custom_id: object) -> str:
    return f"requests[{index}] (custom_id={custom_id!r})"


def _parts(index: int, request: object) -> tuple[str, dict[str, Any]]:
    """The ``custom_id`` and ``params`` of one request, shape checked."""
    custom_id: object
    params: object
    if isinstance(request, BatchRequest):
        custom_id, params = request.custom_id, request.params
    elif isinstance(request, Mapping):
        extra = set(request) - _REQUEST_KEYS
        if extra:
            raise ConfigurationError(
                f"{_where(index, request.get('custom_id'))}: unexpected key(s) "
                f"{sorted(map(str, extra))}; a batch request is "
                '{"custom_id": ..., "params": {...}}'
            )
        custom_id, params = request.get("custom_id"), request.get("params")
    else:
        raise ConfigurationError(
            f"requests[{index}] must be a dict {{'custom_id': ..., 'params': {{...}}}} "
            f"or a rawclaude.BatchRequest, got {type(request).__name__}"
        )
    if not isinstance(custom_id, str) or not _CUSTOM_ID.fullmatch(custom_id):
        raise ConfigurationError(
            f"{_where(index, custom_id)}: custom_id must be 1 to 64 characters of [A-Za-z0-9_-]"
        )
    if not isinstance(params, dict):
        raise ConfigurationError(
            f"{_where(index, custom_id)}: params must be a dict of Messages API "
            f"parameters, got {type(params).__name__}"
        )
    return custom_id, params


def _check_params(index: int, custom_id: str, params: dict[str, Any], api_version: str) -> None:
    where = _where(index, custom_id)
    model, max_tokens = params.get("model"), params.get("max_tokens")
    if not isinstance(model, str) or not model:
        raise ConfigurationError(f"{where}: params['model'] must be a non-empty string")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ConfigurationError(f"{where}: params['max_tokens'] must be an int >= 1")
    messages = params.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConfigurationError(f"{where}: params['messages'] must be a non-empty list")
    if params.get("stream"):
        raise ConfigurationError(f"{where}: params['stream'] cannot be true in a batch")
    try:
        check_params(api_version, params)
    except UnsupportedParameterError as exc:
        raise UnsupportedParameterError(
            f"{where}: {exc}", param=exc.param, api_version=exc.api_version
        ) from None


def _check_limit(name: str, value: int, cap: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= cap:
        raise ConfigurationError(f"{name} must be an int from 1 to {cap}, got {value!r}")
    return value


class BatchEncoder:
    """Builds batch bodies request by request, splitting them by the limits.

    ``add(request)`` checks and encodes one request; it returns the batch
    that request closed (it did not fit), else None. ``finish()`` returns
    the last batch, if it holds any request. ``max_requests`` and
    ``max_bytes`` default to the API's limits and may only be lowered.
    """

    __slots__ = ("_api_version", "_buf", "_count", "_first", "_ids", "_index", "_max_b", "_max_n")

    def __init__(
        self,
        api_version: str,
        *,
        max_requests: int = MAX_BATCH_REQUESTS,
        max_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self._api_version = api_version
        self._max_n = _check_limit("max_requests", max_requests, MAX_BATCH_REQUESTS)
        self._max_b = _check_limit("max_bytes", max_bytes, MAX_BATCH_BYTES)
        self._index = 0  # requests seen
        self._first = 0  # index of the current batch's first request
        self._count = 0
        self._buf = bytearray(_HEAD)
        self._ids: set[str] = set()

    @property
    def requests_seen(self) -> int:
        """How many requests ``add`` has taken."""
        return self._index

    def add(self, request: BatchRequest | Mapping[str, Any]) -> EncodedBatch | None:
        """Check and encode one request; the batch it closed, if it closed one.

        A request that does not fit (by count or bytes) closes the batch being
        built and opens the next. Only a request that was checked and encoded
        closes a batch, so after an error no finished batch is lost.
        """
        index = self._index
        custom_id, params = _parts(index, request)
        _check_params(index, custom_id, params, self._api_version)
        full = self._count >= self._max_n
        if not full and custom_id in self._ids:
            raise ConfigurationError(
                f"{_where(index, custom_id)}: custom_id is used twice in one batch; "
                "results are matched to requests by custom_id, so each must be unique"
            )
        buf = self._buf
        start = len(buf)
        if self._count:
            buf += b","
        body_start = len(buf)
        self._encode(index, custom_id, params, start)
        closed = None
        if full or len(buf) + len(_TAIL) > self._max_b:
            closed = self._move_to_next(index, custom_id, start, body_start)
        self._ids.add(custom_id)
        self._count += 1
        self._index += 1
        return closed

    def finish(self) -> EncodedBatch | None:
        """The last batch, or None when it holds no request."""
        return self._close() if self._count else None

    def _encode(self, index: int, custom_id: str, params: dict[str, Any], start: int) -> None:
        # encode() then +=, not encode_into(): encode_into grows the buffer by
        # half again when it runs out (measured: capacity 1.53x the body at
        # 100,000 requests); bytearray's own growth is an eighth.
        try:
            encoded = _ENCODER.encode({"custom_id": custom_id, "params": params})
        except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
            del self._buf[start:]
            raise ConfigurationError(
                f"{_where(index, custom_id)}: params are not JSON-serializable: {exc}"
            ) from exc
        self._buf += encoded

    def _move_to_next(
        self, index: int, custom_id: str, start: int, body_start: int
    ) -> EncodedBatch:
        """Move the request just encoded (from ``start``) into a new batch."""
        buf = self._buf
        size = len(buf) - body_start
        if len(_HEAD) + size + len(_TAIL) > self._max_b:
            del buf[start:]
            raise ConfigurationError(
                f"{_where(index, custom_id)}: encodes to {size} bytes, more than one batch "
                f"may hold ({self._max_b} bytes with its envelope)"
            )
        encoded = buf[body_start:]
        del buf[start:]
        closed = self._close()
        self._buf += encoded
        return closed

    def _close(self) -> EncodedBatch:
        buf = self._buf
        buf += _TAIL
        closed = EncodedBatch(buf, self._count, self._first)
        self._buf = bytearray(_HEAD)
        self._first += self._count
        self._count = 0
        self._ids = set()
        return closed


def encode_batch(
    requests: Iterable[BatchRequest | Mapping[str, Any]],
    api_version: str,
    *,
    max_requests: int = MAX_BATCH_REQUESTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> EncodedBatch:
    """The body of exactly one batch; ConfigurationError if the requests need more."""
    if isinstance(requests, (str, bytes, Mapping)):
        raise ConfigurationError(
            "requests must be a list of batch requests, got " + type(requests).__name__
        )
    encoder = BatchEncoder(api_version, max_requests=max_requests, max_bytes=max_bytes)
    for request in requests:
        if encoder.add(request) is not None:
            raise ConfigurationError(
                f"requests: more than one batch may hold (at most {max_requests} requests "
                f"and {max_bytes} bytes); use create_many() to split them into batches"
            )
    batch = encoder.finish()
    if batch is None:
        raise ConfigurationError("requests must hold at least one request")
    return batch


def encode_batches(
    requests: Iterable[BatchRequest | Mapping[str, Any]],
    api_version: str,
    *,
    max_requests: int = MAX_BATCH_REQUESTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[EncodedBatch]:
    """Batch bodies for any number of requests, each yielded once it is full.

    Lazy: requests are read only as far as the batch being built, so a
    generator of any length is encoded in the memory of one batch.
    """
    encoder = BatchEncoder(api_version, max_requests=max_requests, max_bytes=max_bytes)
    for request in requests:
        closed = encoder.add(request)
        if closed is not None:
            yield closed
    last = encoder.finish()
    if last is not None:
        yield last
