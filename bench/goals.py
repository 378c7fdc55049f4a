"""The goals table: each goal's measured value, its target, PASS or MISS.

Ratios are paired run by run (see ``stats.paired_ratio``); differences are
between medians. A goal whose inputs were not measured says n/a.
"""

from __future__ import annotations

from typing import Any

from .fmt import num, signed
from .stats import paired_diff

Summaries = dict[str, dict[str, Any]]
Goal = dict[str, str]


def _median(s: Summaries, case: str, key: str, client: str) -> float | None:
    cell = s.get(case, {}).get("values", {}).get(key, {}).get(client, {})
    value = cell.get("median")
    return float(value) if value is not None else None


def _ratio(s: Summaries, case: str, key: str, ref: str = "x_floor") -> float | None:
    value = s.get(case, {}).get("ratios", {}).get(key, {}).get("rawclaude", {}).get(ref)
    return float(value) if value is not None else None


def _goal(name: str, measured: str, target: str, ok: bool | None) -> Goal:
    status = "n/a" if ok is None else ("PASS" if ok else "MISS")
    return {"goal": name, "measured": measured, "target": target, "status": status}


def _at_least(name: str, r: float | None, target: float, detail: str) -> Goal:
    measured = "n/a" if r is None else f"{r:.2f}x floor ({detail})"
    return _goal(name, measured, f">= {target}x floor", None if r is None else r >= target)


def stream(s: Summaries) -> Goal:
    raw, fl = (_median(s, "stream", "events_per_s", c) for c in ("rawclaude", "floor"))
    detail = f"{num(raw)} vs {num(fl)} events/s"
    return _at_least(
        "stream end to end, events/s", _ratio(s, "stream", "events_per_s"), 0.7, detail
    )


def ttft(s: Summaries) -> Goal:
    key = "warm_total_p50_ms"
    r = _ratio(s, "ttft", key)
    parts = []
    for client in ("rawclaude", "floor"):
        total, added = (
            _median(s, "ttft", key, client),
            _median(s, "ttft", "warm_added_p50_ms", client),
        )
        parts.append(f"{client} {num(total)} ms, added {num(added)} ms")
    measured = "n/a" if r is None else f"{r:.2f}x floor ({'; '.join(parts)})"
    return _goal(
        "time to first delta, p50 warm", measured, "<= 1.3x floor", None if r is None else r <= 1.3
    )


def create(s: Summaries) -> Goal:
    levels = [
        int(k.split("@")[1]) for k in s.get("create", {}).get("values", {}) if k.startswith("rps@")
    ]
    level = 64 if 64 in levels else max(levels, default=64)
    key = f"rps@{level}"
    raw, fl = (_median(s, "create", key, c) for c in ("rawclaude", "floor"))
    # Paired window by window inside one process (see the case's notes); the
    # ratio of medians across processes is shown beside it.
    paired = _median(s, "create", f"vs_floor@{level}", "rawclaude")
    return _at_least(
        f"create at c={level}, req/s",
        paired,
        0.85,
        f"paired in process; across processes {num(raw)} vs {num(fl)} req/s",
    )


def _runs(s: Summaries, case: str, key: str, client: str) -> list[float | None]:
    cell = s.get(case, {}).get("values", {}).get(key, {}).get(client, {})
    return list(cell.get("runs", []))


def _within(s: Summaries, name: str, case: str, key: str, unit: str, slack: float) -> Goal:
    """rawclaude minus floor, paired round by round (median of the differences)."""
    raw, fl = _median(s, case, key, "rawclaude"), _median(s, case, key, "floor")
    diff = paired_diff(_runs(s, case, key, "rawclaude"), _runs(s, case, key, "floor"))
    if raw is None or fl is None or diff is None:
        return _goal(name, "n/a", f"<= floor + {slack:g} {unit}", None)
    measured = f"{signed(diff)} {unit} (medians: rawclaude {num(raw)}, floor {num(fl)})"
    return _goal(name, measured, f"<= floor + {slack:g} {unit}", diff <= slack)


