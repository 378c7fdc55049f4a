"""Number formatting shared by the terminal table and the markdown report."""

from __future__ import annotations

from typing import Any


def num(value: float | None) -> str:
    if value is None:
        return "n/a"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def signed(value: float | None) -> str:
    if value is None:
        return "n/a"
    return ("+" if value >= 0 else "-") + num(abs(value))


def ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def cell(c: dict[str, Any]) -> tuple[str, str]:
    """(median, "min, max") of a summary cell, or ("n/a", reason)."""
    if "na" in c:
        return "n/a", ""
    if c["n"] <= 1:
        return num(c["median"]), ""
    return num(c["median"]), f"[{num(c['min'])}, {num(c['max'])}]"


CLIENT_NAMES = {
    "rawclaude": "rawclaude",
    "sdk": "SDK",
    "floor": "floor",
    "baseline": "python -c pass",
}
