"""Response-side models of the Messages API as msgspec Structs (layer 0: no IO).

Field names and shapes follow the API reference for ``POST /v1/messages``
(https://platform.claude.com/docs/en/api/messages/create), ``count_tokens`` and
``/v1/models``.

Conventions, and why:

* Content blocks and citations are tagged unions on ``type``
  (``tag_field="type"``), so one ``Decoder.decode`` call picks the right Struct.
  Each tagged Struct also has ``type`` as a ``ClassVar`` so ``block.type`` works
  as in the official SDK.
* Enum-like strings (``stop_reason``, ``role``, ``service_tier``, ...) are plain
  ``str``: the API adds values over time and a new one must not fail decoding.
* Unknown JSON fields are ignored (msgspec's default), so new fields never break
  decoding.
* ``msgspec.to_builtins(message)`` gives back the API's JSON. Optional fields
  default to ``None`` and are kept (no ``omit_defaults``): a ``null`` the API
  sent comes back as ``null`` (and one it left out comes back as ``null`` too).
  A few newer block fields the API leaves *out* unless they apply
  (``caller`` / ``toolset_name`` on tool blocks, ``file_id`` on citations)
  default to ``msgspec.UNSET`` instead: the request-side block shapes do not
  take them as ``null``, so echoing ``message.content`` back as an assistant
  turn must not invent them.
* Forward compatibility: a block (or citation) ``type`` the API adds later
  decodes to :class:`UnknownBlock` (:class:`UnknownCitation`), a ``dict``
  subclass holding the block's JSON exactly, so ``to_builtins`` returns it
  unchanged. msgspec rejects unknown tags, so :func:`decode_message` first tries
  the fast typed decode and only on ``ValidationError`` takes a slower path that
  converts block by block (see :func:`convert_message`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, get_args

import msgspec
from msgspec import UNSET, UnsetType

from .errors import APIResponseValidationError

if TYPE_CHECKING:
    from typing import TypeAlias

__all__ = [
    "UnknownBlock",
    "UnknownCitation",
    "CitationCharLocation",
    "CitationPageLocation",
    "CitationContentBlockLocation",
    "CitationWebSearchResultLocation",
    "CitationSearchResultLocation",
    "Citation",
    "TextBlock",
    "ThinkingBlock",
    "RedactedThinkingBlock",
    "ToolUseBlock",
    "ServerToolUseBlock",
    "WebSearchResultBlock",
    "WebSearchToolResultBlock",
    "WebFetchToolResultBlock",
    "CodeExecutionToolResultBlock",
    "BashCodeExecutionToolResultBlock",
    "TextEditorCodeExecutionToolResultBlock",
    "ToolSearchToolResultBlock",
    "MCPToolUseBlock",
    "MCPToolResultBlock",
    "ContainerUploadBlock",
    "ContentBlock",
    "CacheCreation",
    "ServerToolUsage",
    "OutputTokensDetails",
    "Usage",
    "Diagnostics",
    "Container",
    "Message",
    "ErrorDetail",
    "ErrorBody",
    "MessageTokensCount",
    "ModelInfo",
    "ModelList",
    "decode_message",
    "convert_message",
    "decode_error_body",
    "decode_count",
    "decode_model",
    "decode_model_list",
    "block_from_builtins",
    "citation_from_builtins",
    "tag_of",
    "tags_of",
]


# --------------------------------------------------------------------------
# Unknown variants
# --------------------------------------------------------------------------


class _Unknown(dict[str, Any]):
    """A JSON object of a ``type`` this version does not know, kept verbatim.

    A ``dict`` subclass (not a Struct) on purpose: ``msgspec.to_builtins``,
    ``msgspec.json.encode`` and ``orjson.dumps`` then emit exactly the JSON the
    API sent, with no helper and no ``enc_hook``.
    """

    __slots__ = ()

    @property
    def type(self) -> str:
        """The object's ``type`` string, as sent by the API."""
        return str(self["type"])

    @property
    def data(self) -> dict[str, Any]:
        """The whole raw object (including ``type``); the same dict as ``self``."""
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"


class UnknownBlock(_Unknown):
    """A content block whose ``type`` this version of rawclaude does not know."""

    __slots__ = ()


class UnknownCitation(_Unknown):
    """A citation whose ``type`` this version of rawclaude does not know."""

    __slots__ = ()


