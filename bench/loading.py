"""Bulk load: ``orderitems import`` of a JSON Lines file into an empty database, end to end.

The file is the 1M SQLite benchmark set exported (``orderitems export``), so both imports
load exactly the same items. Each import runs ``RUNS`` times; the median counts. Also reports
bytes per item on disk for every benchmark set.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import datasets
from orderitems.store.engine import connect

OUT = Path(__file__).with_name("out")
BIN = Path(sys.executable).parent / "orderitems"


def export(items: int) -> Path:
    path = OUT / f"items-{items // 1_000_000}m.jsonl"
    if not path.exists():
        subprocess.run(
            [BIN, "export", "--db", datasets.sqlite_url(items), "--out", str(path)], check=True
        )
    return path


#: Imports timed per database: the median is reported, with every run and the machine's load
#: before it (the machine has two cores and other benchmarks may be running).
RUNS = 2


def timed_import(source: Path, url: str) -> float:
    started = time.perf_counter()
    subprocess.run([BIN, "import", str(source), "--db", url], check=True)
    return time.perf_counter() - started


def summary(items: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = statistics.median(run["seconds"] for run in runs)
    return {"seconds": seconds, "items_per_s": items / seconds, "runs": runs}


def postgres_bytes(url: str) -> int:
    engine = connect(url)
    with engine.connect() as connection:
        total = connection.execute(
            sa.text(
                "select sum(pg_total_relation_size(c.oid)) from pg_class c"
                " where c.relnamespace = current_schema()::regnamespace and c.relkind = 'r'"
            )
        ).scalar_one()
    engine.dispose()
    return int(total)


def storage() -> dict[str, Any]:
    found: dict[str, Any] = {}
    sqlite_file = Path(datasets.sqlite_url(1_000_000).removeprefix("sqlite:///"))
    found["sqlite-1m"] = {"bytes": sqlite_file.stat().st_size, "items": 1_000_000}
    for items in (1_000_000, 10_000_000):
        url = datasets.postgres_url(items)
        if datasets.count_items(url):
            found[f"postgresql-{items // 1_000_000}m"] = {
                "bytes": postgres_bytes(url),
                "items": items,
            }
    for value in found.values():
        value["bytes_per_item"] = value["bytes"] / value["items"]
    return found


def measure(*, items: int) -> dict[str, Any]:
    source = export(items)
    result: dict[str, Any] = {"items": items, "storage": storage()}
    target = OUT / "import-check.db"
    runs: list[dict[str, Any]] = []
    for _ in range(RUNS):
        for leftover in OUT.glob("import-check.db*"):
            leftover.unlink()
        load_average = os.getloadavg()
        runs.append({"seconds": timed_import(source, f"sqlite:///{target}"), "load": load_average})
    result["sqlite"] = summary(items, runs)
    for leftover in OUT.glob("import-check.db*"):
        leftover.unlink()
    url = f"{datasets.POSTGRES}?options=-csearch_path%3Dbench_import"
    admin = connect(datasets.POSTGRES)
    runs = []
    for _ in range(RUNS):
        with admin.begin() as connection:
            connection.exec_driver_sql("drop schema if exists bench_import cascade")
            connection.exec_driver_sql("create schema bench_import")
        load_average = os.getloadavg()
        runs.append({"seconds": timed_import(source, url), "load": load_average})
    result["postgresql"] = summary(items, runs)
    with admin.begin() as connection:
        connection.exec_driver_sql("drop schema bench_import cascade")
    admin.dispose()
    print("load", result)
    return result
