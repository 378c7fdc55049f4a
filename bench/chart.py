"""The PNG: a few bar panels, one bar per client, whiskers from min to max."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .fmt import num

CLIENTS = ("rawclaude", "sdk", "floor")
LABELS = {"rawclaude": "rawclaude", "sdk": "SDK", "floor": "floor"}
COLORS = {"rawclaude": "#d97757", "sdk": "#6a7fa8", "floor": "#8a8a8a"}


def _create_key(summaries: dict[str, dict[str, Any]]) -> str:
    keys = [k for k in summaries.get("create", {}).get("values", {}) if k.startswith("rps@")]
    return "rps@64" if "rps@64" in keys else (keys[-1] if keys else "rps@64")


def panels(summaries: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(case, metric key, title) of each panel."""
    create = _create_key(summaries)
    return [
        ("stream", "events_per_s", "stream end to end\nevents/s ↑"),
        ("ttft", "warm_total_p50_ms", "first text delta, warm\np50 ms ↓"),
        ("create", create, f"create, c={create.split('@')[1]}\nrequests/s ↑"),
        ("import", "import_ms", "python -c 'import X'\nms ↓"),
        ("import", "rss_mib", "RSS after import + client\nMiB ↓"),
    ]


def _draw(ax: Any, cells: dict[str, Any], title: str) -> None:
    from matplotlib.ticker import FuncFormatter

    for i, client in enumerate(CLIENTS):
        c = cells.get(client, {})
        if "median" not in c:
            ax.text(i, 0, "n/a", ha="center", va="bottom", fontsize=8)
            continue
        err = [[c["median"] - c["min"]], [c["max"] - c["median"]]]
        ax.bar(i, c["median"], color=COLORS[client], yerr=err, capsize=3)
        ax.text(i, c["max"], num(c["median"]), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(CLIENTS)), [LABELS[c] for c in CLIENTS], fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="y", labelsize=7)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: num(v) if v else "0"))
    ax.margins(y=0.12)


def draw(summaries: dict[str, dict[str, Any]], path: Path, subtitle: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = panels(summaries)
    fig, axes = plt.subplots(1, len(chosen), figsize=(3.0 * len(chosen), 3.4))
    for ax, (case, key, title) in zip(axes, chosen, strict=False):
        _draw(ax, summaries.get(case, {}).get("values", {}).get(key, {}), title)
    fig.suptitle(f"rawclaude vs the official SDK vs a bare aiohttp floor — {subtitle}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
