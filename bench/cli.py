"""``python -m bench``: options, the run, and every output file."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from . import chart, goals, meta, report, runner
from .cases import MODULES, all_cases
from .config import MODES, Config
from .summary import summarize

BENCH = Path(__file__).resolve().parent


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description="rawclaude vs SDK vs floor.")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="the long suite (about 20 min)")
    size.add_argument("--smoke", action="store_true", help="tiny sizes, for the tests")
    p.add_argument("--only", help=f"comma-separated cases: {','.join(MODULES)}")
    p.add_argument("--out", type=Path, default=BENCH / "out", help="output directory")
    p.add_argument("--reps", type=int, help="rounds per case (default: by suite)")
    p.add_argument("--footprint-method", choices=("venv", "metadata"), help="override")
    p.add_argument(
        "--write-results",
        action="store_true",
        help="also write bench/RESULTS.md and bench/results.png",
    )
    return p.parse_args(argv)


def config(args: argparse.Namespace) -> Config:
    cfg = MODES["full" if args.full else "smoke" if args.smoke else "quick"]
    if args.reps:
        cfg = dataclasses.replace(cfg, reps=args.reps)
    if args.footprint_method:
        cfg = dataclasses.replace(cfg, footprint_method=args.footprint_method)
    return cfg


def select(only: str | None) -> list[Any]:
    if not only:
        return all_cases()
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; choose from {', '.join(MODULES)}")
    return [case for case in all_cases() if case.name in names]


def write(
    out: Path, doc: dict[str, Any], summaries: list[dict[str, Any]]
) -> tuple[Path, Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = out / "results.json", out / "report.md", out / "results.png"
    json_path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    by_name = {s["name"]: s for s in summaries}
    chart.draw(
        by_name, png_path, f"{doc['meta']['mode']} suite, {doc['meta']['machine']['cores']} cores"
    )
    md_path.write_text(report.markdown(doc["meta"], summaries, doc["goals"], png_path.name))
    return json_path, md_path, png_path


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    cfg, cases = config(args), select(args.only)
    started, load_start, t0 = (
        time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        meta.load_average(),
        time.monotonic(),
    )
    runs = runner.run_all(cases, cfg, args.out)
    summaries = [summarize(run) for run in runs]
    goal_rows = goals.evaluate({s["name"]: s for s in summaries})
    if cfg.mode == "smoke":
        # Tiny sizes check that everything runs; their numbers judge nothing.
        for row in goal_rows:
            if row["status"] != "n/a":
                row["status"] = f"({row['status']}: smoke sizes, not a verdict)"
    info = {
        "command": meta.command_line(),
        "mode": cfg.mode,
        "started": started,
        "seconds": time.monotonic() - t0,
        "load_start": load_start,
        "load_end": meta.load_average(),
        "versions": meta.versions(),
        "machine": meta.machine(),
    }
    doc = {"meta": info, "config": dataclasses.asdict(cfg), "cases": summaries, "goals": goal_rows}
    paths = write(args.out, doc, summaries)
    print(report.terminal(summaries, goal_rows))
    print("\nwrote " + ", ".join(str(p) for p in paths))
    if args.write_results:
        shutil.copyfile(paths[1], BENCH / "RESULTS.md")
        shutil.copyfile(paths[2], BENCH / "results.png")
        print(f"wrote {BENCH / 'RESULTS.md'}, {BENCH / 'results.png'}")
    return 1 if any(s["errors"] for s in summaries) else 0