# --------------------------------------------------------------------------
# Citations (docs: "Citations"; TextBlock.citations)
# --------------------------------------------------------------------------


class _Citation(msgspec.Struct, tag_field="type", kw_only=True, gc=False):
    cited_text: str


class CitationCharLocation(_Citation, tag="char_location", kw_only=True):
    type: ClassVar[Literal["char_location"]] = "char_location"
    document_index: int
    document_title: str | None = None
    start_char_index: int
    end_char_index: int
    file_id: str | UnsetType = UNSET


class CitationPageLocation(_Citation, tag="page_location", kw_only=True):
    type: ClassVar[Literal["page_location"]] = "page_location"
    document_index: int
    document_title: str | None = None
    start_page_number: int
    end_page_number: int
    file_id: str | UnsetType = UNSET


class CitationContentBlockLocation(_Citation, tag="content_block_location", kw_only=True):
    type: ClassVar[Literal["content_block_location"]] = "content_block_location"
    document_index: int
    document_title: str | None = None
    start_block_index: int
    end_block_index: int
    file_id: str | UnsetType = UNSET


class CitationWebSearchResultLocation(_Citation, tag="web_search_result_location", kw_only=True):
    type: ClassVar[Literal["web_search_result_location"]] = "web_search_result_location"
    url: str
    title: str | None = None
    encrypted_index: str


class CitationSearchResultLocation(_Citation, tag="search_result_location", kw_only=True):
    type: ClassVar[Literal["search_result_location"]] = "search_result_location"
    source: str
    title: str | None = None
    search_result_index: int
    start_block_index: int
    end_block_index: int


_KnownCitation = (
    CitationCharLocation
    | CitationPageLocation
    | CitationContentBlockLocation
    | CitationWebSearchResultLocation
    | CitationSearchResultLocation
)

# Static type: every citation, including UnknownCitation. Runtime value: the
# tagged union msgspec decodes (msgspec cannot decode "any other tag"; the slow
# path in convert_message inserts UnknownCitation values instead).
if TYPE_CHECKING:
    Citation: TypeAlias = _KnownCitation | UnknownCitation
else:
    Citation = _KnownCitation


# --------------------------------------------------------------------------
# Content blocks (docs: Messages API response ``content``)
# --------------------------------------------------------------------------


class _Block(msgspec.Struct, tag_field="type", kw_only=True, gc=False):
    """Base of the content block Structs (gc=False: blocks form no cycles)."""


class TextBlock(_Block, tag="text", kw_only=True):
    type: ClassVar[Literal["text"]] = "text"
    text: str
    citations: list[Citation] | None = None


class ThinkingBlock(_Block, tag="thinking", kw_only=True):
    type: ClassVar[Literal["thinking"]] = "thinking"
    thinking: str
    signature: str


class RedactedThinkingBlock(_Block, tag="redacted_thinking", kw_only=True):
    type: ClassVar[Literal["redacted_thinking"]] = "redacted_thinking"
    data: str


class ToolUseBlock(_Block, tag="tool_use", kw_only=True):
    type: ClassVar[Literal["tool_use"]] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]
    # Present only for programmatic tool calls; the request side has no null.
    caller: dict[str, Any] | UnsetType = UNSET
    toolset_name: str | UnsetType = UNSET


class ServerToolUseBlock(_Block, tag="server_tool_use", kw_only=True):
    type: ClassVar[Literal["server_tool_use"]] = "server_tool_use"
    id: str
    name: str
    input: dict[str, Any]
    caller: dict[str, Any] | UnsetType = UNSET


class WebSearchResultBlock(
    msgspec.Struct, tag_field="type", tag="web_search_result", kw_only=True, gc=False
):
    """One item of a web search result list."""

    type: ClassVar[Literal["web_search_result"]] = "web_search_result"
    url: str
    title: str
    encrypted_content: str
    page_age: str | None = None


class WebSearchToolResultBlock(_Block, tag="web_search_tool_result", kw_only=True):
    """Results of the server web search tool.

    ``content`` is a list of results, or an error object
    (``{"type": "web_search_tool_result_error", "error_code": ...}``) kept as a dict.
    """

    type: ClassVar[Literal["web_search_tool_result"]] = "web_search_tool_result"
    tool_use_id: str
    content: list[WebSearchResultBlock] | dict[str, Any]
    caller: dict[str, Any] | UnsetType = UNSET


