"""API versions, their request rules, and the headers every request carries.

Facts followed here (Anthropic API docs, "Versions" and "Authentication"):

* every request names its API version in ``anthropic-version``;
* an API key travels as ``x-api-key``, an OAuth/bearer token as
  ``Authorization: Bearer ...``;
* beta features are switched on with a comma-separated ``anthropic-beta``.

Version rules live in the one table ``VERSION_RULES``: a version that starts
refusing a parameter gets one row, and the client checks requests against it
before sending anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from .._version import __version__
from .errors import ConfigurationError, UnsupportedParameterError

__all__ = [
    "API_VERSIONS",
    "DEFAULT_API_VERSION",
    "LEGACY_API_VERSION",
    "VERSION_RULES",
    "VersionRules",
    "build_headers",
    "check_params",
    "check_api_version",
    "check_betas",
    "check_credential",
    "check_header_map",
    "with_call_headers",
]

LEGACY_API_VERSION = "2023-06-01"
DEFAULT_API_VERSION = "2026-10-21"
USER_AGENT = f"rawclaude/{__version__}"


class VersionRules(msgspec.Struct, frozen=True):
    """What one API version refuses, so it can be refused locally first."""

    #: Top-level request parameters the version rejects with a 400.
    refused_params: frozenset[str] = frozenset()


VERSION_RULES: dict[str, VersionRules] = {
    LEGACY_API_VERSION: VersionRules(),
    # 2026-10-21 removed the sampling knobs; the API answers 400 to each.
    DEFAULT_API_VERSION: VersionRules(
        refused_params=frozenset({"temperature", "top_p", "top_k"}),
    ),
}

API_VERSIONS: tuple[str, ...] = tuple(VERSION_RULES)


def check_api_version(api_version: str) -> str:
    """Validate the ``api_version`` argument (a ``YYYY-MM-DD`` string).

    A version missing from the table is allowed (a newer one the API may
    already serve); it just has no local rules and the API is the judge.
    """
    if not isinstance(api_version, str) or not _looks_like_date(api_version):
        raise ConfigurationError(
            f"api_version must be a 'YYYY-MM-DD' string such as {DEFAULT_API_VERSION!r}; "
            f"got {api_version!r}. Known versions: {', '.join(API_VERSIONS)}."
        )
    return api_version


def _looks_like_date(value: str) -> bool:
    parts = value.split("-")
    return [len(p) for p in parts] == [4, 2, 2] and all(p.isdigit() for p in parts)


def check_params(api_version: str, params: Mapping[str, Any]) -> None:
    """Raise ``UnsupportedParameterError`` for a parameter the version refuses."""
    rules = VERSION_RULES.get(api_version)
    if rules is None or not rules.refused_params:
        return
    for name in rules.refused_params:
        if name in params:
            raise UnsupportedParameterError(
                f"{name!r} is not accepted by API version {api_version} (the API would "
                f"answer 400). Remove it, or pass api_version={LEGACY_API_VERSION!r} to "
                f"the Client to use it.",
                param=name,
                api_version=api_version,
            )


def build_headers(
    *,
    api_key: str | None,
    auth_token: str | None,
    api_version: str,
    default_headers: Mapping[str, str] | None,
) -> dict[str, str]:
    """A client's headers, built once; :func:`with_call_headers` adds a call's.

    ``default_headers`` (per client) and ``extra_headers`` (per call) may
    override anything, including the version; a value of ``""`` removes a
    header, which is the only way to drop one we set by default.
    """
    headers: dict[str, str] = {
        "anthropic-version": api_version,
        "content-type": "application/json",
        "accept": "application/json",
        "user-agent": USER_AGENT,
    }
    if api_key:
        headers["x-api-key"] = api_key
    if auth_token:
        headers["authorization"] = f"Bearer {auth_token}"
    if default_headers:
        _merge(headers, check_header_map("default_headers", default_headers))
    return headers


def _merge(into: dict[str, str], overrides: Mapping[str, str]) -> None:
    for name, value in overrides.items():
        key = name.lower()
        if value == "":
            into.pop(key, None)
        else:
            into[key] = value


def with_call_headers(
    base: Mapping[str, str],
    betas: Iterable[str] | None,
    extra_headers: Mapping[str, str] | None,
) -> dict[str, str]:
    """The client's headers plus one call's betas and extra headers (which win)."""
    headers = dict(base)
    if betas:
        beta_list = check_betas(betas)
        if beta_list:
            headers["anthropic-beta"] = ",".join(beta_list)
    if extra_headers:
        _merge(headers, check_header_map("extra_headers", extra_headers))
    return headers


# RFC 9110 section 5.1: a field name is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Section 5.5: no CR, LF or NUL in a value (aiohttp would raise only after a
# TCP connection was opened); other control characters are refused too.
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def check_header_map(argument: str, headers: object) -> Mapping[str, str]:
    """``headers`` (the ``argument`` named in errors) as valid HTTP header fields."""
    if not isinstance(headers, Mapping):
        raise ConfigurationError(f"{argument} must be a mapping of str to str, got {headers!r:.80}")
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ConfigurationError(f"{argument}: {name!r:.80} is not a valid header name")
        if not isinstance(value, str):
            raise ConfigurationError(
                f"{argument}[{name!r}] must be a str, got {type(value).__name__}"
            )
        if _BAD_VALUE.search(value):
            # Never echo the value: it may be a credential.
            raise ConfigurationError(
                f"{argument}[{name!r}] contains CR, LF, NUL or another control character"
            )
    return headers


def check_betas(betas: object) -> list[str]:
    """``betas=`` as a list of beta names (a single str is one name)."""
    beta_list = [betas] if isinstance(betas, str) else betas
    if not isinstance(beta_list, Iterable):
        raise ConfigurationError(f"betas must be a list of str, got {betas!r:.80}")
    beta_list = list(beta_list)
    for beta in beta_list:
        if not isinstance(beta, str) or not beta or not _TOKEN.fullmatch(beta):
            raise ConfigurationError(f"betas: {beta!r:.80} is not a beta name (a str token)")
    return beta_list


def check_credential(name: str, value: str | None) -> str | None:
    """Refuse a credential that cannot travel in a header (never echoing it)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a string, got {type(value).__name__}")
    if value != value.strip() or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        raise ConfigurationError(
            f"{name} contains whitespace or control characters (a trailing newline from "
            f"a file or secret store?); strip it before passing it in."
        )
    return value
