"""Smoke test of the benchmark suite: every case, tiny sizes, the real process machinery.

Runs ``python -m bench --smoke`` once (workers, fake server and redis-server each
in their own process) and checks only the structure of what comes out: a row
per client per metric with a positive number, and the JSON, markdown and PNG
files. The values themselves are not asserted.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.cases import MODULES
from bench.cases.share import max_excess
from bench.stats import paired_ratio, percentile

pytest.importorskip("matplotlib")
pytest.importorskip("anthropic")

REPO = Path(__file__).resolve().parent.parent
HAVE_REDIS = shutil.which("redis-server") is not None
#: Metrics that may rightly be zero or negative.
SIGNED = {"max_excess", "import_vs_floor_ms", "added_p50_ms", "added_p99_ms"}  # differences
#: (case, client) pairs that are n/a by design.
NOT_APPLICABLE = {("limiter", "sdk"), ("share", "sdk"), ("share", "floor")}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench-out")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, json.loads((out / "results.json").read_text())


def _expect_value(case: str, client: str, key: str) -> bool:
    if (case, client) in NOT_APPLICABLE:
        return False
    if key in ("own_import_ms", "vs_floor"):
        return client == "rawclaude"
    if key.startswith("fake_"):  # the CLI's embedded fake server: rawclaude's only
        return client == "rawclaude"
    if key == "import_vs_floor_ms":
        return client in ("rawclaude", "sdk")
    needs_redis = case == "share" or key.startswith("redis")
    return HAVE_REDIS or not needs_redis


def test_every_case_has_a_number_per_client_and_metric(smoke: tuple[Path, dict[str, Any]]) -> None:
    _, doc = smoke
    cases = {c["name"]: c for c in doc["cases"]}
    assert set(cases) == set(MODULES)
    for name, case in cases.items():
        assert case["errors"] == [], (name, case["errors"])
        assert case["metrics"], name
        for metric in case["metrics"]:
            for client in case["clients"]:
                cell = case["values"][metric["key"]][client]
                if not _expect_value(name, client, metric["key"]):
                    assert "na" in cell, (name, client, metric["key"])
                    continue
                value = cell.get("median")
                assert isinstance(value, float) and math.isfinite(value), (name, client, metric)
                if metric["key"] not in SIGNED:
                    assert value > 0, (name, client, metric["key"], value)


def test_reports_are_written(smoke: tuple[Path, dict[str, Any]]) -> None:
    out, doc = smoke
    assert (out / "report.md").read_text().startswith("# rawclaude benchmarks")
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"python", "rawclaude", "aiohttp", "msgspec", "orjson", "anthropic"} <= set(
        doc["meta"]["versions"]
    )
    assert doc["meta"]["machine"]["cores"] >= 1
    verdicts = ("PASS", "MISS", "info")  # "info": a figure reported, with no target
    smoke_statuses = {"n/a"} | {f"({v}: smoke sizes, not a verdict)" for v in verdicts}
    assert doc["goals"] and all(g["status"] in smoke_statuses for g in doc["goals"])
    footprint = next(c for c in doc["cases"] if c["name"] == "footprint")
    assert all(info[0]["method"] == "metadata" for info in footprint["info"].values())


def test_max_excess_counts_grants_beyond_the_bucket() -> None:
    # 10/s, capacity 2: three grants at once exceed it by one, spread ones do not.
    assert max_excess([0.0, 0.0, 0.0], rate=10, capacity=2) == pytest.approx(1.0)
    assert max_excess([0.0, 0.1, 0.2, 0.3], rate=10, capacity=2) <= 0


def test_percentile_and_paired_ratio() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([5.0], 99) == 5.0
    assert paired_ratio([2.0, 4.0, None], [1.0, 1.0, 1.0]) == pytest.approx(3.0)
