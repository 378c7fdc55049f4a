"""Structured outputs: ``parse(client, output_format=MyStruct, ...)`` -> a typed value.

"Structured outputs" (JSON outputs): the request carries
``output_config.format = {"type": "json_schema", "schema": ...}`` and the
model's text is JSON valid under that schema. The schema is built from a
msgspec Struct (or any type ``msgspec.json.schema`` handles; or given as a
dict) and converted to the subset the API accepts, as the doc's "JSON Schema
limitations" describe:

* every object gets ``additionalProperties: false`` (free-form ``dict[str, X]``
  objects cannot be expressed and are refused locally);
* numeric bounds (``minimum``, ``maximum``, ``exclusiveMinimum``,
  ``exclusiveMaximum``, ``multipleOf``), string lengths (``minLength``,
  ``maxLength``), ``maxItems``, ``minItems`` above 1, ``minProperties`` /
  ``maxProperties`` and string ``format``\\s outside the supported list are
  removed and written into the field's ``description`` instead, so the model
  still reads them; the decode into the Struct checks them again locally;
* recursive schemas are refused (the API does not take them).

A reply that stopped on ``refusal`` or ``max_tokens`` raises a typed error
holding the message and its stop reason; text that does not decode raises
OutputValidationError with the text.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import msgspec

from ..types import Message, StreamEvent, TextBlock
from ..wire.errors import (
    ConfigurationError,
    OutputRefusedError,
    OutputTruncatedError,
    OutputValidationError,
)

if TYPE_CHECKING:
    from ..client.client import Client
    from ..client.stream import MessageStream

__all__ = ["ParsedMessage", "ParsedStream", "api_schema", "parse", "parse_stream"]

T = TypeVar("T")

# Keywords the API's JSON schema subset does not take ("JSON Schema limitations").
_MOVED = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
    "minProperties",
    "maxProperties",
    "uniqueItems",
)
_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)
_SUBSCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")


# --------------------------------------------------------------------------
# Schema conversion (pure)
# --------------------------------------------------------------------------


def api_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (a JSON Schema object) converted to what the API accepts. Pure."""
    if not isinstance(schema, dict):
        raise ConfigurationError("output_format: a JSON schema must be a dict")
    defs = schema.get("$defs")
    _refuse_recursion(defs if isinstance(defs, dict) else {})
    converted: dict[str, Any] = _convert(_inline_root(schema), "$")
    return converted


def _inline_root(schema: dict[str, Any]) -> dict[str, Any]:
    """``{"$ref": "#/$defs/X", "$defs": {...}}`` (msgspec's shape) -> X itself, defs kept."""
    ref = schema.get("$ref")
    if not (isinstance(ref, str) and ref.startswith("#/$defs/") and len(schema) == 2):
        return schema
    defs = dict(schema.get("$defs", {}))
    root = dict(defs.pop(ref.removeprefix("#/$defs/")))
    if defs:
        root["$defs"] = defs
    return root


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for key, value in node.items():
            if key != "$defs":
                found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def _refuse_recursion(defs: dict[str, Any]) -> None:
    """A $defs entry that can reach itself through $refs is a recursive schema."""
    edges = {f"#/$defs/{name}": _refs(body) for name, body in defs.items()}
    for start in edges:
        seen: set[str] = set()
        todo = list(edges[start])
        while todo:
            ref = todo.pop()
            if ref == start:
                raise ConfigurationError(
                    f"output_format: {start.rsplit('/', 1)[1]} refers to itself; "
                    "recursive schemas are not supported by the API"
                )
            if ref not in seen:
                seen.add(ref)
                todo.extend(edges.get(ref, ()))


def _convert(node: Any, path: str) -> Any:
    if not isinstance(node, dict):
        return node
    out = dict(node)
    out.pop("discriminator", None)  # each tagged variant pins its tag with enum/const
    moved = [f"{key}: {out.pop(key)}" for key in _MOVED if key in out]
    if isinstance(out.get("minItems"), int) and out["minItems"] > 1:
        moved.append(f"minItems: {out.pop('minItems')}")
    if "format" in out and out["format"] not in _FORMATS:
        moved.append(f"format: {out.pop('format')}")
    if moved:
        note = "(" + "; ".join(moved) + ")"
        out["description"] = f"{out['description']} {note}" if out.get("description") else note
    if out.get("type") == "object" or "properties" in out:
        extra = out.get("additionalProperties", True)
        if isinstance(extra, dict) and extra:
            raise ConfigurationError(
                f"output_format: {path} is a free-form object (dict); structured outputs "
                "need objects with fixed properties (use a Struct)"
            )
        out["additionalProperties"] = False
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _convert(v, f"{path}.{k}") for k, v in out["properties"].items()}
    if "items" in out:
        out["items"] = _convert(out["items"], f"{path}[]")
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_convert(v, path) for v in out[key]]
    if isinstance(out.get("$defs"), dict):
        out["$defs"] = {k: _convert(v, k) for k, v in out["$defs"].items()}
    return out


