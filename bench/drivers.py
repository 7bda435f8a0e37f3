"""psycopg 3 against asyncpg for the page query: the same SQL, one connection, in-process.

Each body of the mix is run as the bare app runs it (bench/bare_app.py ``page_sql``): the
two-phase keyset query, documents fetched as bytes. Full pages show the cost of moving a
megabyte of documents into Python; small pages the fixed cost of one query.
"""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import time
from pathlib import Path
from typing import Any

from bench import bare_app

ROUNDS = 5


async def _time(
    run: bare_app.Query, scopes: dict[bytes, Any], style: str, bodies: list[bare_app.Body]
) -> dict[str, float]:
    timings: list[float] = []
    items = 0
    for round_ in range(ROUNDS + 1):
        for body in bodies:
            enterprises = scopes[hashlib.sha256(body.access_token.encode()).digest()]
            statement, params, fresh = bare_app.page_sql(body, enterprises, style, None)
            started = time.perf_counter()
            rows = await run(statement, params, fresh)
            elapsed = time.perf_counter() - started
            if round_:  # the first round warms caches and prepared statements
                timings.append(elapsed)
                items += len(rows)
    return {
        "median_ms": statistics.median(timings) * 1000,
        "items_per_s": items / sum(timings),
        "queries_per_s": len(timings) / sum(timings),
    }


async def _measure(url: str, bodies: list[bare_app.Body]) -> dict[str, Any]:
    result = {}
    for driver in ("psycopg", "asyncpg"):
        run, scopes, style = await bare_app.open_database(url, driver)
        result[driver] = await _time(run, scopes, style, bodies)
    return result


def measure(url: str, full_bodies: Path) -> dict[str, Any]:
    full = [bare_app.DECODER.decode(line.encode()) for line in full_bodies.read_text().splitlines()]
    small = [
        bare_app.DECODER.decode(line.encode().replace(b'"Count":1000', b'"Count":10'))
        for line in full_bodies.read_text().splitlines()
    ]
    result = {"full": asyncio.run(_measure(url, full)), "small": asyncio.run(_measure(url, small))}
    print("drivers", result)
    return result
