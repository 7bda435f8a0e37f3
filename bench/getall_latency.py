"""Latency of full 1000-item getAll pages over HTTP, per filter shape, and the depth ratio.

Usage: .venv/bin/python bench/getall_latency.py [--db URL] [--items N] [--rounds R]

Generates N demo items into the database when it holds fewer, starts `orderitems serve --demo`
on a free port in its own process, and measures each shape sequentially from this process
over loopback. Prints medians and p99 in milliseconds and items per second.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from orderitems.store.engine import connect
from orderitems.store.schema import order_items

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "orderitems"
CLIENT = "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D"
UK_TOKEN = "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D"
PORTFOLIO = "ORDERITEMS-DEMO-PORTFOLIO"
UK = "43b013c3-9d47-4ab2-bcae-41b7f9fe6e67"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_items(url: str, items: int) -> None:
    engine = connect(url)
    try:
        with engine.connect() as connection:
            have = connection.execute(sa.select(sa.func.count()).select_from(order_items)).scalar()
    except sa.exc.OperationalError:
        have = 0
    except sa.exc.ProgrammingError:
        have = 0
    engine.dispose()
    if (have or 0) < items:
        started = time.perf_counter()
        subprocess.run([BIN, "generate", "--items", str(items), "--db", url], check=True)
        elapsed = time.perf_counter() - started
        print(f"generated {items} items in {elapsed:.0f} s ({items / elapsed:,.0f} items/s)")


def sample_ids(url: str) -> dict[str, Any]:
    import uuid as _uuid

    uk = _uuid.UUID(UK)
    engine = connect(url)
    with engine.connect() as connection:

        def pick(column: Any) -> list[str]:
            rows = connection.execute(
                sa.select(column)
                .where(order_items.c.enterprise_id == uk, column.is_not(None))
                .group_by(column)
                .order_by(sa.func.count().desc())
                .limit(5)
            )
            return [str(r[0]) for r in rows]

        found = {
            "services": pick(order_items.c.service_id),
            "bills": pick(order_items.c.bill_id),
            "orders": pick(order_items.c.service_order_id),
        }
    engine.dispose()
    return found


def shapes(ids: dict[str, Any]) -> dict[str, dict[str, Any]]:
    quarter = {"StartUtc": "2025-04-01T00:00:00Z", "EndUtc": "2025-07-01T00:00:00Z"}
    return {
        "CreatedUtc 3 months": {"CreatedUtc": quarter},
        "UpdatedUtc 3 months": {"UpdatedUtc": quarter},
        "ServiceIds + ConsumedUtc": {"ServiceIds": ids["services"][:1], "ConsumedUtc": quarter},
        "BillIds x5": {"BillIds": ids["bills"]},
        "ServiceOrderIds x5": {"ServiceOrderIds": ids["orders"]},
        "Types + CreatedUtc": {"CreatedUtc": quarter, "Types": ["SpaceOrder", "CityTax"]},
        "portfolio CreatedUtc": {"CreatedUtc": quarter, "_token": PORTFOLIO},
    }


def body(filters: dict[str, Any], count: int, cursor: str | None = None) -> dict[str, Any]:
    filters = dict(filters)
    token = filters.pop("_token", UK_TOKEN)
    limitation: dict[str, Any] = {"Count": count}
    if cursor:
        limitation["Cursor"] = cursor
    return {
        "ClientToken": CLIENT,
        "AccessToken": token,
        "Client": "bench",
        **filters,
        "Limitation": limitation,
    }


def measure(client: httpx.Client, payload: dict[str, Any], rounds: int) -> tuple[list[float], int]:
    times, items = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.post("/api/connector/v1/orderItems/getAll", json=payload)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        items = len(response.json()["OrderItems"])
    return times, items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default=f"sqlite:///{ROOT / 'bench' / 'bench-1m.db'}")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    ensure_items(args.db, args.items)
    ids = sample_ids(args.db)
    port = free_port()
    server = subprocess.Popen(
        [BIN, "serve", "--demo", "--db", args.db, "--port", str(port), "--log-level", "warning"],
        start_new_session=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(300):
                try:
                    client.post("/")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            print(f"{'shape':<28}{'items':>6}{'p50 ms':>9}{'p99 ms':>9}{'items/s':>10}")
            for name, filters in shapes(ids).items():
                measure(client, body(filters, 1000), 3)
                times, items = measure(client, body(filters, 1000), args.rounds)
                p50 = statistics.median(times)
                p99 = statistics.quantiles(times, n=100)[98] if len(times) > 1 else p50
                rate = items / (p50 / 1000) if items else 0
                print(f"{name:<28}{items:>6}{p50:>9.1f}{p99:>9.1f}{rate:>10,.0f}")
            depth_filter = {
                "CreatedUtc": {"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-04-01T00:00:00Z"}
            }
            cursor = None
            first: list[float] = []
            for page in range(1, 51):
                times, _ = measure(client, body(depth_filter, 100, cursor), 1 if page > 1 else 5)
                response = client.post(
                    "/api/connector/v1/orderItems/getAll", json=body(depth_filter, 100, cursor)
                )
                if page == 1:
                    first = times
                cursor = response.json()["Cursor"]
            last, _ = measure(client, body(depth_filter, 100, cursor), 5)
            ratio = statistics.median(last) / statistics.median(first)
            print(f"depth ratio page 51 / page 1 (Count 100): {ratio:.2f}")
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
