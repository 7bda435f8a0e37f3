"""The deadline on database work (docs/behaviour.md#limits: 408, work actually cancelled).

Work runs on a worker thread, which cannot be killed; what can be stopped is the statement it
runs. One watchdog thread per process holds every running call's deadline and, once one has
passed, cancels that call's statement (store/interrupt.py), and again every ``REPEAT`` seconds
while the call goes on, so a statement started after the first cancel is stopped too. A call
leaves the watchdog before its connection goes back to the pool, under the watchdog's lock,
so a cancel never reaches the next user of that connection.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy.engine import Connection, Engine

from orderitems.domain.errors import DeadlineExceeded, DomainError, Unavailable
from orderitems.store.connect_errors import lost_connection
from orderitems.store.engine import dialect_of
from orderitems.store.interrupt import is_cancellation, is_lock_timeout

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds between repeated cancels of a call that is still running past its deadline.
REPEAT = 0.1
#: Seconds the request waits, past the deadline, for its cancelled work to end.
GRACE = 2.0


class Gauge(Protocol):
    def inc(self) -> None: ...
    def dec(self) -> None: ...


@dataclass(eq=False)
class Watch:
    """One running call: when it must end, and how to stop its statement."""

    expires: float
    cancel: Callable[[], None]
    fired: bool = False
    next_fire: float = field(init=False)

    def __post_init__(self) -> None:
        self.next_fire = self.expires


class Watchdog:
    """A process's single thread that cancels database work past its deadline."""

    def __init__(self, *, in_flight: Gauge | None = None) -> None:
        self._condition = threading.Condition()
        self._watches: set[Watch] = set()
        self._wake_at = math.inf
        self._thread: threading.Thread | None = None
        self._closed = False
        self.in_flight = in_flight

    @contextmanager
    def watch(self, expires: float, cancel: Callable[[], None]) -> Iterator[Watch]:
        watch = Watch(expires, cancel)
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="orderitems-watchdog", daemon=True
                )
                self._thread.start()
            self._watches.add(watch)
            if expires < self._wake_at:
                self._condition.notify()
        if self.in_flight is not None:
            self.in_flight.inc()
        try:
            yield watch
        finally:
            with self._condition:
                self._watches.discard(watch)
            if self.in_flight is not None:
                self.in_flight.dec()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        with self._condition:
            while not self._closed:
                now = time.monotonic()
                for watch in [w for w in self._watches if w.next_fire <= now]:
                    watch.fired = True
                    watch.next_fire = now + REPEAT
                    try:
                        watch.cancel()
                    except Exception:
                        log.warning("cancelling work past its deadline failed", exc_info=True)
                self._wake_at = min((w.next_fire for w in self._watches), default=math.inf)
                timeout = None if self._wake_at == math.inf else max(self._wake_at - now, 0)
                self._condition.wait(timeout)


@dataclass(frozen=True, slots=True)
class WorkLimits:
    """What bounds one request's database work: its deadline, and any injected slowness."""

    watchdog: Watchdog
    seconds: float
    expires: float
    #: Seconds spent in a running statement before the work (the slow-query fault).
    database_delay: float = 0.0

    @classmethod
    def starting_now(
        cls, watchdog: Watchdog, seconds: float, *, database_delay: float = 0.0
    ) -> WorkLimits:
        return cls(watchdog, seconds, time.monotonic() + seconds, database_delay)

    def exceeded(self) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"The request could not be processed within {self.seconds:g} seconds;"
            " request less data at once (a smaller Limitation.Count or a shorter interval)."
        )


def _bounded(engine: Engine, work: Callable[[Connection], T], limits: WorkLimits, retry: bool) -> T:
    """``work``, once more on a fresh connection if its connection was lost under it (a
    terminated backend, a restarted server) and the deadline allows: only for work that is
    safe to repeat (reads); what still fails is the caller's 503 (api/database_faults.py)."""
    try:
        return _attempt(engine, work, limits)
    except DomainError:
        raise
    except Exception as exc:
        if not (retry and lost_connection(exc) and time.monotonic() < limits.expires):
            raise
        log.warning("lost a database connection; trying once more on a fresh one: %s", exc)
    return _attempt(engine, work, limits)


def _attempt(engine: Engine, work: Callable[[Connection], T], limits: WorkLimits) -> T:
    with engine.connect() as connection:
        dialect = dialect_of(connection)
        with limits.watchdog.watch(limits.expires, dialect.canceller(connection)) as watch:
            try:
                dialect.occupy(connection, limits.database_delay)
                result = work(connection)
            except DomainError:
                raise
            except Exception as exc:
                if watch.fired or is_cancellation(exc):
                    raise limits.exceeded() from exc
                if is_lock_timeout(exc):
                    raise Unavailable(
                        "The database is busy with another write (such as an import); retry later."
                    ) from exc
                raise
        if watch.fired or time.monotonic() > limits.expires:
            raise limits.exceeded()
        return result


async def run_bounded(
    engine: Engine, work: Callable[[Connection], T], limits: WorkLimits, *, retry: bool = False
) -> T:
    """``work`` on a worker thread; 408 once it passes the deadline, its statement cancelled;
    ``retry``: once more if its connection is lost (reads)."""
    with anyio.move_on_after(max(limits.expires - time.monotonic(), 0) + GRACE):
        return await anyio.to_thread.run_sync(
            _bounded, engine, work, limits, retry, abandon_on_cancel=True
        )
    raise limits.exceeded()
