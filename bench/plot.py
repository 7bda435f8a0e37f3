"""Draw docs/benchmarks.png from bench/results/latest.json: ``python -m bench.plot``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "latest.json"
PNG = ROOT / "docs" / "benchmarks.png"
DATABASES = ("sqlite-1m", "postgresql-1m", "postgresql-10m")
LABELS = {
    "sqlite-1m": "SQLite\n1M items",
    "postgresql-1m": "PostgreSQL\n1M",
    "postgresql-10m": "PostgreSQL\n10M",
}


def figure(pick: Any, databases: list[str], who: str, size: str) -> list[float]:
    return [pick(results_for(db)[f"{who}/{size}"]["median"]) for db in databases]


_results: dict[str, Any] = {}


def results_for(database: str) -> dict[str, Any]:
    return dict(_results[f"pages/{database}"])


def bars(
    axis: Any, groups: list[str], series: dict[str, list[float]], title: str, unit: str
) -> None:
    width = 0.8 / len(series)
    for n, (name, values) in enumerate(series.items()):
        xs = [i + (n - (len(series) - 1) / 2) * width for i in range(len(groups))]
        drawn = axis.bar(xs, values, width, label=name)
        axis.bar_label(drawn, labels=[f"{v:,.0f}" for v in values], fontsize=7, padding=2)
    axis.set_xticks(range(len(groups)), groups, fontsize=8)
    axis.set_title(title, fontsize=10)
    axis.set_ylabel(unit, fontsize=8)
    axis.legend(fontsize=7)


def main() -> None:
    _results.update(json.loads(RESULTS.read_text()))
    databases = [db for db in DATABASES if f"pages/{db}" in _results]
    groups = [LABELS[db] for db in databases]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    bars(
        axes[0][0],
        groups,
        {
            who: figure(lambda m: m["items_per_s"], databases, who, "full")
            for who in ("ours", "bare")
        },
        "Full pages (Count 1000, the mix): items/s",
        "items per second",
    )
    small = {
        who: figure(lambda m: m["requests_per_s"], databases, who, "small")
        for who in ("ours", "bare")
    }
    bars(
        axes[0][1],
        groups,
        small,
        "Small pages (Count 10, the mix): requests/s",
        "requests per second",
    )
    if "peer/prism" in _results:
        prism = _results["peer/prism"]["median"]["requests_per_s"]
        axes[0][1].axhline(prism, color="grey", linestyle="--", linewidth=1)
        axes[0][1].text(-0.4, prism, f" Prism {prism:,.0f}/s", fontsize=7, va="bottom")
    latency = {
        f"{who} {q}": figure(lambda m, q=q: m[f"{q}_ms"], databases, who, "full")
        for who in ("ours",)
        for q in ("p50", "p99")
    }
    bars(axes[1][0], groups, latency, "Full pages: latency at the client (ours)", "ms")
    load = _results.get("load", {})
    if load:
        rates = [load["sqlite"]["items_per_s"], load["postgresql"]["items_per_s"]]
        bars(
            axes[1][1],
            ["SQLite", "PostgreSQL"],
            {"orderitems import": rates},
            "Bulk load (1M items)",
            "items per second",
        )
    machine = _results.get("machine", {})
    cores, cpu, date = machine.get("cores", "?"), machine.get("cpu", ""), machine.get("date", "")
    fig.suptitle(f"orderitems getAll, {cores} cores ({cpu}), {date}", fontsize=11)
    fig.tight_layout()
    fig.savefig(PNG, dpi=110)
    print(f"wrote {PNG}")


if __name__ == "__main__":
    main()