def inproc(s: Summaries) -> list[Goal]:
    keys = [k for k in s.get("inproc", {}).get("values", {}) if k.startswith("events_per_s@")]
    ratios = {k: _ratio(s, "inproc", k) for k in keys}
    known = {k: r for k, r in ratios.items() if r is not None}
    worst = min(known.values()) if known else None
    detail = ", ".join(f"{k.split('@')[1]}: {r:.2f}x" for k, r in known.items())
    goals = [_at_least("in-process parse+decode+accumulate (worst size)", worst, 0.8, detail)]
    first = _median(s, "inproc", keys[0], "rawclaude") if keys else None
    last = _median(s, "inproc", keys[-1], "rawclaude") if keys else None
    if first and last:
        change = last / first - 1
        sizes = f"{keys[-1].split('@')[1]} vs {keys[0].split('@')[1]} events"
        measured = f"{change:+.1%} ({num(last)} vs {num(first)} events/s, {sizes})"
        goals.append(
            _goal("in-process flat with size", measured, "within ±15%", abs(change) <= 0.15)
        )
    else:
        goals.append(_goal("in-process flat with size", "n/a", "within ±15%", None))
    return goals


def share(s: Summaries) -> Goal:
    excess = _median(s, "share", "max_excess", "rawclaude")
    measured = "n/a" if excess is None else f"{num(excess)} tokens over rate·t + capacity"
    # Grants are whole: a real overrun shows as a whole extra grant (>= 1); a
    # fraction only means the local timestamps jittered by under 1/rate.
    return _goal(
        "shared Redis bucket never over rate·t + capacity",
        measured,
        "< 1 grant",
        None if excess is None else excess < 1,
    )


def import_time(s: Summaries) -> Goal:
    """rawclaude's import minus the floor's, alternated in one worker (see the case)."""
    name, target = "import time (python -c)", "<= floor + 20 ms"
    diff = _median(s, "import", "import_vs_floor_ms", "rawclaude")
    if diff is None:
        return _goal(name, "n/a", target, None)
    raw, fl = (
        _median(s, "import", "import_ms", "rawclaude"),
        _median(s, "import", "import_ms", "floor"),
    )
    own = _median(s, "import", "own_import_ms", "rawclaude")
    measured = (
        f"{signed(diff)} ms (alternated launches, fastest of each; across rounds: rawclaude "
        f"{num(raw)}, floor {num(fl)}); rawclaude's own modules: {num(own)} ms"
    )
    return _goal(name, measured, target, diff <= 20)


def stages(s: Summaries) -> Goal:
    """The pipeline with a limiter and a no-op hook vs without, paired in one worker."""
    ratio = _median(s, "stages", "cpu_ratio", "rawclaude")
    plain, staged = (
        _median(s, "stages", k, "rawclaude") for k in ("plain_cpu_us", "staged_cpu_us")
    )
    measured = "n/a" if ratio is None else f"{ratio - 1:+.1%} ({num(staged)} vs {num(plain)} µs)"
    return _goal(
        "create with limiter + no-op hook, client CPU",
        measured,
        "<= +5%",
        None if ratio is None else ratio <= 1.05,
    )


def production(s: Summaries) -> list[Goal]:
    """Every production piece on vs none (paired), and a cache hit vs a round trip."""
    ratio = _median(s, "production", "cpu_ratio", "rawclaude")
    none, full = (_median(s, "production", k, "rawclaude") for k in ("none_cpu_us", "all_cpu_us"))
    measured = "n/a" if ratio is None else f"{ratio - 1:+.1%} ({num(full)} vs {num(none)} µs)"
    cache = _median(s, "production", "cache_ratio", "rawclaude")
    hit, upstream = (
        _median(s, "production", k, "rawclaude") for k in ("cache_hit_us", "upstream_us")
    )
    cached = "n/a" if cache is None else f"{cache:.3f}x ({num(hit)} vs {num(upstream)} µs)"
    return [
        _goal(
            "create with all production pieces, client CPU",
            measured,
            "<= +10%",
            None if ratio is None else ratio <= 1.10,
        ),
        _goal("response-cache hit vs create", cached, "<= 0.2x", _ok_below(cache, 0.2)),
    ]


