"""A minimal JSON value that conforms to a JSON Schema, for structured-output replies.

"Structured outputs": with ``output_config.format = {"type": "json_schema",
"schema": ...}`` the reply's text is JSON that validates against the schema.
The fake answers with the smallest instance it can build: objects with their
required properties only, arrays of ``minItems`` items, numbers at their lower
bound, the first ``enum`` value, the first ``anyOf``/``oneOf`` branch, ``const``
as given, ``$ref`` into ``$defs``/``definitions``. Unknown keywords are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Recursive schemas whose recursion is required have no finite instance; stop.
_MAX_DEPTH = 32

_STRING_FORMATS = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "time": "00:00:00Z",
    "duration": "PT0S",
    "email": "user@example.com",
    "hostname": "example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
}


def instance_of(schema: Any) -> Any:
    """A value valid under ``schema`` (a JSON Schema object or boolean)."""
    return _Builder(schema).build(schema, 0)


class _Builder:
    def __init__(self, root: Any) -> None:
        self._root = root

    def build(self, schema: Any, depth: int) -> Any:
        if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
            return None  # ``true`` / ``{}``: anything is valid, null included
        if "$ref" in schema:
            return self.build(self._resolve(schema["$ref"]), depth + 1)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self.build(schema[key][0], depth + 1)
        if isinstance(schema.get("allOf"), list):
            return self.build(_merge(schema), depth + 1)
        return self._typed(schema, _first_type(schema), depth)

    def _typed(self, schema: Mapping[str, Any], kind: str | None, depth: int) -> Any:
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        if kind == "string":
            return _string(schema)
        if kind in ("integer", "number"):
            return _number(schema, integer=kind == "integer")
        if kind == "boolean":
            return False
        return None

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        return {
            name: self.build(properties.get(name, {}), depth + 1)
            for name in schema.get("required") or ()
        }

    def _array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        prefix = [self.build(item, depth + 1) for item in schema.get("prefixItems") or ()]
        count = max(int(schema.get("minItems", 0)) - len(prefix), 0)
        items = schema.get("items", {})
        return prefix + [self.build(items, depth + 1) for _ in range(count)]

    def _resolve(self, ref: Any) -> Any:
        """A local JSON Pointer (``#/$defs/Name``); anything else resolves to ``{}``."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            return {}
        node = self._root
        for part in ref[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                return {}
            node = node[part]
        return node


def _first_type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0] if kind else None
    if kind is None and "properties" in schema:
        return "object"
    if kind is None and "items" in schema:
        return "array"
    return kind if isinstance(kind, str) else None


def _merge(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``allOf``: one schema with every branch's properties and required names."""
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for branch in schema["allOf"]:
        if not isinstance(branch, Mapping):
            continue
        for key, value in branch.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def _string(schema: Mapping[str, Any]) -> str:
    value = _STRING_FORMATS.get(str(schema.get("format")), "")
    min_length = int(schema.get("minLength", 0))
    if len(value) < min_length:
        value += "a" * (min_length - len(value))
    return value


def _number(schema: Mapping[str, Any], *, integer: bool) -> int | float:
    value: float = 0
    if "minimum" in schema:
        value = schema["minimum"]
    if "exclusiveMinimum" in schema and not isinstance(schema["exclusiveMinimum"], bool):
        value = schema["exclusiveMinimum"] + (1 if integer else 0.5)
    if "maximum" in schema and value > schema["maximum"]:
        value = schema["maximum"]
    if integer:
        return int(-(-value // 1))  # the smallest integer >= value
    return float(value)
