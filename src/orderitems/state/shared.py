"""The one factory of shared state: where every server process keeps what they share.

The limiter's windows (state/windows.py) and the sandbox's faults, clock and request log
(state/sandbox.py) live in Redis when ``redis_url`` is set, else in SQL, never in a process's
memory, so ``serve --workers N`` behaves as one server. On PostgreSQL the SQL is the
database's own tables. On a SQLite file it is a state file of its own beside it
(``orderitems.db-state``, in WAL mode): every request writes a limiter hit, and in the main
file it would wait behind a long write such as an import, whose lock covers the whole file.
The workers of one server, and every server on that database, open the same state file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateIndex, CreateTable

from orderitems.settings import Settings
from orderitems.state.redis_state import RedisState, connect_redis
from orderitems.state.sandbox import DatabaseSandbox, RedisSandbox, SandboxState
from orderitems.state.windows import DatabaseWindow, RedisWindow, SlidingWindow
from orderitems.store.engine import connect
from orderitems.store.schema import rate_limit_hits, request_log, sandbox_faults, sandbox_values

#: What a state file holds; the same tables as the main database's (store/schema.py).
STATE_TABLES = (rate_limit_hits, sandbox_faults, sandbox_values, request_log)
#: Appended to a SQLite database's file name: ``orderitems.db`` keeps ``orderitems.db-state``.
STATE_FILE_SUFFIX = "-state"


def redis_prefix(settings: Settings) -> str:
    """Servers on one database share keys; servers on different databases never do."""
    digest = hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]
    return f"orderitems:{digest}"


def state_file(database_url: str | sa.URL) -> Path | None:
    """The state file beside a SQLite database file; None for PostgreSQL or memory."""
    url = sa.make_url(database_url)
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    path = Path(database).expanduser()
    return path.with_name(path.name + STATE_FILE_SUFFIX)


def _create_state_tables(dbapi_connection: Any, _record: Any) -> None:
    """Each new connection makes the tables it needs if missing (a no-op, needing no lock,
    once they exist), so a state file deleted between runs simply starts empty."""
    dialect = sqlite.dialect()
    cursor = dbapi_connection.cursor()
    for table in STATE_TABLES:
        cursor.execute(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)))
        for index in table.indexes:
            cursor.execute(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)))
    cursor.close()


def open_state_file(path: Path, *, busy_seconds: float) -> Engine:
    engine = connect(f"sqlite:///{path}", busy_seconds=busy_seconds)
    sa.event.listen(engine, "connect", _create_state_tables)
    return engine


@dataclass
class SharedState:
    """The opened shared state of one server process."""

    window: SlidingWindow
    sandbox: SandboxState
    redis: RedisState | None = None
    #: The state file's engine, when this process opened one.
    state_engine: Engine | None = None

    @property
    def name(self) -> str:
        """What the readiness probe calls this store in its problems."""
        return "Redis" if self.redis is not None else "the state file"

    @property
    def ping(self) -> Callable[[], Awaitable[object]] | None:
        """Asks the store of its own to answer (readiness); None when the state lives in the
        main database, which the probe checks anyway."""
        if self.redis is not None:
            return self.redis.client.ping
        state_engine = self.state_engine
        if state_engine is None:
            return None

        def read() -> None:
            with state_engine.connect() as connection:
                connection.execute(rate_limit_hits.select().limit(1)).first()

        return lambda: anyio.to_thread.run_sync(read)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.close()
        if self.state_engine is not None:
            self.state_engine.dispose()


def open_state(settings: Settings, engine: Engine) -> SharedState:
    """Redis when ``redis_url`` is set, else SQL (beside a SQLite file, or the database
    itself); nothing connects until first use."""
    keep = settings.request_log_size
    if settings.redis_url:
        client = connect_redis(
            settings.redis_url,
            max_connections=settings.redis_max_connections,
            timeout=settings.redis_timeout_seconds,
        )
        state = RedisState(client, redis_prefix(settings))
        return SharedState(RedisWindow(state), RedisSandbox(state, engine, keep=keep), state)
    path = state_file(engine.url)
    if path is None:
        return SharedState(DatabaseWindow(engine), DatabaseSandbox(engine, engine, keep=keep))
    own = open_state_file(path, busy_seconds=settings.lock_wait_seconds)
    return SharedState(
        DatabaseWindow(own), DatabaseSandbox(own, engine, keep=keep), state_engine=own
    )
