"""docs/benchmarks.md, rendered whole from the committed results: ``python -m bench.report``.

Nothing on the page is typed by hand: the figures come from ``bench/results/latest.json``, the
method from the values the harness runs with (``bench/method.py``), the targets from
``bench/targets.py``, and the words that explain a result from ``bench/analysis.py``. The same
results always render the same page; ``--check`` exits 1 when the committed page differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench import analysis, depth, loading, method, workload
from bench.targets import (
    DATABASES,
    NAMES,
    Results,
    databases,
    facts,
    median,
    ms,
    n0,
    n2,
    span,
    targets,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "latest.json"
PAGE = ROOT / "docs" / "benchmarks.md"


def table(header: list[str], align: str, rows: list[list[str]]) -> list[str]:
    """A Markdown table; ``align`` has one letter per column: ``l`` left, ``r`` right."""
    rule = ["---:" if a == "r" else "---" for a in align]
    return [f"| {' | '.join(cells)} |" for cells in (header,)] + [
        f"|{'|'.join(rule)}|",
        *(f"| {' | '.join(row)} |" for row in rows),
    ]


HOW_TO_RUN = """\
```sh
scripts/install --dev && .venv/bin/pip install -e '.[bench]'  # granian, asyncpg, matplotlib
apt-get install -y wrk                     # the load generator
bash bench/postgres-cluster                # the benchmark PostgreSQL on :5433 (as root)
.venv/bin/python -m bench                  # every step; --only pages,depth,... --databases ...
.venv/bin/python -m bench.report           # this page, from bench/results/latest.json
.venv/bin/python -m bench.plot             # docs/benchmarks.png
```

