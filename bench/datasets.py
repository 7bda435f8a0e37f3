"""The benchmark databases: 1M items in SQLite and 1M and 10M items in PostgreSQL schemas.

The 10M set grows the way a shared ledger grows, by properties: the three demo properties
plus clones of them (new ids, same tax environments), so each demo property holds about the
same number of items at 1M and 10M and the same query matches about as many rows in both.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from orderitems.access.tokens import create_access_token
from orderitems.cli.data import generate_into
from orderitems.domain.enterprises import Enterprise
from orderitems.fixtures.demo import DEMO_ENTERPRISES
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade
from orderitems.store.schema import order_items

ROOT = Path(__file__).resolve().parents[1]
#: Production (non-demo) tokens, so ours is measured without demo mode and its sandbox.
CLIENT_TOKEN = "BE0C4B1E9C2F4C0F9E1D2A3B4C5D6E7F-0A1B2C3D4E5F60718293A4B5C6D7E8F"
ACCESS_TOKENS = {
    DEMO_ENTERPRISES[0].id: "BE0C4B1E9C2F4C0F9E1D2A3B4C5D6E01-LONDON0000000000000000000000001",
    DEMO_ENTERPRISES[1].id: "BE0C4B1E9C2F4C0F9E1D2A3B4C5D6E02-WASHINGTON000000000000000000002",
    DEMO_ENTERPRISES[2].id: "BE0C4B1E9C2F4C0F9E1D2A3B4C5D6E03-BERLIN0000000000000000000000003",
}
PORTFOLIO_TOKEN = "BE0C4B1E9C2F4C0F9E1D2A3B4C5D6E04-PORTFOLIO00000000000000000000004"
#: The benchmark cluster (bench/postgres-cluster), not the machine's test server.
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5433/bench")
CLONES = uuid.UUID("6f1c3a52-3d0b-4c55-9a51-0b5e2f6d7a10")


def sqlite_url(items: int) -> str:
    return f"sqlite:///{ROOT / 'bench' / f'bench-{items // 1_000_000}m.db'}"


def postgres_url(items: int) -> str:
    return f"{POSTGRES}?options=-csearch_path%3Dbench_{items // 1_000_000}m"


def enterprises_for(items: int) -> list[Enterprise]:
    """Three demo properties per million items: the demo ones first, then clones."""
    copies = max(1, items // 1_000_000)
    chosen = list(DEMO_ENTERPRISES)
    for n in range(1, copies):
        for base in DEMO_ENTERPRISES:
            chosen.append(
                replace(base, id=uuid.uuid5(CLONES, f"{base.id}:{n}"), name=f"{base.name} #{n}")
            )
    return chosen


def count_items(url: str) -> int:
    engine = connect(url)
    try:
        with engine.connect() as connection:
            count = connection.execute(sa.select(sa.func.count()).select_from(order_items))
            return int(count.scalar_one())
    except sa.exc.DBAPIError:
        return 0
    finally:
        engine.dispose()


def ensure_schema(url: str) -> None:
    if "search_path" not in url:
        return
    schema = url.rsplit("%3D", 1)[1]
    admin = connect(POSTGRES)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'create schema if not exists "{schema}"')
    admin.dispose()


def store_tokens(engine: sa.Engine) -> None:
    """The benchmark's token pairs, unless they are stored already."""
    pairs = [
        (label, token, [e])
        for label, (e, token) in zip(
            ("london", "washington", "berlin"), ACCESS_TOKENS.items(), strict=True
        )
    ]
    pairs.append(("portfolio", PORTFOLIO_TOKEN, list(ACCESS_TOKENS)))
    with engine.begin() as connection:
        taken = set(connection.exec_driver_sql("select label from access_tokens").scalars())
        for label, token, enterprises in pairs:
            if f"bench {label}" not in taken:
                create_access_token(
                    connection,
                    client_token=CLIENT_TOKEN,
                    client_name="bench",
                    access_token=token,
                    label=f"bench {label}",
                    enterprise_ids=enterprises,
                )


def ensure(url: str, items: int) -> float | None:
    """Generate ``items`` items into an empty database at ``url``; returns items/s if it did."""
    have = count_items(url)
    if have >= items:
        engine = connect(url)
        upgrade(engine)
        store_tokens(engine)
        engine.dispose()
        return None
    if have:
        raise SystemExit(f"{url} holds {have} items, fewer than {items}: drop it first")
    ensure_schema(url)
    engine = connect(url)
    upgrade(engine)
    started = time.perf_counter()
    generate_into(engine, seed=1, count=items, enterprises=enterprises_for(items))
    elapsed = time.perf_counter() - started
    store_tokens(engine)
    engine.dispose()
    print(f"generated {items:,} items into {url} in {elapsed:.0f} s ({items / elapsed:,.0f}/s)")
    return items / elapsed


if __name__ == "__main__":
    import sys

    kind, size = sys.argv[1], int(sys.argv[2])
    ensure(sqlite_url(size) if kind == "sqlite" else postgres_url(size), size)