# The server tools' result ``content`` is a union of many dated shapes
# (results, errors, encrypted variants); it stays raw JSON so a new variant
# never breaks decoding and round-trips exactly.


class WebFetchToolResultBlock(_Block, tag="web_fetch_tool_result", kw_only=True):
    type: ClassVar[Literal["web_fetch_tool_result"]] = "web_fetch_tool_result"
    tool_use_id: str
    content: dict[str, Any]
    caller: dict[str, Any] | UnsetType = UNSET


class CodeExecutionToolResultBlock(_Block, tag="code_execution_tool_result", kw_only=True):
    type: ClassVar[Literal["code_execution_tool_result"]] = "code_execution_tool_result"
    tool_use_id: str
    content: dict[str, Any]


class BashCodeExecutionToolResultBlock(_Block, tag="bash_code_execution_tool_result", kw_only=True):
    type: ClassVar[Literal["bash_code_execution_tool_result"]] = "bash_code_execution_tool_result"
    tool_use_id: str
    content: dict[str, Any]


class TextEditorCodeExecutionToolResultBlock(
    _Block, tag="text_editor_code_execution_tool_result", kw_only=True
):
    type: ClassVar[Literal["text_editor_code_execution_tool_result"]] = (
        "text_editor_code_execution_tool_result"
    )
    tool_use_id: str
    content: dict[str, Any]


class ToolSearchToolResultBlock(_Block, tag="tool_search_tool_result", kw_only=True):
    type: ClassVar[Literal["tool_search_tool_result"]] = "tool_search_tool_result"
    tool_use_id: str
    content: dict[str, Any]


class MCPToolUseBlock(_Block, tag="mcp_tool_use", kw_only=True):
    """A call to a remote MCP server's tool (MCP connector)."""

    type: ClassVar[Literal["mcp_tool_use"]] = "mcp_tool_use"
    id: str
    name: str
    server_name: str
    input: dict[str, Any]


class MCPToolResultBlock(_Block, tag="mcp_tool_result", kw_only=True):
    type: ClassVar[Literal["mcp_tool_result"]] = "mcp_tool_result"
    tool_use_id: str
    is_error: bool
    content: str | list[dict[str, Any]]


class ContainerUploadBlock(_Block, tag="container_upload", kw_only=True):
    type: ClassVar[Literal["container_upload"]] = "container_upload"
    file_id: str


_KnownBlock = (
    TextBlock
    | ThinkingBlock
    | RedactedThinkingBlock
    | ToolUseBlock
    | ServerToolUseBlock
    | WebSearchToolResultBlock
    | WebFetchToolResultBlock
    | CodeExecutionToolResultBlock
    | BashCodeExecutionToolResultBlock
    | TextEditorCodeExecutionToolResultBlock
    | ToolSearchToolResultBlock
    | MCPToolUseBlock
    | MCPToolResultBlock
    | ContainerUploadBlock
)

# Same split as Citation: the static type includes UnknownBlock, the runtime
# annotation is the union msgspec can decode in one call.
if TYPE_CHECKING:
    ContentBlock: TypeAlias = _KnownBlock | UnknownBlock
else:
    ContentBlock = _KnownBlock


# --------------------------------------------------------------------------
# Usage, container, message
# --------------------------------------------------------------------------


class CacheCreation(msgspec.Struct, kw_only=True, gc=False):
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class ServerToolUsage(msgspec.Struct, kw_only=True, gc=False):
    web_search_requests: int = 0
    web_fetch_requests: int = 0


class OutputTokensDetails(msgspec.Struct, kw_only=True, gc=False):
    thinking_tokens: int = 0


class Usage(msgspec.Struct, kw_only=True, gc=False, forbid_unknown_fields=True):
    """Token usage (docs: Messages API response ``usage``).

    Total input = ``input_tokens + cache_creation_input_tokens +
    cache_read_input_tokens``. A field the API adds later lands in
    ``unknown_fields`` (see :class:`Message`).
    """

    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation: CacheCreation | None = None
    server_tool_use: ServerToolUsage | None = None
    output_tokens_details: OutputTokensDetails | None = None
    service_tier: str | None = None
    inference_geo: str | None = None
    #: "standard" or "fast" (fast mode), when the API reports it.
    speed: str | UnsetType = UNSET
    unknown_fields: dict[str, Any] | UnsetType = UNSET


