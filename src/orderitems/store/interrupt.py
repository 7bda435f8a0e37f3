"""Stopping a running statement from another thread, the only place that knows each driver's way.

SQLite: ``sqlite3.Connection.interrupt()``. PostgreSQL: psycopg's ``cancel_safe()``, which asks
the server to cancel the backend's current statement, as ``pg_cancel_backend`` would. Either
makes the statement fail in the thread that runs it, and a statement that is not running is
left alone, so calling the canceller again (or late) is harmless. The connection's dialect
(store/dialect.py) picks the functions for its database.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import cast

import psycopg
import psycopg.errors
import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: How long one cancel request to PostgreSQL may take before it is given up.
CANCEL_TIMEOUT = 2.0


def sqlite_canceller(connection: Connection) -> Callable[[], None]:
    """A function, safe to call from any thread, that stops what ``connection`` is running."""
    return cast(sqlite3.Connection, connection.connection.driver_connection).interrupt


def postgres_canceller(connection: Connection) -> Callable[[], None]:
    """As ``sqlite_canceller``: psycopg asks the server to cancel the backend's statement."""
    raw = cast("psycopg.Connection[object]", connection.connection.driver_connection)
    return lambda: raw.cancel_safe(timeout=CANCEL_TIMEOUT)


def is_cancellation(exc: BaseException) -> bool:
    """Whether ``exc`` is a statement stopped by a canceller or by a statement timeout."""
    original = getattr(exc, "orig", exc)
    if isinstance(original, psycopg.errors.QueryCanceled):
        return True
    return isinstance(original, sqlite3.OperationalError) and "interrupt" in str(original)


def is_lock_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is a write that gave up waiting for another writer's lock."""
    original = getattr(exc, "orig", exc)
    if isinstance(original, psycopg.errors.LockNotAvailable):
        return True
    return isinstance(original, sqlite3.OperationalError) and "locked" in str(original)


def postgres_occupy(connection: Connection, seconds: float) -> None:
    """Spend ``seconds`` inside one running statement: the sandbox's slow-query fault.

    The time is spent in the database, so it is cancelled exactly as slow real work would be.
    """
    if seconds > 0:
        connection.execute(sa.text("select pg_sleep(:seconds)"), {"seconds": seconds})


def sqlite_occupy(connection: Connection, seconds: float) -> None:
    """As ``postgres_occupy``: a recursive query that counts until a clock of ours says stop."""
    if seconds <= 0:
        return
    raw = cast(sqlite3.Connection, connection.connection.driver_connection)
    raw.create_function("orderitems_monotonic", 0, time.monotonic)
    connection.execute(
        sa.text(
            "with recursive spin(n) as (select 0 union all select n + 1 from spin"
            " where orderitems_monotonic() < :until) select count(*) from spin"
        ),
        {"until": time.monotonic() + seconds},
    )
