"""Redaction of outgoing content (layer 0, pure): find secrets and personal data, replace them.

Built-in detectors, applied in this order (a replacement contains no digit or
``@``, so a later detector never matches an earlier one's placeholder):

* ``api_key``: Anthropic keys (``sk-ant-...``), well-known key formats (OpenAI,
  Stripe, GitHub, Slack, AWS access key ids, Google API keys, GitLab, JWTs) and
  any high-entropy value after a key-like name (``api_key=...``, ``token: ...``,
  ``Bearer ...``); only the value is replaced.
* ``email``: addresses.
* ``card``: payment card numbers, 13 to 19 digits with optional spaces or dashes,
  starting like a card network does (2-6) and passing the Luhn check.
* ``ssn``: US social security numbers written ``123-45-6789`` or ``123 45 6789``
  (the same separator twice, the never-issued ranges excluded).
* ``phone``: North American numbers (``(415) 555-0100``, ``+1 415.555.0100``) and
  international ones written with a leading ``+``.

User patterns (``Redactor(patterns={"employee_id": r"EMP-\\d{6}"})``) run after.

:meth:`Redactor.redact_request` rewrites the *user* text of a Messages request
body: string contents, ``text`` blocks, text documents and (by default) the
text of ``tool_result`` blocks; never ``tool_use`` inputs, assistant turns or
the system prompt unless asked. It returns the new body and a
:class:`RedactionReport` (counts per kind, never a value). When nothing
matches, the very same body object comes back and nothing is allocated.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeGuard

from ..wire.errors import ConfigurationError

__all__ = [
    "DEFAULT_DETECTORS",
    "Detector",
    "RedactionReport",
    "Redactor",
    "luhn_valid",
    "shannon_entropy",
]


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of digits."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text`` (a random base64 string: about 6; English: about 4)."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


#: A cheap test (the text, how many digits it has) that must pass before a
#: detector's regex runs at all: Python's ``re`` costs microseconds per hundred
#: characters, a ``str.count`` or ``in`` a fraction of that.
Gate = Callable[[str, int], bool]


@dataclass(frozen=True, slots=True)
class Detector:
    """A kind of sensitive text: a pattern, an optional check, the group to replace, and an
    optional gate (None: the pattern always runs)."""

    kind: str
    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None = None
    group: int = 0
    gate: Gate | None = None


def _digits(text: str) -> int:
    return sum(map(text.count, "0123456789"))


_DIGIT_OR_AT = re.compile("[0-9@]")


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    # Request bodies are dicts: the exact check first, the ABC's (slow) only for others.
    return type(value) is dict or isinstance(value, Mapping)


def _gate_numbers(text: str, digits: int) -> bool:
    return digits >= 8  # the shortest: an international phone number


def _gate_email(text: str, digits: int) -> bool:
    return "@" in text


def _gate_key_format(text: str, digits: int) -> bool:
    if not digits:
        return False
    return "-" in text or "_" in text or "AKIA" in text or "AIza" in text or "eyJ" in text


_KEYWORDS = ("key", "secret", "token", "passw", "credential", "bearer")


def _gate_key_value(text: str, digits: int) -> bool:
    if not digits or not ("=" in text or ":" in text or " " in text):
        return False
    lowered = text.lower()
    return any(word in lowered for word in _KEYWORDS)


def _card(match: str) -> bool:
    digits = re.sub(r"[ -]", "", match)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _secret_value(value: str) -> bool:
    # A value after "token=" that looks random (not "token=placeholder_value_here").
    return shannon_entropy(value) >= 3.5 and any(c.isdigit() for c in value)


_KEY_FORMATS = "|".join(
    (
        r"sk-ant-[A-Za-z0-9_-]{16,}",
        r"sk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{32,}",
        r"(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
        r"gh[pousr]_[A-Za-z0-9]{30,}",
        r"github_pat_[A-Za-z0-9_]{40,}",
        r"xox[abposr]-[A-Za-z0-9-]{10,}",
        r"AKIA[0-9A-Z]{16}",
        r"AIza[0-9A-Za-z_-]{35}",
        r"glpat-[A-Za-z0-9_-]{20,}",
        r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    )
)

DEFAULT_DETECTORS: tuple[Detector, ...] = (
    Detector(
        "api_key",
        re.compile(rf"(?<![A-Za-z0-9_-])(?:{_KEY_FORMATS})(?![A-Za-z0-9_-])"),
        gate=_gate_key_format,
    ),
    Detector(
        "api_key",
        re.compile(
            r"(?i:(?:api[_-]?key|secret|token|passw(?:or)?d|credential)s?[\"']?\s*[:=]\s*"
            r"[\"']?|bearer\s+)([A-Za-z0-9_\-./+=]{16,})"
        ),
        check=_secret_value,
        group=1,
        gate=_gate_key_value,
    ),
    Detector(
        "email",
        re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
        gate=_gate_email,
    ),
    Detector(
        "card",
        re.compile(r"(?<![\d-])[2-6](?:[ -]?\d){12,18}(?![\d-])"),
        check=_card,
        gate=_gate_numbers,
    ),
    Detector(
        "ssn",
        re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])"),
        gate=_gate_numbers,
    ),
    Detector(
        "phone",
        re.compile(
            r"(?<![\w+])(?:\+?1[ .-]?)?(?:\(\d{3}\)\s?|\d{3}[ .-]?)\d{3}[ .-]\d{4}(?!\d)"
            r"|(?<![\w+])\+[2-9]\d{0,2}[ .-]?\d(?:[ .-]?\d){6,12}(?!\d)"
        ),
        gate=_gate_numbers,
    ),
)


_DIGIT_OR_AT_GATES = frozenset((_gate_numbers, _gate_email, _gate_key_format, _gate_key_value))


class RedactionReport:
    """What a redaction replaced: counts per kind, never the values."""

    __slots__ = ("counts",)

    def __init__(self, counts: Mapping[str, int] | None = None) -> None:
        self.counts: Mapping[str, int] = MappingProxyType(dict(counts or {}))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return bool(self.counts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RedactionReport) and dict(self.counts) == dict(other.counts)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.counts.items())))

    def __repr__(self) -> str:
        return f"RedactionReport({dict(self.counts)})"


_NOTHING = RedactionReport()


class Redactor:
    """Finds and replaces sensitive text with ``replacement`` (``{kind}`` is the kind's name).

    ``kinds`` keeps only some built-in kinds; ``patterns`` adds yours
    (name -> regex string or compiled pattern); ``detectors`` replaces the
    built-ins entirely.
    """

    def __init__(
        self,
        *,
        kinds: Collection[str] | None = None,
        patterns: Mapping[str, str | re.Pattern[str]] | None = None,
        detectors: Sequence[Detector] = DEFAULT_DETECTORS,
        replacement: str = "[redacted {kind}]",
    ) -> None:
        chosen = [d for d in detectors if kinds is None or d.kind in kinds]
        if kinds is not None:
            unknown = set(kinds) - {d.kind for d in detectors}
            if unknown:
                raise ConfigurationError(f"kinds: unknown detector kinds {sorted(unknown)}")
        for name, pattern in (patterns or {}).items():
            chosen.append(Detector(str(name), _compile(name, pattern)))
        if not chosen:
            raise ConfigurationError("a Redactor needs at least one detector")
        if re.search(r"[\d@]", replacement.replace("{kind}", "")):
            raise ConfigurationError("replacement must not contain digits or '@'")
        self.detectors = tuple(chosen)
        self.replacement = replacement
        # Every built-in needs a digit or an "@": text with neither is clean.
        self._digit_or_at = all(d.gate in _DIGIT_OR_AT_GATES for d in chosen)

    def redact_text(self, text: str) -> tuple[str, RedactionReport]:
        """``text`` with every finding replaced, and what was replaced."""
        if not text or (self._digit_or_at and _DIGIT_OR_AT.search(text) is None):
            return text, _NOTHING  # every built-in needs a digit or an "@"
        digits = _digits(text)
        counts: Counter[str] | None = None
        out = text
        for detector in self.detectors:
            gate = detector.gate
            if gate is not None and not gate(out, digits):
                continue
            if detector.pattern.search(out) is None:
                continue
            if counts is None:
                counts = Counter()
            out = detector.pattern.sub(self._replacer(detector, counts), out)
        if not counts:  # candidates only, all failing their checks
            return text, _NOTHING
        return out, RedactionReport(counts)

    def _replacer(self, detector: Detector, counts: Counter[str]) -> Callable[[re.Match[str]], str]:
        placeholder = self.replacement.format(kind=detector.kind)

        def replace(match: re.Match[str]) -> str:
            found = match.group(detector.group)
            if detector.check is not None and not detector.check(found):
                return match.group(0)
            counts[detector.kind] += 1
            if detector.group == 0:
                return placeholder
            start, end = match.span(detector.group)
            whole, offset = match.group(0), match.start(0)
            return whole[: start - offset] + placeholder + whole[end - offset :]

        return replace

    def redact_request(
        self,
        body: Mapping[str, Any],
        *,
        roles: Collection[str] = ("user",),
        system: bool = False,
        tool_results: bool = True,
        tool_inputs: bool = False,
    ) -> tuple[Mapping[str, Any], RedactionReport]:
        """A Messages request body with the user text redacted (the same object if clean)."""
        messages = body.get("messages")
        if self._digit_or_at and not system and _clean_plain_turns(messages, roles):
            return body, _NOTHING  # the common shape, checked without the walk
        walk = _Walk(self, tool_results=tool_results, tool_inputs=tool_inputs)
        out: dict[str, Any] | None = None
        if isinstance(messages, list):
            new = walk.messages(messages, roles)
            if new is not messages:
                out = {**body, "messages": new}
        if system and "system" in body:
            new_system = walk.content(body["system"])
            if new_system is not body["system"]:
                out = {**(out or body), "system": new_system}
        if out is None:
            return body, _NOTHING
        return out, RedactionReport(walk.counts)

    def __repr__(self) -> str:
        kinds = sorted({d.kind for d in self.detectors})
        return f"Redactor(kinds={kinds})"


def _clean_plain_turns(messages: object, roles: Collection[str]) -> bool:
    """Every turn of ``roles`` is a dict with string content holding no digit and no '@'."""
    if type(messages) is not list:
        return False
    for message in messages:
        if type(message) is not dict:
            return False
        if message.get("role") in roles:
            content = message.get("content")
            if type(content) is not str or _DIGIT_OR_AT.search(content) is not None:
                return False
    return True


class _Walk:
    """One redaction of a request body: copy-on-write, counts kept here."""

    __slots__ = ("counts", "redactor", "tool_inputs", "tool_results")

    def __init__(self, redactor: Redactor, *, tool_results: bool, tool_inputs: bool) -> None:
        self.redactor = redactor
        self.tool_results = tool_results
        self.tool_inputs = tool_inputs
        self.counts: Counter[str] | None = None

    def text(self, text: str) -> str:
        new, report = self.redactor.redact_text(text)
        if report:
            if self.counts is None:
                self.counts = Counter()
            self.counts.update(report.counts)
        return new

    def messages(self, messages: list[Any], roles: Collection[str]) -> list[Any]:
        out: list[Any] | None = None
        for i, message in enumerate(messages):
            if not _is_mapping(message) or message.get("role") not in roles:
                continue
            content = message.get("content")
            new = self.content(content)
            if new is not content:
                out = out if out is not None else list(messages)
                out[i] = {**message, "content": new}
        return messages if out is None else out

    def content(self, content: Any) -> Any:
        if isinstance(content, str):
            return self.text(content)
        if not isinstance(content, list):
            return content
        out: list[Any] | None = None
        for i, block in enumerate(content):
            new = self.block(block)
            if new is not block:
                out = out if out is not None else list(content)
                out[i] = new
        return content if out is None else out

    def block(self, block: Any) -> Any:
        if not _is_mapping(block):
            return block
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            new = self.text(block["text"])
            return block if new is block["text"] else {**block, "text": new}
        if kind == "tool_result" and self.tool_results:
            new_content = self.content(block.get("content"))
            return (
                block if new_content is block.get("content") else {**block, "content": new_content}
            )
        if kind == "document":
            return self.document(block)
        if kind == "tool_use" and self.tool_inputs:
            new_input = self.value(block.get("input"))
            return block if new_input is block.get("input") else {**block, "input": new_input}
        return block

    def document(self, block: Mapping[str, Any]) -> Any:
        source = block.get("source")
        if not _is_mapping(source) or source.get("type") != "text":
            return block
        data = source.get("data")
        if not isinstance(data, str):
            return block
        new = self.text(data)
        return block if new is data else {**block, "source": {**source, "data": new}}

    def value(self, value: Any) -> Any:
        """Every string inside a JSON value (tool inputs, when asked)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            items = [self.value(v) for v in value]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        if _is_mapping(value):
            pairs = {k: self.value(v) for k, v in value.items()}
            return value if all(pairs[k] is v for k, v in value.items()) else pairs
        return value


def _compile(name: str, pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        return pattern
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigurationError(f"patterns[{name!r}] is not a valid regex: {exc}") from None
