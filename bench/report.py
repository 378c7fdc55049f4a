"""The terminal tables and the markdown report, both from the summaries."""

from __future__ import annotations

from typing import Any

from .fmt import CLIENT_NAMES, cell, ratio

Row = list[str]
HEADER = ["metric", "client", "median", "min, max", "x SDK", "x floor"]


def case_rows(case: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for metric in case["metrics"]:
        key, arrow = metric["key"], "↑" if metric["higher_is_better"] else "↓"
        label = f"{metric['label']} [{metric['unit']}] {arrow}".replace(" []", "")
        for i, client in enumerate(case["clients"]):
            median, spread = cell(case["values"][key][client])
            ratios = case["ratios"][key][client]
            rows.append(
                [
                    label if i == 0 else "",
                    CLIENT_NAMES.get(client, client),
                    median,
                    spread,
                    ratio(ratios["x_sdk"]),
                    ratio(ratios["x_floor"]),
                ]
            )
    return rows


def na_notes(case: dict[str, Any]) -> list[str]:
    """Why a client has no value, once per client and reason."""
    seen: dict[tuple[str, str], None] = {}
    for cells in case["values"].values():
        for client, c in cells.items():
            if "na" in c:
                seen[(CLIENT_NAMES.get(client, client), str(c["na"]))] = None
    return [f"{client}: n/a, {reason}" for client, reason in seen]


def _text_table(header: Row, rows: list[Row]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    numeric = {2, 4, 5} if len(header) == 6 else set()

    def line(row: Row) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=False))
        )

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def terminal(summaries: list[dict[str, Any]], goals: list[dict[str, str]]) -> str:
    parts = []
    for case in summaries:
        parts.append(f"\n== {case['title']}  ({case['seconds']:.0f} s)")
        parts.append(_text_table(HEADER, case_rows(case)))
        parts.extend(f"   {note}" for note in na_notes(case))
        parts.extend(f"   ! {e}" for e in case["errors"])
    parts.append("\n== Goals")
    goal_rows = [[g["goal"], g["measured"], g["target"], g["status"]] for g in goals]
    parts.append(_text_table(["goal", "measured", "target", "status"], goal_rows))
    return "\n".join(parts)


def _md_table(header: Row, rows: list[Row]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out.extend("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows)
    return "\n".join(out)


def _md_meta(meta: dict[str, Any]) -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    m = meta["machine"]
    return [
        f"- Command: `{meta['command']}` ({meta['mode']} suite, {meta['seconds']:.0f} s, "
        f"started {meta['started']})",
        f"- Versions: {versions}",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}, "
        f"kernel {m['kernel']}",
        f"- Load average at start / end: {meta['load_start']} / {meta['load_end']} "
        "(other work on the machine shows up as spread)",
    ]


def markdown(
    meta: dict[str, Any], summaries: list[dict[str, Any]], goals: list[dict[str, str]], png: str
) -> str:
    lines = [
        "# rawclaude benchmarks",
        "",
        *_md_meta(meta),
        "",
        HOW_TO_READ,
        "",
        f"![results]({png})",
        "",
        "## Goals",
        "",
    ]
    lines.append(
        _md_table(
            ["goal", "measured", "target", "status"],
            [[g["goal"], g["measured"], g["target"], f"**{g['status']}**"] for g in goals],
        )
    )
    for case in summaries:
        lines += ["", f"## {case['title']}", "", case["notes"], ""]
        params = ", ".join(f"{k}={v}" for k, v in case["params"].items())
        lines += [f"Parameters: {params}. Took {case['seconds']:.0f} s.", ""]
        lines.append(_md_table(HEADER, case_rows(case)))
        lines.extend(f"\n- {note}" for note in na_notes(case))
        lines.extend(f"\n- Error: {e}" for e in case["errors"])
        lines.extend(_md_info(case))
    return "\n".join(lines) + "\n"


def _md_info(case: dict[str, Any]) -> list[str]:
    out = []
    for client, infos in case["info"].items():
        for info in infos:
            if info:
                shown = "; ".join(f"{k}: {v}" for k, v in info.items())
                out.append(f"- {CLIENT_NAMES.get(client, client)}: {shown}")
    return ["", *out] if out else []


HOW_TO_READ = (
    "How to read: every number was measured in this run on this machine. Each case runs in "
    "fresh worker processes (one per client per round, clients interleaved and rotated), "
    "with the fake server (`python -m rawclaude.testing`) in a process of its own, after a "
    "warm-up. *median* and *min, max* are over the rounds. *x SDK* / *x floor* divide this "
    "client's value by the SDK's / the floor's, round by round, and give the median of those "
    "ratios (↑: higher is better, so a ratio above 1 is better; ↓: lower is better, so below 1 "
    "is better). The *floor* is bench/floor.py: bare aiohttp + msgspec with no checks, the "
    "practical limit."
)
