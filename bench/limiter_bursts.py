"""Is the limiter exact under bursts? ``serve --workers 2`` with Redis, many bursts of 250
concurrent requests on one AccessToken each (a new token per burst): every burst must accept
exactly the limit (200) and answer the rest 429, never anything else.

Usage: .venv/bin/python -m bench.limiter_bursts [--runs 20] [--burst 250] [--workers 2]
       [--redis URL]

A check, not a measure of speed: it prints each burst's statuses and exits 1 unless every
burst was exact. (tests/limits/test_limiter_bursts.py runs three.)
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

import httpx
import redis

from bench.limiter_overhead import BIN, GET_ALL, UK, start_server
from orderitems.access.tokens import create_access_token, new_token
from orderitems.settings import Settings
from orderitems.state.shared import redis_prefix
from orderitems.store.engine import connect

LIMIT = 200


def new_body(url: str) -> dict[str, object]:
    """A token pair of its own for the UK property, so each burst starts on an empty window."""
    client, token = new_token(), new_token()
    engine = connect(url)
    with engine.begin() as connection:
        create_access_token(
            connection,
            client_token=client,
            client_name="bursts",
            access_token=token,
            label=f"bursts-{uuid.uuid4().hex[:8]}",
            enterprise_ids=[UK],
        )
    engine.dispose()
    return {
        "ClientToken": client,
        "AccessToken": token,
        "Client": "bursts",
        "CreatedUtc": {"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-03-31T00:00:00Z"},
        "Limitation": {"Count": 1},
    }


def burst(port: int, body: dict[str, object], size: int) -> Counter[int]:
    """``size`` requests sent at once, each on a connection of its own; statuses counted."""

    async def send() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
            return await asyncio.gather(*(http.post(GET_ALL, json=body) for _ in range(size)))

    return Counter(response.status_code for response in asyncio.run(send()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--burst", type=int, default=250)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="orderitems-bursts-"))
    url = f"sqlite:///{directory / 'bursts.db'}"
    log = directory / "server.log"
    with log.open("ab") as out:
        subprocess.run(
            [BIN, "generate", "--items", "500", "--db", url], check=True, stdout=out, stderr=out
        )
    env = {
        "ORDERITEMS_WORKERS": str(args.workers),
        "ORDERITEMS_REDIS_URL": args.redis,
        "ORDERITEMS_RATE_LIMIT_REQUESTS": str(LIMIT),
        "ORDERITEMS_RATE_LIMIT_WINDOW_SECONDS": "60",
    }
    process, port = start_server(url, env, log)
    exact = 0
    try:
        for run in range(1, args.runs + 1):
            statuses = burst(port, new_body(url), args.burst)
            ok = statuses == {200: LIMIT, 429: args.burst - LIMIT}
            exact += ok
            print(f"burst {run:>2}: {dict(sorted(statuses.items()))} {'exact' if ok else 'WRONG'}")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        client = redis.Redis.from_url(args.redis)
        prefix = redis_prefix(Settings(database_url=url))
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            client.delete(*keys)
        client.close()
    print(f"{exact} of {args.runs} bursts exact (server log: {log})")
    sys.exit(0 if exact == args.runs else 1)


if __name__ == "__main__":
    main()
