"""The Client's arguments, checked before anything is sent.

Every caller mistake is a ``ConfigurationError`` that names the argument: a
wrong type or range, a base URL without an http(s) scheme, a header that
cannot travel, a credential that would cross a proxy in clear text.
"""

from __future__ import annotations

import math
import urllib.request
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..io.limiter import RateLimiter
from ..wire.errors import ConfigurationError

__all__ = [
    "check_base_url",
    "check_callables",
    "check_non_negative",
    "check_positive_int",
    "check_proxy",
    "env_proxy",
    "check_stages",
    "without_userinfo",
]


def check_positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def check_non_negative(name: str, value: object) -> float:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if is_number and math.isfinite(value) and value >= 0:  # type: ignore[arg-type,operator]
        return float(value)  # type: ignore[arg-type]
    raise ConfigurationError(f"{name} must be a finite number >= 0, got {value!r}")


def check_base_url(value: object) -> str:
    """An ``http(s)://host[:port][/prefix]`` URL, without a trailing slash.

    A URL ending in ``/v1`` (as many gateway guides write it) would send
    requests to ``/v1/v1/messages``: it is normalised, with a warning.
    """
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"base_url must be an http(s) URL string, got {value!r:.80}")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"base_url must start with https:// or http:// and name a host, got "
            f"{without_userinfo(value)!r:.120}"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError("base_url may not have a query or a fragment")
    url = value.rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
        warnings.warn(
            f"base_url ends in /v1; rawclaude adds /v1/... itself, so it uses "
            f"{without_userinfo(url)!r} (pass that to silence this warning)",
            UserWarning,
            stacklevel=4,
        )
    return url


def without_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` replaced, for reprs and messages."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    if not sep or "@" not in netloc:
        return url
    return f"{scheme}://***@{netloc.rpartition('@')[2]}{slash}{path}"


def env_proxy(url: str) -> str | None:
    """The proxy ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` name for ``url``.

    Looked up by the client once per host, not by aiohttp per request: aiohttp's
    ``trust_env`` reads the environment on every request, which measured here as
    a third of a small ``create``'s client CPU.
    """
    parts = urlsplit(url)
    env = urllib.request.getproxies_environment()
    via = env.get(parts.scheme)
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if not via or bypass(parts.hostname or "", env):
        return None
    return str(via)


def check_proxy(proxy: object, base_url: str, *, trust_env: bool) -> str | None:
    """``proxy=`` checked (or, with ``trust_env``, the environment's for the base
    URL); and never a credential in clear text through a proxy.

    Over ``https://`` a proxy only relays an encrypted tunnel (CONNECT). Over
    ``http://`` it would read the request, credential included: refused.
    """
    if proxy is not None and (
        not isinstance(proxy, str) or urlsplit(proxy).scheme not in ("http", "https")
    ):
        raise ConfigurationError(f"proxy must be an http(s) URL string, got {proxy!r:.80}")
    via = proxy if proxy is not None or not trust_env else env_proxy(base_url)
    if via is not None and base_url.startswith("http://"):
        raise ConfigurationError(
            "base_url is plain http:// and a proxy is in use (proxy= or HTTP_PROXY): the "
            "credential would reach the proxy in clear text. Use https://, add the host to "
            "NO_PROXY, or pass trust_env=False."
        )
    return via


def check_limiter(limiter: object) -> RateLimiter | None:
    if limiter is not None and not isinstance(limiter, RateLimiter):
        raise ConfigurationError(
            f"limiter must be a rawclaude.RateLimiter, got {type(limiter).__name__}"
        )
    return limiter


def check_stages(argument: str, stages: object, method: str) -> tuple[Any, ...]:
    """A sequence of objects that each have a callable ``method``."""
    items = _sequence(argument, stages)
    for item in items:
        if not callable(getattr(item, method, None)):
            raise ConfigurationError(f"{argument}: {item!r:.80} has no {method}() method")
    return items


def check_callables(argument: str, items: object) -> tuple[Callable[..., Any], ...]:
    out = _sequence(argument, items)
    for item in out:
        if not callable(item):
            raise ConfigurationError(f"{argument}: {item!r:.80} is not callable")
    return out


def _sequence(argument: str, items: object) -> tuple[Any, ...]:
    if items is None:
        return ()
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
        raise ConfigurationError(f"{argument} must be a list, got {type(items).__name__}")
    return tuple(items)
