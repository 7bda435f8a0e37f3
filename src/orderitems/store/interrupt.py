"""Stopping a running statement from another thread, the only place that knows each driver's way.

SQLite: ``sqlite3.Connection.interrupt()``. PostgreSQL: psycopg's ``cancel_safe()``, which asks
the server to cancel the backend's current statement, as ``pg_cancel_backend`` would. Either
makes the statement fail in the thread that runs it, and a statement that is not running is
left alone, so calling the canceller again (or late) is harmless.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

import psycopg
import psycopg.errors
import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: How long one cancel request to PostgreSQL may take before it is given up.
CANCEL_TIMEOUT = 2.0


def canceller(connection: Connection) -> Callable[[], None]:
    """A function, safe to call from any thread, that stops what ``connection`` is running."""
    raw = connection.connection.driver_connection
    if isinstance(raw, sqlite3.Connection):
        return raw.interrupt
    if isinstance(raw, psycopg.Connection):
        postgres: psycopg.Connection[object] = raw
        return lambda: postgres.cancel_safe(timeout=CANCEL_TIMEOUT)
    return lambda: None


def is_cancellation(exc: BaseException) -> bool:
    """Whether ``exc`` is a statement stopped by a canceller or by a statement timeout."""
    original = getattr(exc, "orig", exc)
    if isinstance(original, psycopg.errors.QueryCanceled):
        return True
    return isinstance(original, sqlite3.OperationalError) and "interrupt" in str(original)


def occupy(connection: Connection, seconds: float) -> None:
    """Spend ``seconds`` inside one running statement: the sandbox's slow-query fault.

    The time is spent in the database, so it is cancelled exactly as slow real work would be.
    """
    if seconds <= 0:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("select pg_sleep(:seconds)"), {"seconds": seconds})
        return
    raw = connection.connection.driver_connection
    if isinstance(raw, sqlite3.Connection):
        raw.create_function("orderitems_monotonic", 0, time.monotonic)
        connection.execute(
            sa.text(
                "with recursive spin(n) as (select 0 union all select n + 1 from spin"
                " where orderitems_monotonic() < :until) select count(*) from spin"
            ),
            {"until": time.monotonic() + seconds},
        )