class _Format(msgspec.Struct, frozen=True):
    schema: dict[str, Any]
    decode: Callable[[str], Any]


@functools.lru_cache(maxsize=256)
def _format_for_type(output_type: Any) -> _Format:
    try:
        schema = msgspec.json.schema(output_type)
    except TypeError as exc:
        raise ConfigurationError(f"output_format: {exc}") from exc
    decoder = msgspec.json.Decoder(output_type)
    return _Format(api_schema(schema), decoder.decode)


def _format(output_format: Any) -> _Format:
    if isinstance(output_format, dict):
        # A raw schema: we can check it is JSON, not validate it (no validator here).
        return _Format(api_schema(output_format), msgspec.json.decode)
    try:
        return _format_for_type(output_format)
    except TypeError as exc:  # unhashable
        raise ConfigurationError(f"output_format: {exc}") from exc


def _request(params: dict[str, Any], fmt: _Format) -> dict[str, Any]:
    config = params.get("output_config") or {}
    if not isinstance(config, dict):
        raise ConfigurationError("output_config must be a dict")
    if "format" in config:
        raise ConfigurationError(
            "output_config.format: parse() sets it from output_format; pass one or the other"
        )
    fmt_param = {"type": "json_schema", "schema": fmt.schema}
    return {**params, "output_config": {**config, "format": fmt_param}}


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


class ParsedMessage(Generic[T]):
    """A Message plus ``parsed_output``, the model's JSON decoded into the requested type.

    The Message's fields read through (``parsed.content``, ``parsed.usage``, ...).
    """

    __slots__ = ("message", "parsed_output")

    def __init__(self, message: Message, parsed_output: T) -> None:
        self.message = message
        self.parsed_output = parsed_output

    def __getattr__(self, name: str) -> Any:
        return getattr(self.message, name)

    def __repr__(self) -> str:
        return f"ParsedMessage(parsed_output={self.parsed_output!r}, id={self.message.id!r})"


def _text(message: Message) -> str:
    return "".join(b.text for b in message.content if isinstance(b, TextBlock))


def _parsed(message: Message, fmt: _Format) -> ParsedMessage[Any]:
    text = _text(message)
    reason = message.stop_reason
    if reason == "refusal":
        raise OutputRefusedError(
            "the model refused; its output need not match the schema",
            message=message,
            stop_reason=reason,
            output=text,
        )
    if reason == "max_tokens":
        raise OutputTruncatedError(
            "the output hit max_tokens before the JSON was complete; raise max_tokens",
            message=message,
            stop_reason=reason,
            output=text,
        )
    try:
        value = fmt.decode(text)
    except msgspec.DecodeError as exc:  # includes ValidationError
        raise OutputValidationError(
            f"the output does not match the schema: {exc}",
            message=message,
            stop_reason=reason,
            output=text,
        ) from exc
    return ParsedMessage(message, value)


@overload
async def parse(client: Client, *, output_format: type[T], **params: Any) -> ParsedMessage[T]: ...
@overload
async def parse(
    client: Client, *, output_format: dict[str, Any], **params: Any
) -> ParsedMessage[Any]: ...


async def parse(client: Client, *, output_format: Any, **params: Any) -> ParsedMessage[Any]:
    """``messages.create`` with ``output_config.format`` from ``output_format``; the
    reply's JSON decoded into it (``client.messages.parse`` calls this)."""
    fmt = _format(output_format)
    message = await client.messages.create(**_request(params, fmt))
    return _parsed(message, fmt)


class ParsedStream(Generic[T]):
    """``async with parse_stream(...) as stream``: a MessageStream whose final
    message is parsed: ``await stream.get_final_message()`` -> ParsedMessage."""

    def __init__(self, client: Client, params: dict[str, Any], fmt: _Format) -> None:
        self._manager = client.messages.stream(**params)
        self._fmt = fmt
        self._stream: MessageStream | None = None

    async def __aenter__(self) -> ParsedStream[T]:
        self._stream = await self._manager.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._manager.__aexit__(*exc_info)

    @property
    def stream(self) -> MessageStream:
        if self._stream is None:
            raise RuntimeError("use `async with parse_stream(...) as stream`")
        return self._stream

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self.stream.__aiter__()

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """The JSON text as it arrives."""
        return self.stream.text_stream

    async def get_final_message(self) -> ParsedMessage[T]:
        """The whole message, its JSON decoded (raising as ``parse`` does)."""
        parsed: ParsedMessage[T] = _parsed(await self.stream.get_final_message(), self._fmt)
        return parsed


@overload
def parse_stream(client: Client, *, output_format: type[T], **params: Any) -> ParsedStream[T]: ...
@overload
def parse_stream(
    client: Client, *, output_format: dict[str, Any], **params: Any
) -> ParsedStream[Any]: ...


def parse_stream(client: Client, *, output_format: Any, **params: Any) -> ParsedStream[Any]:
    """The streaming ``parse``: stream the JSON, get it parsed at the end."""
    fmt = _format(output_format)
    return ParsedStream(client, _request(params, fmt), fmt)
