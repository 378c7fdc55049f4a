"""``@rawclaude.tool``: a typed Python function as a Claude tool.

The tool definition follows "Tool use with Claude" (define tools: ``name``,
``description``, ``input_schema``): the name is the function's, the description
its docstring (without the ``Args:`` section), and the input schema is built
from the signature by ``msgspec.json.schema`` over a Struct made of the
parameters (so ``str``/``int``/``float``/``bool``, ``Literal``, ``Optional``,
lists, dicts, msgspec Structs, defaults and ``Annotated[..., msgspec.Meta(...)]``
constraints all work). Each parameter's description comes from the docstring's
``Args:`` section (Google style) or ``:param name:`` lines.

Calling a tool never raises for what the model did: input that does not
validate, a ``ToolError`` or any other exception become an ``is_error`` tool
result the model can read and act on ("Handling tool use and tool result
content blocks": ``is_error: true``). Only cancellation propagates.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, Generic, TypeVar, get_type_hints, overload

import msgspec

from ..wire.errors import ConfigurationError, ToolError

__all__ = ["Tool", "ToolResult", "tool", "tool_result_content"]

logger = logging.getLogger("rawclaude.tools")

R = TypeVar("R")

# "Tool use" / tool definitions: names match this pattern.
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Returns|Return|Yields|Raises|Examples?|Notes?)\s*:\s*$"
)
_ARG_LINE = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_CONTENT_BLOCK_TYPES = frozenset({"text", "image", "document", "search_result"})


class ToolResult(msgspec.Struct, frozen=True, gc=False):
    """What one tool call returned, ready to become a ``tool_result`` block."""

    content: str | list[dict[str, Any]]
    is_error: bool = False


def _split_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The description (text before the first section) and per-parameter texts."""
    description: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    arg_indent: int | None = None  # the indent of the Args section's "name:" lines
    for line in inspect.cleandoc(doc or "").splitlines():
        indent = len(line) - len(line.lstrip())
        sphinx = _SPHINX_PARAM.match(line)
        header = _SECTION.match(line)
        match = _ARG_LINE.match(line)
        if sphinx:
            current, section = sphinx.group(1), "sphinx"
            params[current] = sphinx.group(2).strip()
        elif header:
            is_args = header.group(1).lower().startswith(("arg", "param"))
            section, current, arg_indent = ("args" if is_args else "other"), None, None
        elif section is None:
            description.append(line)
        elif section == "args" and match and indent <= (arg_indent or indent):
            current, arg_indent = match.group(1), indent
            params[current] = match.group(2).strip()
        elif section in ("args", "sphinx") and current is not None and line.strip():
            params[current] = f"{params[current]} {line.strip()}".strip()
    return "\n".join(description).strip(), params


def _field_default(default: Any) -> Any:
    if default is inspect.Parameter.empty:
        return msgspec.NODEFAULT
    if isinstance(default, (list, dict, set)) and default:
        # msgspec takes only empty mutable defaults; copy others per call.
        return msgspec.field(default_factory=functools.partial(copy.deepcopy, default))
    return default


def _input_struct(fn: Callable[..., Any], name: str, docs: Mapping[str, str]) -> type[Any]:
    """A msgspec Struct whose fields are ``fn``'s parameters (unknown fields refused)."""
    hints = get_type_hints(fn, include_extras=True)
    fields: list[tuple[str, Any, Any]] = []
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise ConfigurationError(
                f"tool {name!r}: parameter {param.name!r} must be a plain or keyword "
                "parameter (no *args, **kwargs or positional-only)"
            )
        if param.name not in hints:
            raise ConfigurationError(
                f"tool {name!r}: parameter {param.name!r} needs a type annotation "
                "(the input schema is built from it)"
            )
        annotation = hints[param.name]
        if param.name in docs:
            annotation = Annotated[annotation, msgspec.Meta(description=docs[param.name])]
        fields.append((param.name, annotation, _field_default(param.default)))
    try:
        return msgspec.defstruct(
            name, fields, kw_only=True, forbid_unknown_fields=True, omit_defaults=False
        )
    except TypeError as exc:
        raise ConfigurationError(f"tool {name!r}: {exc}") from exc


def _inline_root(schema: dict[str, Any]) -> dict[str, Any]:
    """``{"$ref": "#/$defs/X", "$defs": {...}}`` -> X's schema itself, other defs kept."""
    ref = schema.get("$ref")
    defs = dict(schema.get("$defs", {}))
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return schema
    root = dict(defs.pop(ref.removeprefix("#/$defs/")))
    root.pop("title", None)  # the tool's name already says it
    if defs:
        root["$defs"] = defs
    return root


