"""The rate limiter's sliding windows (docs/behaviour.md#limits), one per AccessToken hash.

A window remembers when it accepted each request of the last ``window`` microseconds and
accepts a new one while it remembers fewer than ``limit``. Rejected requests are not
remembered, so a client that waits the ``Retry-After`` it was given is accepted. Windows live
in a store every server process shares (Redis or SQL), so N processes still allow ``limit`` in
total; ``MemoryWindow`` is for one process only (tests and benchmarks).
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

import anyio.to_thread
from sqlalchemy.engine import Engine

from orderitems.state import window_sql
from orderitems.state.failures import sql_state
from orderitems.state.redis_state import RedisState

#: Hits that left every window are swept from SQL once in this many requests.
SWEEP_EVERY = 500


class SlidingWindow(Protocol):
    async def hit(self, key: bytes, *, now_us: int, window_us: int, limit: int) -> int | None:
        """Record one request: None when accepted, else microseconds until one would be."""
        ...

    async def usage(self, *, now_us: int, window_us: int) -> dict[bytes, tuple[int, int]]:
        """Each key's requests in the window ending now: how many, and the oldest one's time."""
        ...

    async def clear(self) -> None: ...


class MemoryWindow:
    """One process's windows in a dict: not shared, so never what a server uses."""

    def __init__(self) -> None:
        self.hits: dict[bytes, deque[int]] = {}

    async def hit(self, key: bytes, *, now_us: int, window_us: int, limit: int) -> int | None:
        times = self.hits.setdefault(key, deque())
        while times and times[0] <= now_us - window_us:
            times.popleft()
        if len(times) < limit:
            times.append(now_us)
            return None
        return times[0] + window_us - now_us

    async def usage(self, *, now_us: int, window_us: int) -> dict[bytes, tuple[int, int]]:
        cutoff = now_us - window_us
        live = {key: [t for t in times if t > cutoff] for key, times in self.hits.items()}
        return {key: (len(times), times[0]) for key, times in live.items() if times}

    async def clear(self) -> None:
        self.hits.clear()


class DatabaseWindow:
    """Windows in the ``rate_limit_hits`` table, atomic across processes (state/window_sql.py)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.calls = 0

    def _hit(self, key: bytes, now_us: int, window_us: int, limit: int) -> int | None:
        with sql_state(), self.engine.begin() as connection:
            wait = window_sql.record_hit(
                connection, key, now_us=now_us, window_us=window_us, limit=limit
            )
            self.calls += 1
            if self.calls % SWEEP_EVERY == 0:
                window_sql.forget_before(connection, now_us - window_us)
            return wait

    async def hit(self, key: bytes, *, now_us: int, window_us: int, limit: int) -> int | None:
        return await anyio.to_thread.run_sync(self._hit, key, now_us, window_us, limit)

    def _usage(self, cutoff_us: int) -> dict[bytes, tuple[int, int]]:
        with sql_state(), self.engine.connect() as connection:
            return window_sql.window_usage(connection, cutoff_us)

    async def usage(self, *, now_us: int, window_us: int) -> dict[bytes, tuple[int, int]]:
        return await anyio.to_thread.run_sync(self._usage, now_us - window_us)

    def _clear(self) -> None:
        with sql_state(), self.engine.begin() as connection:
            window_sql.clear_windows(connection)

    async def clear(self) -> None:
        await anyio.to_thread.run_sync(self._clear)


class RedisWindow:
    """Windows as Redis sorted sets, one Lua script per request (state/redis_state.py)."""

    def __init__(self, state: RedisState) -> None:
        self.state = state

    async def hit(self, key: bytes, *, now_us: int, window_us: int, limit: int) -> int | None:
        return await self.state.record_hit(key, now_us=now_us, window_us=window_us, limit=limit)

    async def usage(self, *, now_us: int, window_us: int) -> dict[bytes, tuple[int, int]]:
        return await self.state.window_usage(now_us - window_us)

    async def clear(self) -> None:
        await self.state.clear_windows()
