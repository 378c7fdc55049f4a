"""From raw worker runs to the numbers every report shows (plain, JSON-ready dicts)."""

from __future__ import annotations

from typing import Any

from .runner import CaseRun
from .stats import paired_ratio, summary

REFERENCES = {"x_sdk": "sdk", "x_floor": "floor"}


def _series(run: CaseRun, client: str, key: str) -> list[float | None]:
    """The metric's value in each round, None where that run failed or lacks it."""
    out: list[float | None] = []
    for result in run.runs.get(client, []):
        metrics = (result or {}).get("metrics", {})
        out.append(metrics.get(key))
    return out


def _na(run: CaseRun, client: str) -> str | None:
    for result in run.runs.get(client, []):
        if result and "na" in result:
            return str(result["na"])
    return None


def _cell(run: CaseRun, client: str, key: str) -> dict[str, Any]:
    series = _series(run, client, key)
    values = [v for v in series if v is not None]
    if values:
        return {**summary(values), "runs": series}
    reason = _na(run, client)
    if reason is None:
        failed = any(r is None for r in run.runs.get(client, []))
        reason = "failed" if failed else "not measured for this client"
    return {"na": reason}


def _ratios(run: CaseRun, key: str) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for client in run.case.clients:
        series = _series(run, client, key)
        out[client] = {
            name: paired_ratio(series, _series(run, ref, key)) if ref != client else None
            for name, ref in REFERENCES.items()
        }
    return out


def summarize(run: CaseRun) -> dict[str, Any]:
    keys = [m.key for m in run.metrics]
    return {
        "name": run.case.name,
        "title": run.case.title,
        "notes": run.case.notes,
        "params": run.params,
        "seconds": run.seconds,
        "errors": run.errors,
        "clients": list(run.case.clients),
        "metrics": [
            {"key": m.key, "label": m.label, "unit": m.unit, "higher_is_better": m.higher_is_better}
            for m in run.metrics
        ],
        "values": {k: {c: _cell(run, c, k) for c in run.case.clients} for k in keys},
        "ratios": {k: _ratios(run, k) for k in keys},
        "info": {c: [(r or {}).get("info") for r in run.runs[c]] for c in run.case.clients},
    }