class Container(msgspec.Struct, kw_only=True, gc=False):
    """The code-execution container a request used (``id`` to reuse it)."""

    id: str
    expires_at: str
    skills: list[dict[str, Any]] | None = None


class _Response(msgspec.Struct, kw_only=True, dict=True):
    """Base of top-level response bodies.

    ``dict=True`` lets the client attach the response's ``request-id`` header
    as the plain attribute ``_request_id``; it is not a field, so
    ``msgspec.to_builtins(response)`` is exactly the API's JSON.
    """

    @property
    def request_id(self) -> str | None:
        """The ``request-id`` response header, when the client attached it."""
        rid: str | None = getattr(self, "_request_id", None)
        return rid


class Diagnostics(msgspec.Struct, kw_only=True, gc=False):
    """``diagnostics`` of a response to a request that asked for cache diagnostics.

    ``cache_miss_reason`` is the API's tagged object (``{"type": "system_changed",
    ...}``) kept as sent, or None when nothing diverged (docs: "Cache diagnostics").
    """

    cache_miss_reason: dict[str, Any] | None = None


class Message(_Response, kw_only=True, dict=True, forbid_unknown_fields=True):
    """A Messages API response (``"type": "message"``).

    Forward compatibility for fields: a field this version does not model is
    not dropped. The fast typed decode refuses unknown fields (at no cost when
    there are none), and the slow path keeps them in ``unknown_fields``, which
    ``msgspec.to_builtins`` includes (it is left out when empty).
    """

    id: str
    type: str = "message"
    role: str = "assistant"
    content: list[ContentBlock]
    model: str
    stop_reason: str | None = None
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | None = None
    usage: Usage
    container: Container | None = None
    context_management: dict[str, Any] | None = None
    diagnostics: Diagnostics | UnsetType = UNSET
    unknown_fields: dict[str, Any] | UnsetType = UNSET


# --------------------------------------------------------------------------
# Errors, token counts, models
# --------------------------------------------------------------------------


class ErrorDetail(msgspec.Struct, kw_only=True, gc=False):
    """``error`` of an error body or event: ``{"type": ..., "message": ...}``."""

    type: str
    message: str = ""


class ErrorBody(msgspec.Struct, kw_only=True, gc=False):
    """The API's error response body (docs: "Errors")."""

    type: str = "error"
    error: ErrorDetail
    request_id: str | None = None


class MessageTokensCount(_Response, kw_only=True, dict=True):
    input_tokens: int


class ModelInfo(_Response, kw_only=True, dict=True):
    id: str
    type: str = "model"
    display_name: str
    created_at: str


class ModelList(_Response, kw_only=True, dict=True):
    data: list[ModelInfo]
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


# --------------------------------------------------------------------------
# Tagged-union helpers (shared with _events)
# --------------------------------------------------------------------------


def tags_of(union: Any) -> frozenset[str]:
    """The ``type`` tags of a union of tagged Structs."""
    return frozenset(str(cls.__struct_config__.tag) for cls in get_args(union))


def tag_of(obj: Any) -> str:
    """The ``type`` string of a JSON object; ValidationError when there is none."""
    if isinstance(obj, dict):
        tag = obj.get("type")
        if isinstance(tag, str):
            return tag
    raise msgspec.ValidationError(f"expected an object with a string `type`, got {obj!r:.80}")


_BLOCK_TAGS = tags_of(_KnownBlock)
_CITATION_TAGS = tags_of(_KnownCitation)


def citation_from_builtins(obj: Any) -> Citation:
    """One citation from JSON builtins; an unknown ``type`` gives UnknownCitation."""
    if tag_of(obj) not in _CITATION_TAGS:
        return UnknownCitation(obj)
    citation: Citation = msgspec.convert(obj, _KnownCitation)
    return citation


def block_from_builtins(obj: Any) -> ContentBlock:
    """One content block from JSON builtins; an unknown ``type`` gives UnknownBlock.

    Raises msgspec.ValidationError when a block of a known type is malformed.
    """
    tag = tag_of(obj)
    if tag not in _BLOCK_TAGS:
        return UnknownBlock(obj)
    cites = obj.get("citations") if tag == "text" else None
    if not cites:
        known: ContentBlock = msgspec.convert(obj, _KnownBlock)
        return known
    # A text block may cite with a citation type we do not know yet.
    block = msgspec.convert({**obj, "citations": None}, TextBlock)
    if not isinstance(cites, list):
        raise msgspec.ValidationError("text block `citations` must be a list")
    block.citations = [citation_from_builtins(c) for c in cites]
    return block


