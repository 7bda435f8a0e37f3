"""What the rate limiter costs per request, with each shared store, as times and ratios.

Usage: .venv/bin/python bench/limiter_overhead.py [--requests N] [--calls N] [--postgres URL]
       [--redis URL] [--skip-postgres] [--skip-redis]

1. The window alone: ``SlidingWindow.hit`` calls per second, one after another, in memory
   (one process only, for scale), in SQLite, in PostgreSQL and in Redis.
2. End to end: a cheap getAll (one item by id) over HTTP against ``orderitems serve`` (one
   worker per variant), over kept-alive connections, the variants' requests interleaved one
   by one so that the machine's other work slows all alike: the limiter off and on, on each
   database and with Redis, and in sandbox mode. The limit is set far above what a 1 s
   window holds, so every request is counted and none is refused. Prints medians, p99 and the
   ratio to the limiter off.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import redis
import redis.asyncio as aioredis
import sqlalchemy as sa

from orderitems.access.tokens import create_access_token, new_token
from orderitems.state.redis_state import RedisState
from orderitems.state.windows import DatabaseWindow, MemoryWindow, RedisWindow, SlidingWindow
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade
from orderitems.store.schema import order_items

UK = uuid.UUID("43b013c3-9d47-4ab2-bcae-41b7f9fe6e67")

BIN = Path(sys.executable).parent / "orderitems"
#: A token pair of its own (demo tokens would need ``--demo``, which implies the sandbox).
CLIENT, TOKEN = new_token(), new_token()
GET_ALL = "/api/connector/v1/orderItems/getAll"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: A 1 s window with a limit never reached keeps, as a real 200 per 30 s window at most does,
#: a few hundred hits per key, and counts every request.
WINDOW_US, LIMIT = 1_000_000, 10**6


async def window_rate(window: SlidingWindow, calls: int) -> float:
    """Microseconds per ``hit``, each on one of 10 keys, as requests from 10 tokens would."""
    keys = [uuid.uuid4().bytes * 2 for _ in range(10)]
    for key in keys:
        await window.hit(key, now_us=time.time_ns() // 1000, window_us=WINDOW_US, limit=LIMIT)
    started = time.perf_counter()
    for i in range(calls):
        now = time.time_ns() // 1000
        await window.hit(keys[i % 10], now_us=now, window_us=WINDOW_US, limit=LIMIT)
    return (time.perf_counter() - started) / calls * 1e6


def bench_windows(urls: dict[str, str], redis_url: str | None, calls: int) -> None:
    print(f"\n1. SlidingWindow.hit, {calls} sequential calls")
    print(f"{'store':<12} {'us/call':>9} {'calls/s':>9}")
    results = {"memory": asyncio.run(window_rate(MemoryWindow(), calls))}
    for name, url in urls.items():
        engine = connect(url)
        upgrade(engine)
        results[name] = asyncio.run(window_rate(DatabaseWindow(engine), calls))
        engine.dispose()
    if redis_url:
        prefix = f"orderitems-bench:{uuid.uuid4().hex}"

        async def run_redis() -> float:
            state = RedisState(aioredis.from_url(redis_url), prefix)
            try:
                return await window_rate(RedisWindow(state), calls)
            finally:
                await state.clear_all()
                await state.close()

        results["redis"] = asyncio.run(run_redis())
    for name, micros in results.items():
        print(f"{name:<12} {micros:>9.1f} {1e6 / micros:>9.0f}")


def start_server(url: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERITEMS_")}
    full_env.update(env)
    full_env["ORDERITEMS_LOG_LEVEL"] = "warning"
    process = subprocess.Popen(
        [BIN, "serve", "--db", url, "--port", str(port)],
        env=full_env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
            return process, port
        except httpx.TransportError:
            time.sleep(0.2)  # the poll's interval, under the deadline above
    process.kill()
    raise SystemExit(f"the server did not start: {log.read_text()}")


def measure(ports: list[int], body: dict[str, object], requests: int) -> list[list[float]]:
    """Round-robin over the servers, one request each in turn, so that whatever else the
    machine does slows every variant alike; per server, the milliseconds of each request."""
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) for port in ports]
    timings: list[list[float]] = [[] for _ in ports]
    try:
        for _ in range(200):
            for http in clients:
                assert http.post(GET_ALL, json=body).status_code == 200
        for _ in range(requests):
            for http, spent in zip(clients, timings, strict=True):
                started = time.perf_counter()
                response = http.post(GET_ALL, json=body)
                spent.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
    finally:
        for http in clients:
            http.close()
    return timings


def bench_http(urls: dict[str, str], redis_url: str | None, requests: int, log: Path) -> None:
    print(f"\n2. getAll over HTTP, {requests} requests per variant, interleaved, one worker each")
    print(f"{'database':<11} {'limiter':<14} {'median ms':>9} {'p99 ms':>7} {'ratio':>6}")
    high = {
        "ORDERITEMS_RATE_LIMIT_REQUESTS": str(LIMIT),
        "ORDERITEMS_RATE_LIMIT_WINDOW_SECONDS": str(WINDOW_US / 1e6),
        "ORDERITEMS_SANDBOX": "false",
    }
    off = {"ORDERITEMS_RATE_LIMIT": "false"}
    sandbox = {"ORDERITEMS_SANDBOX": "true", "ORDERITEMS_ADMIN_TOKEN": "bench"}
    for name, url in urls.items():
        variants: list[tuple[str, dict[str, str]]] = [("off", off), ("database", {})]
        if redis_url:
            variants.append(("redis", {"ORDERITEMS_REDIS_URL": redis_url}))
        # Sandbox (demo) mode: the fault and clock lookup and the request-log line as well.
        variants.append(("db+sandbox", sandbox))
        if redis_url:
            variants.append(("redis+sandbox", {**sandbox, "ORDERITEMS_REDIS_URL": redis_url}))
        body: dict[str, object] = {
            "ClientToken": CLIENT,
            "AccessToken": TOKEN,
            "Client": "bench",
            "OrderItemIds": [first_item_id_after_start(url, log)],
            "Limitation": {"Count": 1},
        }
        started = [start_server(url, {**high, **env}, log) for _, env in variants]
        try:
            timings = measure([port for _, port in started], body, requests)
        finally:
            for process, _ in started:
                process.send_signal(signal.SIGINT)
            for process, _ in started:
                process.wait(timeout=30)
        baseline = statistics.median(timings[0])
        for (variant, _), spent in zip(variants, timings, strict=True):
            median = statistics.median(spent)
            p99 = statistics.quantiles(spent, n=100)[98]
            print(f"{name:<11} {variant:<14} {median:>9.2f} {p99:>7.2f} {median / baseline:>6.2f}")


def first_item_id_after_start(url: str, log: Path) -> str:
    """Generate the demo items and a token pair for the UK property; pick one of its items."""
    with log.open("ab") as out:
        subprocess.run(
            [BIN, "generate", "--items", "2000", "--db", url], check=True, stdout=out, stderr=out
        )
    engine = connect(url)
    with engine.begin() as connection:
        create_access_token(
            connection,
            client_token=CLIENT,
            client_name="bench",
            access_token=TOKEN,
            label=f"bench-{uuid.uuid4().hex[:8]}",
            enterprise_ids=[UK],
        )
        found = connection.execute(
            sa.select(order_items.c.id).where(order_items.c.enterprise_id == UK).limit(1)
        ).scalar_one()
    engine.dispose()
    return str(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-redis", action="store_true")
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="orderitems-bench-"))
    urls = {"sqlite": f"sqlite:///{directory / 'bench.db'}"}
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = None
    if not args.skip_postgres:
        admin = connect(args.postgres)
        with admin.begin() as connection:
            connection.execute(sa.text(f'create schema "{schema}"'))
        urls["postgresql"] = f"{args.postgres}?options=-csearch_path%3D{schema}"
    redis_url = None
    if not args.skip_redis:
        redis.Redis.from_url(args.redis).ping()
        redis_url = args.redis
    try:
        bench_windows(urls, redis_url, args.calls)
        bench_http(urls, redis_url, args.requests, directory / "server.log")
    finally:
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(sa.text(f'drop schema "{schema}" cascade'))
            admin.dispose()


if __name__ == "__main__":
    main()
