"""A shared-state store that cannot answer now (Redis down, SQLite locked past its busy
timeout, PostgreSQL gone) is ``Unavailable``: 503 with ``Retry-After``, never a 500
(docs/behaviour.md#errors). What depends on it decides: the limiter applies its
``rate_limit_store_failure`` setting, the request log drops the line."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import redis.exceptions
import sqlalchemy.exc

from orderitems.domain.errors import Unavailable

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: Seconds a client is told to wait when the shared state cannot answer.
RETRY_AFTER = 1

#: Failures of reaching Redis or of Redis refusing writes for now; a script error stays a 500.
REDIS_FAILURES: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,  # also the pool's "No connection available." wait
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.OutOfMemoryError,
)
#: "database is locked", a lost or refused connection, an exhausted connection pool.
SQL_FAILURES: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.TimeoutError,
)


def unavailable(store: str, exc: Exception) -> Unavailable:
    log.warning("shared state in %s unavailable: %s: %s", store, type(exc).__name__, exc)
    return Unavailable(
        f"The server's shared state ({store}) is unavailable; retry later.",
        retry_after=RETRY_AFTER,
    )


@contextmanager
def sql_state() -> Iterator[None]:
    """Around work on the state database: its failures become ``Unavailable``."""
    try:
        yield
    except SQL_FAILURES as exc:
        raise unavailable("database", exc) from exc


def redis_state(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """On a Redis call: its failures become ``Unavailable``."""

    @functools.wraps(method)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except REDIS_FAILURES as exc:
            raise unavailable("Redis", exc) from exc

    return guarded