def convert_message(obj: Any) -> Message:
    """A Message from JSON builtins (e.g. a message inside a batch result line).

    Fast path: one ``msgspec.convert``. If that fails, the content is converted
    block by block so unknown block types become UnknownBlock. Raises
    msgspec.ValidationError when the message itself is malformed.
    """
    try:
        return msgspec.convert(obj, Message)
    except msgspec.ValidationError:
        if not isinstance(obj, dict) or not isinstance(obj.get("content"), list):
            raise
    # Validate everything but the content with the typed converter (fields we
    # do not model set aside), then fill the content in, one block at a time.
    known, unknown = _split_unknown(obj, Message)
    usage = known.get("usage")
    usage_unknown: dict[str, Any] = {}
    if isinstance(usage, dict):
        known["usage"], usage_unknown = _split_unknown(usage, Usage)
    message = msgspec.convert({**known, "content": []}, Message)
    message.content = [block_from_builtins(b) for b in obj["content"]]
    if unknown:
        message.unknown_fields = unknown
    if usage_unknown:
        message.usage.unknown_fields = usage_unknown
    return message


def _split_unknown(
    obj: dict[str, Any], cls: type[msgspec.Struct]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the fields ``cls`` models, the others) of a JSON object."""
    fields = cls.__struct_fields__
    known = {k: v for k, v in obj.items() if k in fields}
    unknown = {k: v for k, v in obj.items() if k not in fields}
    return known, unknown


# --------------------------------------------------------------------------
# Decoders, built once at import (msgspec: "reuse decoders")
# --------------------------------------------------------------------------

_T = TypeVar("_T")

_MESSAGE_DECODER = msgspec.json.Decoder(Message)
_ERROR_DECODER = msgspec.json.Decoder(ErrorBody)
_COUNT_DECODER = msgspec.json.Decoder(MessageTokensCount)
_MODEL_DECODER = msgspec.json.Decoder(ModelInfo)
_MODEL_LIST_DECODER = msgspec.json.Decoder(ModelList)


def _decode(decoder: msgspec.json.Decoder[_T], data: bytes | str, what: str) -> _T:
    try:
        return decoder.decode(data)
    except msgspec.DecodeError as exc:  # includes ValidationError
        raise APIResponseValidationError(f"cannot decode {what}: {exc}", data=data) from exc
    except RecursionError:
        raise APIResponseValidationError(f"{what} is nested too deeply", data=data) from None


def decode_message(data: bytes | str) -> Message:
    """Decode a ``POST /v1/messages`` response body.

    Raises APIResponseValidationError (carrying the bytes) on bad JSON or shape.
    """
    try:
        return _MESSAGE_DECODER.decode(data)
    except msgspec.ValidationError:
        pass  # maybe an unknown block type or field: take the slow path below
    except msgspec.DecodeError as exc:
        raise APIResponseValidationError(f"invalid JSON in message: {exc}", data=data) from exc
    except RecursionError:
        raise APIResponseValidationError("message is nested too deeply", data=data) from None
    try:
        # The typed decoder can stop at a wrong type before it sees that the
        # JSON is malformed later on, so DecodeError can still happen here.
        return convert_message(msgspec.json.decode(data))
    except msgspec.DecodeError as exc:  # includes ValidationError
        raise APIResponseValidationError(f"unexpected message shape: {exc}", data=data) from exc
    except RecursionError:
        raise APIResponseValidationError("message is nested too deeply", data=data) from None


def decode_error_body(data: bytes | str) -> ErrorBody | None:
    """The API's error body, or None when ``data`` is not that shape (or not JSON)."""
    try:
        body = _ERROR_DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None
    return body if body.type == "error" else None


def decode_count(data: bytes | str) -> MessageTokensCount:
    """Decode a ``POST /v1/messages/count_tokens`` response body."""
    return _decode(_COUNT_DECODER, data, "token count")


def decode_model(data: bytes | str) -> ModelInfo:
    """Decode a ``GET /v1/models/{model_id}`` response body."""
    return _decode(_MODEL_DECODER, data, "model")


def decode_model_list(data: bytes | str) -> ModelList:
    """Decode a ``GET /v1/models`` response body."""
    return _decode(_MODEL_LIST_DECODER, data, "model list")