class Tool(Generic[R]):
    """A function the model may call. Make one with ``@rawclaude.tool``.

    ``tool.definition`` is the dict the API takes in ``tools``; ``await
    tool.run(input)`` validates ``input``, calls the function and returns a
    :class:`ToolResult` (never raises, except on cancellation). The tool stays
    callable as the plain function: ``tool(...)``.
    """

    def __init__(
        self,
        fn: Callable[..., R] | Callable[..., Awaitable[R]],
        *,
        name: str | None = None,
        description: str | None = None,
        thread: bool = True,
    ) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        if not _NAME.match(self.name):
            raise ConfigurationError(
                f"tool name {self.name!r} must be 1-128 letters, digits, '_' or '-'"
            )
        text, docs = _split_docstring(fn.__doc__)
        self.description = description if description is not None else text
        self._struct = _input_struct(fn, self.name, docs)
        self._fields = self._struct.__struct_fields__
        self.input_schema: dict[str, Any] = _inline_root(msgspec.json.schema(self._struct))
        self._is_async = inspect.iscoroutinefunction(fn)
        self._thread = thread
        functools.update_wrapper(self, fn)

    @property
    def definition(self) -> dict[str, Any]:
        """The tool as the API's ``tools`` list takes it."""
        out: dict[str, Any] = {"name": self.name, "input_schema": self.input_schema}
        if self.description:
            out["description"] = self.description
        return out

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Tool {self.name}>"

    async def run(self, tool_input: Any) -> ToolResult:
        """Validate ``tool_input`` (the ``tool_use`` block's ``input``) and call the tool."""
        try:
            args = msgspec.convert(tool_input, self._struct)
        except msgspec.ValidationError as exc:
            return ToolResult(f"Invalid input for tool {self.name!r}: {exc}", is_error=True)
        kwargs = {f: getattr(args, f) for f in self._fields}
        try:
            value = await self._invoke(kwargs)
        except ToolError as exc:
            return ToolResult(exc.content, is_error=True)
        except Exception as exc:  # any failure of the tool goes to the model, not the caller
            logger.warning("tool %r raised %s", self.name, type(exc).__name__, exc_info=True)
            return ToolResult(f"{type(exc).__name__}: {exc}", is_error=True)
        return self._result(value)

    async def _invoke(self, kwargs: dict[str, Any]) -> Any:
        if self._is_async:
            return await self.fn(**kwargs)  # type: ignore[misc]
        if self._thread:
            # A blocking function must not stall the loop (and the other tools).
            return await asyncio.to_thread(self.fn, **kwargs)
        return self.fn(**kwargs)

    def _result(self, value: Any) -> ToolResult:
        try:
            return ToolResult(tool_result_content(value))
        except (TypeError, msgspec.EncodeError) as exc:
            logger.warning("tool %r returned a value that is not JSON: %s", self.name, exc)
            return ToolResult(
                f"Tool {self.name!r} returned a {type(value).__name__} that cannot be "
                f"encoded as JSON: {exc}",
                is_error=True,
            )


def _is_block(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in _CONTENT_BLOCK_TYPES


def tool_result_content(value: Any) -> str | list[dict[str, Any]]:
    """A tool's return value as ``tool_result`` content.

    A ``str`` as is; a content block (``{"type": "text" | "image" | ...}``, or a
    ``rawclaude.types.TextBlock``) or a list of them as blocks; anything else
    JSON-encoded (msgspec: Structs, dataclasses, dicts, lists, numbers, None).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, msgspec.Struct) and getattr(value, "type", None) == "text":
        return [{"type": "text", "text": value.text}]  # type: ignore[attr-defined]
    if _is_block(value):
        return [dict(value)]
    if isinstance(value, list) and value and all(_is_block(v) for v in value):
        return [dict(v) for v in value]
    return msgspec.json.encode(value).decode()


AnyFn = Callable[..., Awaitable[R]] | Callable[..., R]


@overload
def tool(fn: Callable[..., Awaitable[R]], /) -> Tool[R]: ...
@overload
def tool(fn: Callable[..., R], /) -> Tool[R]: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None, thread: bool = True
) -> Callable[[AnyFn[R]], Tool[R]]: ...


def tool(
    fn: Any = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    thread: bool = True,
) -> Any:
    """Make a :class:`Tool` of a typed function: ``@tool`` or ``@tool(name=...)``.

    ``thread=False`` runs a sync function on the event loop itself (for cheap
    functions; a blocking one would stall every other tool of the turn).
    """
    if fn is not None:
        return Tool(fn, name=name, description=description, thread=thread)

    def wrap(f: Any) -> Tool[Any]:
        return Tool(f, name=name, description=description, thread=thread)

    return wrap