def _ok_below(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def _sizes(s: Summaries, case: str, prefix: str) -> list[int]:
    keys = s.get(case, {}).get("values", {})
    return [int(k.split("@")[1]) for k in keys if k.startswith(prefix)]


def _size_label(size: int) -> str:
    return f"{size / 1e6:g} MB" if size >= 1_000_000 else f"{size / 1e3:g} KB"


def tool_input(s: Summaries) -> list[Goal]:
    """Time per MB flat from 100 KB up (±20%), >= 0.7x floor, and how the SDK scales."""
    sizes = [n for n in _sizes(s, "toolinput", "ms_per_mb@") if n >= 100_000] or _sizes(
        s, "toolinput", "ms_per_mb@"
    )
    per_mb = {n: _median(s, "toolinput", f"ms_per_mb@{n}", "rawclaude") for n in sizes}
    known = {n: v for n, v in per_mb.items() if v}
    goals = []
    if len(known) >= 2:
        base = known[min(known)]
        worst = max(known.values(), key=lambda v: abs(v / base - 1))
        detail = ", ".join(f"{_size_label(n)}: {num(v)}" for n, v in known.items())
        goals.append(
            _goal(
                "streamed tool input: time per MB flat with size",
                f"{worst / base - 1:+.1%} worst vs {_size_label(min(known))} ({detail} ms/MB)",
                "within ±20%",
                abs(worst / base - 1) <= 0.20,
            )
        )
    else:
        goals.append(_goal("streamed tool input: time per MB flat with size", "n/a", "", None))
    ratios = {n: _ratio(s, "toolinput", f"events_per_s@{n}") for n in sizes}
    got = {n: r for n, r in ratios.items() if r is not None}
    worst_r = min(got.values()) if got else None
    detail = ", ".join(f"{_size_label(n)}: {r:.2f}x" for n, r in got.items())
    goals.append(_at_least("streamed tool input, events/s (worst size)", worst_r, 0.7, detail))
    sdk = {
        n: _median(s, "toolinput", f"ms_per_mb@{n}", "sdk")
        for n in _sizes(s, "toolinput", "ms_per_mb@")
    }
    shown = ", ".join(
        f"{_size_label(n)}: {num(v)}" if v else f"{_size_label(n)}: skipped" for n, v in sdk.items()
    )
    goals.append(
        {
            "goal": "SDK streamed tool input, ms per MB",
            "measured": shown or "n/a",
            "target": "(reported)",
            "status": "info",
        }
    )
    return goals


def agent_loop(s: Summaries) -> Goal:
    overhead = _median(s, "agentloop", "overhead_cpu_ms_per_turn", "rawclaude")
    bare = _median(s, "agentloop", "create_cpu_ms_per_request", "rawclaude")
    measured = "n/a" if overhead is None else f"{num(overhead)} ms (bare create: {num(bare)} ms)"
    return _goal(
        "tool runner overhead per turn, 8 parallel tools",
        measured,
        "<= 1 ms client CPU",
        None if overhead is None else overhead <= 1.0,
    )


def evaluate(s: Summaries) -> list[Goal]:
    goals = [stream(s), ttft(s), create(s), stages(s), *production(s)]
    goals.append(import_time(s))
    goals.append(_within(s, "RSS after import + client", "import", "rss_mib", "MiB", 3))
    goals.append(_within(s, "installed size", "footprint", "size_mb", "MB", 1))
    goals.extend(inproc(s))
    goals.append(share(s))
    goals.extend(tool_input(s))
    goals.append(agent_loop(s))
    goals.extend(batch_results(s))
    goals.extend([batch_line(s), upload(s), create_many(s)])
    return goals


def _info(s: Summaries, case: str, key: str) -> Any:
    return s.get(case, {}).get("params", {}).get(key)


def batch_results(s: Summaries) -> list[Goal]:
    case = "batch_results"
    raw, sdk, fl = (_median(s, case, "results_per_s", c) for c in ("rawclaude", "sdk", "floor"))
    vs_sdk = _ratio(s, case, "results_per_s", "x_sdk")
    measured = "n/a" if vs_sdk is None else f"{vs_sdk:.1f}x SDK ({num(raw)} vs {num(sdk)} res/s)"
    goals = [
        _goal("batch results, results/s vs SDK", measured, ">= 10x SDK", _ok(vs_sdk, 10)),
        _at_least(
            "batch results, results/s vs floor",
            _median(s, case, "vs_floor", "rawclaude"),
            0.8,
            f"paired in process; across processes {num(raw)} vs {num(fl)} res/s",
        ),
    ]
    growth = _median(s, case, "rss_growth_mib", "rawclaude")
    longest = _info(s, case, "longest_line")
    budget = None if longest is None else (2 * longest + 8 * 2**20) / 2**20
    ok = None if growth is None or budget is None else growth <= budget
    measured = "n/a" if growth is None else f"{num(growth)} MiB (longest line {longest} bytes)"
    target = "n/a" if budget is None else f"<= 2 x longest line + 8 MiB = {budget:.1f} MiB"
    goals.append(_goal("batch results, peak RSS growth", measured, target, ok))
    return goals


def batch_line(s: Summaries) -> Goal:
    case = "batch_line"
    scaling = _median(s, case, "scaling", "rawclaude")
    sizes = _info(s, case, "sizes") or [1, 4]
    linear = sizes[1] / sizes[0]
    raw, sdk = (_median(s, case, "large_line_s", c) for c in ("rawclaude", "sdk"))
    measured = (
        "n/a"
        if scaling is None
        else f"{scaling:.2f}x the time for {linear:g}x the bytes (rawclaude {num(raw)} s, "
        f"SDK {num(sdk)} s for the long line)"
    )
    # Linear is `linear`; quadratic would be its square. Allow noise up to 1.5x linear.
    return _goal(
        "one long results line in linear time",
        measured,
        f"<= {1.5 * linear:g}x",
        _ok_max(scaling, 1.5 * linear),
    )


def upload(s: Summaries) -> Goal:
    growth = _median(s, "upload", "rss_growth_mib", "rawclaude")
    sdk = _median(s, "upload", "rss_growth_mib", "sdk")
    mib = _info(s, "upload", "mib")
    measured = "n/a" if growth is None else f"{num(growth)} MiB (SDK {num(sdk)} MiB)"
    return _goal(f"upload of {mib} MB, peak RSS growth", measured, "<= 16 MiB", _ok_max(growth, 16))


def create_many(s: Summaries) -> Goal:
    ratio = _median(s, "create_many", "growth_vs_batch", "rawclaude")
    growth = _median(s, "create_many", "rss_growth_mib", "rawclaude")
    body = _median(s, "create_many", "largest_batch_mib", "rawclaude")
    measured = (
        "n/a" if ratio is None else f"{ratio:.2f}x ({num(growth)} MiB, batch body {num(body)} MiB)"
    )
    return _goal(
        "create_many, peak RSS growth vs one batch body", measured, "<= 2x", _ok_max(ratio, 2)
    )


def _ok(value: float | None, target: float) -> bool | None:
    return None if value is None else value >= target


def _ok_max(value: float | None, target: float) -> bool | None:
    return None if value is None else value <= target
