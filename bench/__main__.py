"""The benchmark suite, one command: ``.venv/bin/python -m bench`` (docs/benchmarks.md).

Steps (``--only`` picks some): ``pages`` (full and small pages, ours against the bare app,
on each database), ``depth``, ``peer`` (Prism), ``servers`` (uvicorn against Granian for the
bare app), ``load`` (bulk import rates), ``drivers`` (psycopg against asyncpg), ``serialise``.
Every step appends to ``bench/results/latest.json``; ``python -m bench.plot`` draws the PNG.
Needs the benchmark PostgreSQL (``bench/postgres-cluster``), wrk, and npm for Prism.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import datasets, depth, method, servers, workload, wrk

OUT = Path(__file__).with_name("out")
RESULTS = Path(__file__).with_name("results") / "latest.json"
STEPS = ("pages", "depth", "peer", "servers", "load", "drivers", "serialise")
DATABASES = {
    "sqlite-1m": (datasets.sqlite_url(1_000_000), 1_000_000),
    "postgresql-1m": (datasets.postgres_url(1_000_000), 1_000_000),
    "postgresql-10m": (datasets.postgres_url(10_000_000), 10_000_000),
}


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": servers.version_of(["psql", "--version"]),
        "load_average_at_start": os.getloadavg(),
    }


def busy_share(seconds: float = 5.0) -> float:
    """The share of all CPU time spent busy over a few seconds (other people's work too)."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    total0, idle0 = sample()
    time.sleep(seconds)  # the sampling window itself, not a wait for an event
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_for_quiet(limit: float, patience: float) -> float:
    """Measure on a quiet machine: wait (up to ``patience`` seconds) until less than
    ``limit`` of the CPU is busy, and return the share busy when the step starts."""
    deadline = time.monotonic() + patience
    while True:
        busy = busy_share()
        if busy < limit or time.monotonic() > deadline:
            return busy
        print(f"waiting for a quiet machine: {busy:.0%} of the CPU is busy")


def save(section: str, value: Any) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[section] = value
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def measure(
    running: servers.Running, bodies: Path, *, connections: int, args: argparse.Namespace
) -> dict[str, Any]:
    items = wrk.items_per_body(running.url, bodies)
    wrk.run(
        running.url, bodies, connections=connections, seconds=method.WARM_UP_SECONDS, items=items
    )
    runs = [
        wrk.run(running.url, bodies, connections=connections, seconds=args.seconds, items=items)
        for _ in range(args.runs)
    ]
    memory = running.rss_mb()
    return {
        "median": wrk.median_run(runs).as_dict(),
        "runs": [r.as_dict() for r in runs],
        "items_per_body": items,
        "worker_rss_mb": max(m["rss"] for m in memory.values()),
        "worker_anon_mb": max(m["anon"] for m in memory.values()),
    }


def step_pages(args: argparse.Namespace) -> None:
    for name, (url, items) in DATABASES.items():
        if name not in args.databases:
            continue
        rate = datasets.ensure(url, items)
        if rate is not None:
            save(f"generate/{name}", {"items_per_s": rate})
        filters = workload.mix(url)
        full = workload.write_bodies(
            OUT / f"{name}-full.jsonl", workload.with_count(filters, method.FULL_COUNT)
        )
        small = workload.write_bodies(
            OUT / f"{name}-small.jsonl", workload.with_count(filters, method.SMALL_COUNT)
        )
        probe = json.loads(small.read_text().splitlines()[0])
        driver = "sqlite" if url.startswith("sqlite") else args.driver
        result: dict[str, Any] = {}
        starts = {
            "ours": partial(
                servers.ours, url, workers=method.WORKERS, probe=probe, server=args.server
            ),
            "bare": partial(
                servers.bare,
                url,
                workers=method.WORKERS,
                probe=probe,
                driver=driver,
                server=args.server,
            ),
        }
        for who, start in starts.items():
            with start() as running:
                result[f"{who}/full"] = measure(
                    running, full, connections=method.FULL_CONNECTIONS, args=args
                )
                # One request at a time: the latency of a page itself, without queueing.
                result[f"{who}/full-serial"] = measure(
                    running, full, connections=method.SERIAL_CONNECTIONS, args=args
                )
                result[f"{who}/small"] = measure(
                    running, small, connections=method.SMALL_CONNECTIONS, args=args
                )
            print(name, who, {k: v["median"] for k, v in result.items() if k.startswith(who)})
        save(f"pages/{name}", result)


def step_depth(args: argparse.Namespace) -> None:
    for name, (url, _items) in DATABASES.items():
        if name in args.databases:
            save(f"depth/{name}", depth.measure(url, seconds=args.seconds, server=args.server))


def step_peer(args: argparse.Namespace) -> None:
    """Prism on the mix's small-page requests; then ours, the bare app and Prism on the
    simplest small page (``workload.simplest``), SQLite 1M: the floor of a request."""
    bodies = OUT / "sqlite-1m-small.jsonl"
    if not bodies.exists():
        raise SystemExit("run the pages step on sqlite-1m first (its small-page bodies)")
    probe = json.loads(bodies.read_text().splitlines()[0])
    with servers.prism(probe) as running:
        save(
            "peer/prism", measure(running, bodies, connections=method.SMALL_CONNECTIONS, args=args)
        )
    url = datasets.sqlite_url(1_000_000)
    simplest = workload.write_bodies(
        OUT / "sqlite-1m-simplest.jsonl",
        workload.with_count(workload.simplest(), method.SMALL_COUNT),
    )
    probe = json.loads(simplest.read_text().splitlines()[0])
    starts = {
        "ours": partial(servers.ours, url, workers=method.WORKERS, probe=probe, server=args.server),
        "bare": partial(
            servers.bare,
            url,
            workers=method.WORKERS,
            probe=probe,
            driver="sqlite",
            server=args.server,
        ),
        "prism": partial(servers.prism, probe),
    }
    result = {}
    for who, start in starts.items():
        with start() as running:
            result[who] = measure(
                running, simplest, connections=method.SMALL_CONNECTIONS, args=args
            )
        print("simplest small page", who, result[who]["median"])
    save("peer/simplest", result)


def step_servers(args: argparse.Namespace) -> None:
    url = datasets.sqlite_url(1_000_000)
    result = {}
    for server in ("uvicorn", "granian"):
        for size, connections in (
            ("small", method.SMALL_CONNECTIONS),
            ("full", method.FULL_CONNECTIONS),
        ):
            bodies = OUT / f"sqlite-1m-{size}.jsonl"
            probe = json.loads(bodies.read_text().splitlines()[0])
            with servers.bare(
                url, workers=method.WORKERS, probe=probe, driver="sqlite", server=server
            ) as running:
                result[f"bare-{server}/{size}"] = measure(
                    running, bodies, connections=connections, args=args
                )
            with servers.ours(url, workers=method.WORKERS, probe=probe, server=server) as running:
                result[f"ours-{server}/{size}"] = measure(
                    running, bodies, connections=connections, args=args
                )
    save("servers", result)


def step_load(args: argparse.Namespace) -> None:
    from bench import loading

    save("load", loading.measure(items=args.load_items))


def step_drivers(args: argparse.Namespace) -> None:
    from bench import drivers

    save(
        "drivers",
        drivers.measure(datasets.postgres_url(10_000_000), OUT / "postgresql-10m-full.jsonl"),
    )


def step_serialise(args: argparse.Namespace) -> None:
    from bench import serialise

    save("serialise", serialise.measure(datasets.sqlite_url(1_000_000)))


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", default=",".join(STEPS), help="comma-separated steps")
    parser.add_argument("--databases", default=",".join(DATABASES), help="for pages and depth")
    parser.add_argument(
        "--runs", type=int, default=method.RUNS, help="wrk runs per figure (median)"
    )
    parser.add_argument(
        "--seconds", type=int, default=method.SECONDS, help="length of each wrk run"
    )
    parser.add_argument("--server", default="uvicorn", choices=("uvicorn", "granian"))
    parser.add_argument(
        "--driver",
        default="psycopg",
        choices=("psycopg", "asyncpg"),
        help="the bare app's PostgreSQL driver",
    )
    parser.add_argument("--load-items", type=int, default=1_000_000)
    parser.add_argument(
        "--quiet", type=float, default=method.QUIET, help="busy CPU share to wait below"
    )
    parser.add_argument(
        "--patience", type=float, default=method.PATIENCE, help="seconds to wait for quiet"
    )
    args = parser.parse_args()
    args.databases = args.databases.split(",")
    OUT.mkdir(exist_ok=True)
    save("machine", machine())
    for step in args.only.split(","):
        busy = wait_for_quiet(args.quiet, args.patience)
        started = time.perf_counter()
        globals()[f"step_{step}"](args)
        elapsed = time.perf_counter() - started
        save(f"conditions/{step}", {"cpu_busy_before": busy, "seconds": elapsed})
        print(f"step {step}: {elapsed:.0f} s (CPU {busy:.0%} busy before it)")


if __name__ == "__main__":
    main()
