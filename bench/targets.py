"""The targets issue 5 set, measured against the committed results, and the figures the
analysis in ``bench/analysis.py`` names: what ``bench.report`` renders as the targets table
and the analysis of each missed target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench import depth, method, workload

DATABASES = ("sqlite-1m", "postgresql-1m", "postgresql-10m")
#: The import targets, items per second into an empty database.
IMPORT_GOALS = {"postgresql": 100_000, "sqlite": 50_000}
NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}

Results = dict[str, Any]


def n0(value: float) -> str:
    return f"{value:,.0f}"


def n2(value: float) -> str:
    return f"{value:.2f}"


def ms(value: float) -> str:
    return f"{value:.1f}"


def median(results: Results, section: str, key: str) -> dict[str, float]:
    return dict(results[section][key]["median"])


def databases(results: Results) -> list[str]:
    return [db for db in DATABASES if f"pages/{db}" in results]


def small_ratio(results: Results, db: str) -> float:
    ours = median(results, f"pages/{db}", "ours/small")["requests_per_s"]
    return ours / median(results, f"pages/{db}", "bare/small")["requests_per_s"]


def span(values: list[float]) -> str:
    low, high = n2(min(values)), n2(max(values))
    return low if low == high else f"{low}-{high}"


@dataclass(frozen=True, slots=True)
class Target:
    """One row of the targets table; ``family`` keys its analysis in ``analysis.MISSES``."""

    family: str
    name: str
    measured: str
    met: bool


def _page_targets(results: Results, db: str) -> list[Target]:
    section = f"pages/{db}"
    ours_full = median(results, section, "ours/full")["items_per_s"]
    found = []
    if "peer/prism" in results:
        ours_small = median(results, section, "ours/small")["requests_per_s"]
        ratio = ours_small / results["peer/prism"]["median"]["requests_per_s"]
        name = f"small pages ≥ 5 x Prism ({db})"
        found.append(Target("small-vs-prism", name, f"{n2(ratio)} x", ratio >= 5))
    ratio = small_ratio(results, db)
    name = f"small pages ≥ 0.5 x bare app ({db})"
    found.append(Target("small-vs-bare", name, n2(ratio), ratio >= 0.5))
    ratio = ours_full / median(results, section, "bare/full")["items_per_s"]
    name = f"full pages ≥ 0.7 x bare app items/s ({db})"
    found.append(Target("full-vs-bare", name, n2(ratio), ratio >= 0.7))
    if db == "sqlite-1m":
        name = "full pages ≥ 200,000 items/s, SQLite 1M"
        found.append(Target("full-rate", name, n0(ours_full), ours_full >= 200_000))
    if db == "postgresql-10m":
        name = "full pages ≥ 150,000 items/s, PostgreSQL 10M"
        found.append(Target("full-rate", name, n0(ours_full), ours_full >= 150_000))
        p50 = median(results, section, "ours/full-serial")["p50_ms"]
        name = f"one {method.FULL_COUNT}-item page p50 < 15 ms, PostgreSQL 10M"
        found.append(Target("one-page", name, f"{ms(p50)} ms", p50 < 15))
    rss = results[section]["ours/full"]["worker_rss_mb"]
    found.append(Target("memory", f"worker RSS < 200 MB ({db})", f"{n0(rss)} MB", rss < 200))
    return found


def targets(results: Results) -> list[Target]:
    """The targets issue 5 set, each with what was measured and whether it is met."""
    found = [t for db in databases(results) for t in _page_targets(results, db)]
    for db in DATABASES:
        if f"depth/{db}" in results:
            ratio = results[f"depth/{db}"]["ratio_p50"]
            name = f"depth page {depth.PAGES} / page 1 ≤ 1.2 ({db})"
            found.append(Target("depth", name, n2(ratio), ratio <= 1.2))
    if "pages/postgresql-1m" in results and "pages/postgresql-10m" in results:
        one = median(results, "pages/postgresql-1m", "ours/full-serial")["p50_ms"]
        ten = median(results, "pages/postgresql-10m", "ours/full-serial")["p50_ms"]
        name = "growth 10M / 1M ≤ 1.5 (one-page p50, PostgreSQL)"
        found.append(Target("growth", name, n2(ten / one), ten / one <= 1.5))
        one = median(results, "pages/postgresql-1m", "ours/full")["items_per_s"]
        ten = median(results, "pages/postgresql-10m", "ours/full")["items_per_s"]
        name = "growth 10M / 1M ≤ 1.5 (items/s, PostgreSQL)"
        found.append(Target("growth", name, n2(one / ten), one / ten <= 1.5))
    if "load" in results:
        for database, goal in IMPORT_GOALS.items():
            rate = results["load"][database]["items_per_s"]
            name = f"import ≥ {n0(goal)} items/s into {NAMES[database]}"
            found.append(Target("import", name, n0(rate), rate >= goal))
    return found


def facts(results: Results) -> dict[str, str]:
    """The figures the words of ``bench/analysis.py`` name, from these results."""
    found = {
        "id_batch": str(workload.ID_BATCH),
        "depth_pages": str(depth.PAGES),
        "depth_count": n0(depth.COUNT),
        "depth_offset": n0((depth.PAGES - 1) * depth.COUNT),
        "cores": str(results.get("machine", {}).get("cores", "")),
        "small_vs_bare": ", ".join(
            f"{n2(small_ratio(results, db))} on {db}" for db in databases(results)
        ),
    }
    if "peer/prism" in results:
        prism = results["peer/prism"]["median"]["requests_per_s"]
        found["prism_rps"] = n0(prism)
        found["prism_target"] = n0(5 * prism)
        found["bare_x_prism_mix"] = span(
            [
                median(results, f"pages/{db}", "bare/small")["requests_per_s"] / prism
                for db in databases(results)
            ]
        )
    if "peer/simplest" in results:
        rate = {w: f["median"]["requests_per_s"] for w, f in results["peer/simplest"].items()}
        found["bare_x_prism_simplest"] = n2(rate["bare"] / rate["prism"])
        found["ours_x_prism_simplest"] = n2(rate["ours"] / rate["prism"])
        found["ours_x_bare_simplest"] = n2(rate["ours"] / rate["bare"])
    if "load" in results:
        load = results["load"]
        found["load_items"] = n0(load["items"])
        found["load_runs"] = str(len(load["sqlite"]["runs"]))
        for database, goal in IMPORT_GOALS.items():
            found[f"import_{database}"] = n0(load[database]["items_per_s"])
            found[f"import_{database}_target"] = n0(goal)
    return found
