"""The rate limiter's sliding windows in SQL (used when no Redis is configured).

Each window is the set of accepted request times of one key. "Count, then insert if below the
limit" must be atomic across server processes: SQLite takes its write lock when the
``INSERT ... SELECT`` statement starts, so that single statement is; PostgreSQL first takes a
transaction-scoped advisory lock on the key, so the statement sees every earlier commit.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderitems.store.schema import rate_limit_hits

_KEY = sa.bindparam("key", type_=sa.LargeBinary(32))
_NOW = sa.bindparam("now", type_=sa.BigInteger)
_CUTOFF = sa.bindparam("cutoff", type_=sa.BigInteger)
_IN_WINDOW = (rate_limit_hits.c.key == _KEY) & (rate_limit_hits.c.at_us > _CUTOFF)

# PostgreSQL: the key's lock, and no wait for the disk at commit (a hit lost in a crash only
# lets one more request through), in one round trip.
_LOCK = sa.select(
    sa.func.set_config("synchronous_commit", "off", True),
    sa.func.pg_advisory_xact_lock(sa.bindparam("lock_id", type_=sa.BigInteger)),
)
_OLDEST = sa.select(sa.func.min(rate_limit_hits.c.at_us)).where(_IN_WINDOW)


@functools.lru_cache(maxsize=8)
def _insert_below(limit: int) -> sa.Insert:
    """Built once per limit, so each request reuses one compiled statement."""
    # Counting stops at the limit: a busy key costs at most ``limit`` index entries.
    window = sa.select(sa.literal(1)).where(_IN_WINDOW).limit(limit).subquery()
    count = sa.select(sa.func.count()).select_from(window).scalar_subquery()
    # RETURNING, since an INSERT ... SELECT's rowcount is -1 through SQLAlchemy on psycopg.
    return (
        rate_limit_hits.insert()
        .from_select(["key", "at_us"], sa.select(_KEY, _NOW).where(count < limit))
        .returning(rate_limit_hits.c.at_us)
    )


def record_hit(
    connection: Connection, key: bytes, *, now_us: int, window_us: int, limit: int
) -> int | None:
    """Record a request unless ``limit`` are already in the window ``(now - window, now]``.

    Returns None when recorded, else the microseconds until the oldest leaves the window.
    Call inside a transaction; the lock (PostgreSQL) or write lock (SQLite) lasts until commit.
    Hits that left the window stay until swept (``forget_before``); no query counts them.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK, {"lock_id": int.from_bytes(key[:8], "big", signed=True)})
    values = {"key": key, "now": now_us, "cutoff": now_us - window_us}
    if connection.execute(_insert_below(limit), values).first() is not None:
        return None
    oldest = connection.execute(_OLDEST, values).scalar_one()
    return max(int(oldest) + window_us - now_us, 0)


def forget_before(connection: Connection, cutoff_us: int) -> None:
    """Drop hits of every key that have left any window (keys that went quiet)."""
    connection.execute(rate_limit_hits.delete().where(rate_limit_hits.c.at_us <= cutoff_us))


def clear_windows(connection: Connection) -> None:
    connection.execute(rate_limit_hits.delete())


def window_usage(connection: Connection, cutoff_us: int) -> dict[bytes, tuple[int, int]]:
    """Each key's hits after ``cutoff_us``: how many, and the oldest (the console's view)."""
    rows = connection.execute(
        sa.select(rate_limit_hits.c.key, sa.func.count(), sa.func.min(rate_limit_hits.c.at_us))
        .where(rate_limit_hits.c.at_us > cutoff_us)
        .group_by(rate_limit_hits.c.key)
    )
    return {bytes(key): (int(count), int(oldest)) for key, count, oldest in rows}
