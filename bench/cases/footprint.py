"""7. Install footprint: site-packages bytes and distributions, per client alone."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .. import footprint_methods as fm
from ..config import Config
from ..spec import Case, Metric, Params, WorkerResult

SPECS = {"rawclaude": ["."], "sdk": ["anthropic"], "floor": ["aiohttp", "msgspec", "orjson"]}
ROOTS = {"rawclaude": ["rawclaude"], "sdk": ["anthropic"], "floor": SPECS["floor"]}


def params(cfg: Config) -> Params:
    return {"method": cfg.footprint_method, "timeout": cfg.worker_timeout}


def run(client: str, p: Params) -> WorkerResult:
    method, reason = p["method"], ""
    found: fm.Footprint | None = None
    if method == "venv":
        try:
            found = fm.install_in_venv(SPECS[client], Path(p["repo"]), p["timeout"] * 0.8)
        except (subprocess.SubprocessError, OSError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            method, reason = "metadata", f"venv install failed: {str(detail).strip()[-300:]}"
    if found is None:
        found = fm.from_metadata(ROOTS[client])
    metrics = {"size_mb": found.size / 1e6, "dists": float(len(found.dists))}
    info: dict[str, object] = {"method": method, "distributions": found.dists}
    if reason:
        info["fallback_reason"] = reason
    return {"metrics": metrics, "info": info}


METRICS = (
    Metric("size_mb", "installed size (MB = 10^6 bytes)", "MB", False),
    Metric("dists", "distributions installed", "", False),
)

CASE = Case(
    name="footprint",
    title="7. Install footprint",
    metrics=lambda cfg: METRICS,
    params=params,
    run=run,
    reps=lambda cfg: 1,
    notes=(
        "venv method: a fresh venv per client, `pip install --no-compile` of the repo "
        "(copied to a temp dir first) / `anthropic` / `aiohttp msgspec orjson`, then the "
        "bytes of site-packages' files and the number of *.dist-info. metadata method "
        "(--smoke): dependency closure and RECORD sizes of this environment. Bytecode "
        "caches are left out either way."
    ),
)
