"""Header rules and the API version table (pure)."""

from __future__ import annotations

import pytest

from rawclaude import ConfigurationError, UnsupportedParameterError
from rawclaude._version import __version__
from rawclaude.wire.headers import (
    DEFAULT_API_VERSION,
    LEGACY_API_VERSION,
    VERSION_RULES,
    build_headers,
    check_api_version,
    check_params,
    with_call_headers,
)


def _headers(**kw: object) -> dict[str, str]:
    """A client's headers (build_headers) plus one call's (with_call_headers)."""
    args: dict[str, object] = {
        "api_key": None,
        "auth_token": None,
        "api_version": DEFAULT_API_VERSION,
        "default_headers": None,
    }
    betas, extra = kw.pop("betas", None), kw.pop("extra_headers", None)
    args.update(kw)
    client = build_headers(**args)  # type: ignore[arg-type]
    return with_call_headers(client, betas, extra)  # type: ignore[arg-type]


def test_default_version_is_the_current_one() -> None:
    assert DEFAULT_API_VERSION == "2026-10-21"
    assert set(VERSION_RULES) == {"2023-06-01", "2026-10-21"}


def test_api_key_header() -> None:
    h = _headers(api_key="sk-test")
    assert h["x-api-key"] == "sk-test"
    assert "authorization" not in h
    assert h["anthropic-version"] == DEFAULT_API_VERSION
    assert h["content-type"] == "application/json"
    assert h["user-agent"] == f"rawclaude/{__version__}"
    assert not any(k.startswith("x-stainless") for k in h)


def test_bearer_token_header() -> None:
    h = _headers(auth_token="tok")
    assert h["authorization"] == "Bearer tok"
    assert "x-api-key" not in h


def test_betas_are_joined() -> None:
    assert _headers(betas=["a", "b"])["anthropic-beta"] == "a,b"
    assert _headers(betas="one")["anthropic-beta"] == "one"
    assert "anthropic-beta" not in _headers(betas=[])


def test_extra_headers_override_and_empty_removes() -> None:
    h = _headers(
        api_key="k",
        default_headers={"X-Team": "a", "User-Agent": "mine/1"},
        extra_headers={"x-team": "b", "accept": ""},
    )
    assert h["x-team"] == "b"
    assert h["user-agent"] == "mine/1"
    assert "accept" not in h


@pytest.mark.parametrize("param", ["temperature", "top_p", "top_k"])
def test_current_version_refuses_sampling_params(param: str) -> None:
    with pytest.raises(UnsupportedParameterError) as info:
        check_params(DEFAULT_API_VERSION, {"model": "m", param: 0.5})
    err = info.value
    assert err.param == param and err.api_version == DEFAULT_API_VERSION
    assert param in str(err) and "api_version='2023-06-01'" in str(err)
    assert isinstance(err, ValueError)


@pytest.mark.parametrize("param", ["temperature", "top_p", "top_k"])
def test_legacy_version_accepts_sampling_params(param: str) -> None:
    check_params(LEGACY_API_VERSION, {param: 0.5})


def test_unknown_version_has_no_local_rules() -> None:
    check_params("2030-01-01", {"temperature": 1.0})


@pytest.mark.parametrize("bad", ["", "latest", "2026-1-1", "2026/10/21", 20261021])
def test_api_version_must_be_a_date(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="YYYY-MM-DD"):
        check_api_version(bad)  # type: ignore[arg-type]
