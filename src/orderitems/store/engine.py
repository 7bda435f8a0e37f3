"""Opening a database. The only place that knows which engine is behind a URL."""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from orderitems.store.dialect import POSTGRESQL, SQLITE, Dialect

DEFAULT_URL = "sqlite:///orderitems.db"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and pick the psycopg 3 driver for it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _configure_sqlite(busy_ms: int, dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside a writer; a busy timeout waits for the writer's lock.

    Each pooled connection keeps a page cache of its own, so it stays small and there is no
    memory map: pages come from the OS page cache, which every worker shares, and a worker's
    memory stays flat however large the database grows. A larger cache or a memory map made
    full pages no faster, while larger caches on a full pool of connections multiplied a
    worker's memory (docs/benchmarks.md).
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA cache_size=-4096")
        cursor.close()


def _configure_postgres(dbapi_connection: Any, _record: Any) -> None:
    """Every statement here is a short index walk answering one request. JIT compilation
    (for plans the planner costs high, such as a sort of many keys) and parallel workers
    each add milliseconds of start-up to such a query, and concurrent requests already keep
    every core busy."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    dbapi_connection.commit()


#: Connections a process keeps to a SQLite file, whatever ``pool_size`` says.
SQLITE_CONNECTIONS = 4


#: Seconds a SQLite write waits for another writer's lock unless told otherwise.
BUSY_SECONDS = 10.0


def connect(url: str, *, pool_size: int = 8, busy_seconds: float = BUSY_SECONDS) -> Engine:
    """Create an engine for ``url`` (SQLite file or PostgreSQL); opens nothing until first use.

    ``busy_seconds``: how long a SQLite write waits for another writer's lock before failing
    with "database is locked" (a server keeps it below its deadline: a 503, not a 408).

    Up to ``2 * pool_size`` connections, each kept once opened. (With half of them as
    SQLAlchemy "overflow", a busy process closed a connection on every other return and
    opened a new one for the next request: milliseconds each on PostgreSQL.)
    """
    url = normalise_url(url)
    kept = {"pool_size": 2 * pool_size, "max_overflow": 0}
    if url.startswith("sqlite"):
        # SQLite runs in the process, under its GIL: more connections than cores run no more
        # statements at once, and each keeps its own page cache and prepared statements, so a
        # larger pool only costs memory.
        kept["pool_size"] = min(kept["pool_size"], SQLITE_CONNECTIONS)
        database = sa.make_url(url).database
        if database and database != ":memory:":
            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, **kept, connect_args={"check_same_thread": False})
        busy_ms = int(busy_seconds * 1000)
        sa.event.listen(engine, "connect", functools.partial(_configure_sqlite, busy_ms))
        return engine
    engine = sa.create_engine(url, **kept, pool_pre_ping=True)
    sa.event.listen(engine, "connect", _configure_postgres)
    return engine


def dialect_of(bind: Connection | Engine) -> Dialect:
    """The database behind ``bind``: the store's one check of which it is (store/dialect.py)."""
    return SQLITE if bind.dialect.name == "sqlite" else POSTGRESQL


def refresh_statistics(connection: Connection) -> None:
    """Planner statistics after a bulk load: without them SQLite walks the time index for an
    id filter, far slower than the id index."""
    connection.exec_driver_sql(dialect_of(connection).analyze)
