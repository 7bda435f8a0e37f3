"""The rate limiter's sliding windows in the database (used when no Redis is configured).

Each window is the set of accepted request times of one key. "Count, then insert if below the
limit" must be atomic across server processes: SQLite takes its write lock when the
``INSERT ... SELECT`` statement starts, so that single statement is; PostgreSQL first takes a
transaction-scoped advisory lock on the key, so the statement sees every earlier commit.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderitems.store.schema import rate_limit_hits


def _lock_key(connection: Connection, key: bytes) -> None:
    if connection.dialect.name == "postgresql":
        lock_id = int.from_bytes(key[:8], "big", signed=True)
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_id)))


def record_hit(
    connection: Connection, key: bytes, *, now_us: int, window_us: int, limit: int
) -> int | None:
    """Record a request unless ``limit`` are already in the window ``(now - window, now]``.

    Returns None when recorded, else the microseconds until the oldest leaves the window.
    Call inside a transaction; the lock (PostgreSQL) or write lock (SQLite) lasts until commit.
    """
    cutoff = now_us - window_us
    _lock_key(connection, key)
    in_window = (rate_limit_hits.c.key == key) & (rate_limit_hits.c.at_us > cutoff)
    count = sa.select(sa.func.count()).select_from(rate_limit_hits).where(in_window)
    candidate = sa.select(
        sa.literal(key, sa.LargeBinary(32)), sa.literal(now_us, sa.BigInteger)
    ).where(count.scalar_subquery() < limit)
    # RETURNING, since an INSERT ... SELECT's rowcount is -1 through SQLAlchemy on psycopg.
    inserted = connection.execute(
        rate_limit_hits.insert()
        .from_select(["key", "at_us"], candidate)
        .returning(rate_limit_hits.c.at_us)
    ).first()
    if inserted is not None:
        connection.execute(
            rate_limit_hits.delete().where(
                rate_limit_hits.c.key == key, rate_limit_hits.c.at_us <= cutoff
            )
        )
        return None
    oldest = connection.execute(
        sa.select(sa.func.min(rate_limit_hits.c.at_us)).where(in_window)
    ).scalar_one()
    return max(int(oldest) + window_us - now_us, 0)


def forget_before(connection: Connection, cutoff_us: int) -> None:
    """Drop hits of every key that have left any window (keys that went quiet)."""
    connection.execute(rate_limit_hits.delete().where(rate_limit_hits.c.at_us <= cutoff_us))


def clear_windows(connection: Connection) -> None:
    connection.execute(rate_limit_hits.delete())
