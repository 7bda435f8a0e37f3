"""Markdown tables of bench/results/latest.json for docs/benchmarks.md.

Usage: ``python -m bench.report``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results") / "latest.json"
DATABASES = ("sqlite-1m", "postgresql-1m", "postgresql-10m")


def median(results: dict[str, Any], section: str, key: str) -> dict[str, float]:
    return dict(results[section][key]["median"])


def pages_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| database | app | full items/s | full req/s | full p50 / p99 ms (8 conn.) "
        "| one page p50 / p99 ms | small req/s | small p99 ms | worker RSS MB (private) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for database in DATABASES:
        section = f"pages/{database}"
        if section not in results:
            continue
        for who in ("ours", "bare"):
            full = median(results, section, f"{who}/full")
            serial = median(results, section, f"{who}/full-serial")
            small = median(results, section, f"{who}/small")
            memory = results[section][f"{who}/full"]
            lines.append(
                f"| {database} | {who} | {full['items_per_s']:,.0f} | {full['requests_per_s']:,.0f}"
                f" | {full['p50_ms']:.1f} / {full['p99_ms']:.1f}"
                f" | {serial['p50_ms']:.1f} / {serial['p99_ms']:.1f}"
                f" | {small['requests_per_s']:,.0f} | {small['p99_ms']:.1f}"
                f" | {memory['worker_rss_mb']:.0f} ({memory['worker_anon_mb']:.0f}) |"
            )
    return lines


def targets_table(results: dict[str, Any]) -> list[str]:
    rows: list[tuple[str, str, bool]] = []

    def add(name: str, measured: str, met: bool) -> None:
        rows.append((name, measured, met))

    prism = results.get("peer/prism", {}).get("median", {}).get("requests_per_s")
    for database in DATABASES:
        section = f"pages/{database}"
        if section not in results:
            continue
        ours_small = median(results, section, "ours/small")["requests_per_s"]
        bare_small = median(results, section, "bare/small")["requests_per_s"]
        ours_full = median(results, section, "ours/full")["items_per_s"]
        bare_full = median(results, section, "bare/full")["items_per_s"]
        if prism:
            ratio = ours_small / prism
            add(f"small pages ≥ 5 x Prism ({database})", f"{ratio:.2f} x", ratio >= 5)
        ratio = ours_small / bare_small
        add(f"small pages ≥ 0.5 x bare app ({database})", f"{ratio:.2f}", ratio >= 0.5)
        ratio = ours_full / bare_full
        add(f"full pages ≥ 0.7 x bare app items/s ({database})", f"{ratio:.2f}", ratio >= 0.7)
        if database == "sqlite-1m":
            add("full pages ≥ 200,000 items/s, SQLite 1M", f"{ours_full:,.0f}", ours_full >= 2e5)
        if database == "postgresql-10m":
            add(
                "full pages ≥ 150,000 items/s, PostgreSQL 10M",
                f"{ours_full:,.0f}",
                ours_full >= 1.5e5,
            )
            p50 = median(results, section, "ours/full-serial")["p50_ms"]
            add("one 1000-item page p50 < 15 ms, PostgreSQL 10M", f"{p50:.1f} ms", p50 < 15)
        memory = results[section]["ours/full"]
        add(
            f"worker RSS < 200 MB ({database})",
            f"{memory['worker_rss_mb']:.0f} MB",
            memory["worker_rss_mb"] < 200,
        )
    for database in DATABASES:
        depth = results.get(f"depth/{database}")
        if depth:
            add(
                f"depth page 1000 / page 1 ≤ 1.2 ({database})",
                f"{depth['ratio_p50']:.2f}",
                depth["ratio_p50"] <= 1.2,
            )
    if "pages/postgresql-1m" in results and "pages/postgresql-10m" in results:
        one = median(results, "pages/postgresql-1m", "ours/full-serial")["p50_ms"]
        ten = median(results, "pages/postgresql-10m", "ours/full-serial")["p50_ms"]
        add(
            "growth 10M / 1M ≤ 1.5 (one-page p50, PostgreSQL)", f"{ten / one:.2f}", ten / one <= 1.5
        )
        one_rate = median(results, "pages/postgresql-1m", "ours/full")["items_per_s"]
        ten_rate = median(results, "pages/postgresql-10m", "ours/full")["items_per_s"]
        add(
            "growth 10M / 1M ≤ 1.5 (items/s, PostgreSQL)",
            f"{one_rate / ten_rate:.2f}",
            one_rate / ten_rate <= 1.5,
        )
    load = results.get("load")
    if load:
        rate = load["postgresql"]["items_per_s"]
        add("import ≥ 100,000 items/s into PostgreSQL", f"{rate:,.0f}", rate >= 1e5)
        rate = load["sqlite"]["items_per_s"]
        add("import ≥ 50,000 items/s into SQLite", f"{rate:,.0f}", rate >= 5e4)
        for name, stored in load["storage"].items():
            add(f"bytes per item on disk ({name})", f"{stored['bytes_per_item']:,.0f}", True)
    lines = ["| target | measured | met |", "|---|---:|---|"]
    lines += [
        f"| {name} | {measured} | {'yes' if met else '**no**'} |" for name, measured, met in rows
    ]
    return lines


def simplest_table(results: dict[str, Any]) -> list[str]:
    """Ours, the bare app and Prism on the cheapest small page (bench/workload.py)."""
    found = results.get("peer/simplest")
    if not found:
        return []
    prism = found["prism"]["median"]["requests_per_s"]
    lines = [
        "| app | req/s | p50 / p99 ms | x Prism | worker RSS MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for who in ("ours", "bare", "prism"):
        figures = found[who]["median"]
        lines.append(
            f"| {who} | {figures['requests_per_s']:,.0f}"
            f" | {figures['p50_ms']:.1f} / {figures['p99_ms']:.1f}"
            f" | {figures['requests_per_s'] / prism:.2f} | {found[who]['worker_rss_mb']:.0f} |"
        )
    return lines


def main() -> None:
    results = json.loads(RESULTS.read_text())
    print("\n".join(targets_table(results)))
    print()
    print("\n".join(pages_table(results)))
    print()
    print("\n".join(simplest_table(results)))
    for key in ("peer/prism", "servers", "drivers", "serialise", "load", "machine"):
        if key in results:
            value = results[key]
            if key == "servers":
                value = {name: figures["median"] for name, figures in value.items()}
            print(f"\n{key}: {json.dumps(value, indent=1)[:3000]}")
    for key, value in results.items():
        if key.startswith(("depth/", "conditions/", "generate/")):
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