The first run generates the datasets (1M items in SQLite, 1M and 10M in PostgreSQL schemas);
`bench/__main__.py` describes every step."""


def machine_section(results: Results) -> list[str]:
    found = results["machine"]
    load = ", ".join(f"{v:.2f}" for v in found["load_average_at_start"])
    lines = [
        "## Machine and date",
        "",
        f"**Date:** {found['date']}. **Machine:** {found['cores']} cores ({found['cpu']}),"
        f" {found['memory_gib']} GiB of memory, load average {load} at the start. The load"
        f" generator, the servers and PostgreSQL share the same {found['cores']} cores."
        f" **Software:** Python {found['python']}, SQLite {found['sqlite']},"
        f" {found['postgresql']} (configured by `bench/postgres-cluster`).",
        "",
        f"Before each step the harness waits until less than {method.QUIET:.0%} of the CPU is"
        " busy (other work on the machine included); the share busy when each step started:",
        "",
    ]
    steps = sorted(k.removeprefix("conditions/") for k in results if k.startswith("conditions/"))
    rows = [
        [
            step,
            f"{results[f'conditions/{step}']['cpu_busy_before']:.0%}",
            n0(results[f"conditions/{step}"]["seconds"]),
        ]
        for step in steps
    ]
    return lines + table(["step", "CPU busy before", "seconds"], "lrr", rows)


def method_section(results: Results) -> list[str]:
    runs = sorted(
        {len(r["runs"]) for db in databases(results) for r in results[f"pages/{db}"].values()}
    )
    full_items = [
        results[f"pages/{db}"]["ours/full"]["items_per_body"] for db in databases(results)
    ]
    return [
        "## Method",
        "",
        "wrk runs in its own process over loopback and replays a file of request bodies"
        f" (`bench/getall.lua`). Each figure is the median of {' or '.join(map(str, runs))}"
        f" runs (`--runs`), each {method.SECONDS} s long unless `--seconds` said otherwise,"
        f" after a {method.WARM_UP_SECONDS} s warm-up. Both apps run"
        f" {method.WORKERS} worker processes under uvicorn with `httptools` and `uvloop`:",
        "- *ours* is `orderitems serve`, a production setup with tokens in the database and the"
        " rate limit off;",
        "- *bare* is `bench/bare_app.py`, a raw ASGI app that only parses the body, runs the same"
        " SQL as ours (`store/page_sql.py`) and joins the stored documents. Its tokens are read"
        " once at start-up and there is no validation, deadline, log or metrics: it is the"
        " practical ceiling.",
        "",
        f"Full pages (`Count` {method.FULL_COUNT}) use {method.FULL_CONNECTIONS} connections,"
        f' "one page" {method.SERIAL_CONNECTIONS}, small pages (`Count` {method.SMALL_COUNT})'
        f' {method.SMALL_CONNECTIONS}. "RSS" is the largest resident set of a server worker'
        ' after its runs; "private" counts only memory that is not shared file cache.',
        "",
        f"**The mix** (`bench/workload.py`): {workload.MIX_BODIES} bodies, one in four of each"
        " of: a 3-month `UpdatedUtc` window; one service (`ServiceIds`) with a 3-month"
        f" `ConsumedUtc` window; {workload.ID_BATCH} `BillIds`; {workload.ID_BATCH}"
        " `ServiceOrderIds`. A full page of the mix returned"
        f" {span([i / method.FULL_COUNT for i in full_items])} x `Count` items on average."
        " Bodies go to the three demo properties through their own tokens, and one in six"
        " through a portfolio token covering all three. The 10M set adds clones of the three"
        " properties, so each property, and each query, holds about the same number of items"
        " at 1M and at 10M.",
    ]


def targets_section(results: Results) -> list[str]:
    found = targets(results)
    rows = [[t.name, t.measured, "yes" if t.met else "**no**"] for t in found]
    lines = ["## Targets", "", *table(["target", "measured", "met"], "lrl", rows)]
    missed = list(dict.fromkeys(t.family for t in found if not t.met))
    if missed:
        lines += ["", "## Missed targets"]
    values = facts(results)
    for family in missed:
        heading, text = analysis.MISSES[family]
        lines += ["", f"### {heading}", "", text.format(**values)]
    return lines


def pages_rows(results: Results) -> list[list[str]]:
    rows = []
    for db in databases(results):
        section = f"pages/{db}"
        for who in ("ours", "bare"):
            full = median(results, section, f"{who}/full")
            serial = median(results, section, f"{who}/full-serial")
            small = median(results, section, f"{who}/small")
            memory = results[section][f"{who}/full"]
            rows.append(
                [
                    db,
                    who,
                    n0(full["items_per_s"]),
                    n0(full["requests_per_s"]),
                    f"{ms(full['p50_ms'])} / {ms(full['p99_ms'])}",
                    f"{ms(serial['p50_ms'])} / {ms(serial['p99_ms'])}",
                    n0(small["requests_per_s"]),
                    ms(small["p99_ms"]),
                    f"{n0(memory['worker_rss_mb'])} ({n0(memory['worker_anon_mb'])})",
                ]
            )
    return rows


def results_section(results: Results) -> list[str]:
    notes = {k: v.format(**facts(results)) for k, v in analysis.NOTES.items()}
    header = ["database", "app", "full items/s", "full req/s", "full p50 / p99 ms"]
    header += ["one page p50 / p99 ms", "small req/s", "small p99 ms", "worker RSS MB (private)"]
    lines = ["## Results", "", "### Pages", "", *table(header, "llrrrrrrr", pages_rows(results))]
    if "peer/simplest" in results:
        found = results["peer/simplest"]
        prism = found["prism"]["median"]["requests_per_s"]
        rows = [
            [
                who,
                n0(found[who]["median"]["requests_per_s"]),
                f"{ms(found[who]['median']['p50_ms'])} / {ms(found[who]['median']['p99_ms'])}",
                n2(found[who]["median"]["requests_per_s"] / prism),
                n0(found[who]["worker_rss_mb"]),
            ]
            for who in ("ours", "bare", "prism")
        ]
        lines += ["", "### The cheapest page, against Prism", ""]
        lines += table(["app", "req/s", "p50 / p99 ms", "x Prism", "worker RSS MB"], "lrrrr", rows)
    rows = [
        [
            db,
            f"{results[f'depth/{db}']['page_1']['p50_ms']:.2f}",
            f"{results[f'depth/{db}'][f'page_{depth.PAGES}']['p50_ms']:.2f}",
        ]
        for db in DATABASES
        if f"depth/{db}" in results
    ]
    if rows:
        lines += ["", "### Depth", "", notes["depth"], ""]
        lines += table(["database", "page 1 p50 ms", f"page {depth.PAGES} p50 ms"], "lrr", rows)
    if "load" in results:
        lines += ["", "### Bulk load", "", *load_table(results["load"])]
        storage = results["load"]["storage"]
        rows = [
            [name, f"{storage[name]['bytes'] / 1e9:.2f}", n0(storage[name]["bytes_per_item"])]
            for name in sorted(storage)
        ]
        lines += ["", "### Storage", "", notes["storage"], ""]
        lines += table(["set", "GB on disk", "bytes per item"], "lrr", rows)
    if "servers" in results:
        found = results["servers"]
        rows = [
            [who]
            + [n0(found[f"{who}-{s}/small"]["median"]["requests_per_s"]) for s in SERVERS]
            + [n0(found[f"{who}-{s}/full"]["median"]["items_per_s"]) for s in SERVERS]
            for who in ("ours", "bare")
        ]
        header = ["app"] + [f"{s} small req/s" for s in SERVERS]
        header += [f"{s} full items/s" for s in SERVERS]
        lines += ["", "### Servers", "", notes["servers"], "", *table(header, "lrrrr", rows)]
    if "drivers" in results:
        found = results["drivers"]
        rows = [
            [
                size,
                driver,
                ms(found[size][driver]["median_ms"]),
                n0(found[size][driver]["items_per_s"]),
            ]
            for size in ("full", "small")
            for driver in sorted(found[size])
        ]
        lines += ["", "### PostgreSQL drivers", "", notes["drivers"], ""]
        lines += table(["page", "driver", "median ms", "items/s"], "llrr", rows)
    if "serialise" in results:
        found = results["serialise"]
        rows = [
            ["encode msgspec Structs", n0(found["msgspec_structs_items_per_s"])],
            ["encode orjson dicts", n0(found["orjson_dicts_items_per_s"])],
            ["join stored documents (ours)", n0(found["join_stored_items_per_s"])],
        ]
        lines += ["", "### Writing a page", "", notes["serialise"], ""]
        lines += table(["how", "items/s"], "lr", rows)
    return lines


SERVERS = ("uvicorn", "granian")


def load_table(load: Results) -> list[str]:
    rows = []
    for database in ("sqlite", "postgresql"):
        found = load[database]
        runs = "; ".join(
            f"{run['seconds']:.1f} s (load {run['load'][0]:.1f})" for run in found["runs"]
        )
        rows.append([NAMES[database], ms(found["seconds"]), n0(found["items_per_s"]), runs])
    intro = (
        f"`orderitems import` of {n0(load['items'])} items into an empty database, timed"
        f" {loading.RUNS} times each; the median is reported, with every run and the load"
        " average before it."
    )
    return [intro, "", *table(["database", "seconds", "items/s", "runs"], "lrrl", rows)]


def render(results: Results) -> str:
    """The whole page: the same results give the same bytes."""
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python -m bench.report` from bench/results/latest.json: do not"
        " edit; change bench/report.py or bench/analysis.py and render again. -->",
        "",
        "What `python -m bench` measured on the machine and date below. These are rates and"
        " ratios, not timed tests: the test suite checks behaviour only."
        + (
            " Where a target is missed, [Missed targets](#missed-targets) says where the time goes."
            if any(not t.met for t in targets(results))
            else ""
        ),
        "",
        "![ours against the bare app: full and small pages on each database, latency, load"
        " rates](benchmarks.png)",
        "",
        "## How to run it",
        "",
        HOW_TO_RUN,
        "",
        *machine_section(results),
        "",
        *method_section(results),
        "",
        *targets_section(results),
        "",
        *results_section(results),
    ]
    return "\n".join(lines) + "\n"


def load_results(path: Path = RESULTS) -> Results:
    return dict(json.loads(path.read_text()))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args()
    page = render(load_results())
    if args.check:
        sys.exit(0 if PAGE.read_text() == page else 1)
    PAGE.write_text(page)


if __name__ == "__main__":
    main()
