"""The rate limit (docs/behaviour.md#limits): a sliding window per AccessToken.

A window remembers when it accepted each request of the last ``window`` seconds and accepts a
new one while it remembers fewer than ``limit``. Rejected requests are not remembered, so a
client that waits the ``Retry-After`` it was given is accepted. Windows live in a store that
every server process shares (Redis or the database), so N processes still allow ``limit`` in
total; ``MemoryWindow`` is for one process only (tests and benchmarks).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

import anyio.to_thread
from sqlalchemy.engine import Engine

from orderitems.access.tokens import hash_token
from orderitems.domain.errors import RateLimited
from orderitems.store import rate_window
from orderitems.store.redis_state import RedisState

#: Hits that left every window are swept from the database once in this many requests.
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
    """Windows in the ``rate_limit_hits`` table, atomic across processes (store/rate_window.py)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.calls = 0

    def _hit(self, key: bytes, now_us: int, window_us: int, limit: int) -> int | None:
        with self.engine.begin() as connection:
            wait = rate_window.record_hit(
                connection, key, now_us=now_us, window_us=window_us, limit=limit
            )
            self.calls += 1
            if self.calls % SWEEP_EVERY == 0:
                rate_window.forget_before(connection, now_us - window_us)
            return wait

    async def hit(self, key: bytes, *, now_us: int, window_us: int, limit: int) -> int | None:
        return await anyio.to_thread.run_sync(self._hit, key, now_us, window_us, limit)

    def _usage(self, cutoff_us: int) -> dict[bytes, tuple[int, int]]:
        with self.engine.connect() as connection:
            return rate_window.window_usage(connection, cutoff_us)

    async def usage(self, *, now_us: int, window_us: int) -> dict[bytes, tuple[int, int]]:
        return await anyio.to_thread.run_sync(self._usage, now_us - window_us)

    def _clear(self) -> None:
        with self.engine.begin() as connection:
            rate_window.clear_windows(connection)

    async def clear(self) -> None:
        await anyio.to_thread.run_sync(self._clear)


class RedisWindow:
    """Windows as Redis sorted sets, one Lua script per request (store/redis_state.py)."""

    def __init__(self, state: RedisState) -> None:
        self.state = state

    async def hit(self, key: bytes, *, now_us: int, window_us: int, limit: int) -> int | None:
        return await self.state.record_hit(key, now_us=now_us, window_us=window_us, limit=limit)

    async def usage(self, *, now_us: int, window_us: int) -> dict[bytes, tuple[int, int]]:
        return await self.state.window_usage(now_us - window_us)

    async def clear(self) -> None:
        await self.state.clear_windows()


def retry_after_seconds(wait_us: int) -> int:
    """Whole seconds, rounded up, so that a retry after them is accepted; at least 1."""
    return max(1, math.ceil(wait_us / 1_000_000))


class RateLimiter:
    """``limit`` requests per AccessToken in any ``seconds``-long stretch of time."""

    def __init__(
        self,
        window: SlidingWindow,
        *,
        limit: int,
        seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.window = window
        self.limit = limit
        self.seconds = seconds
        self.clock = clock

    async def check(self, access_token: str) -> None:
        """Count one request for ``access_token``, or refuse it (429) without counting it."""
        window_us = int(self.seconds * 1_000_000)
        wait = await self.window.hit(
            hash_token(access_token),
            now_us=int(self.clock() * 1_000_000),
            window_us=window_us,
            limit=self.limit,
        )
        if wait is not None:
            # A process that waited for the store's lock read the time before another one
            # recorded a later hit, so its wait can exceed the window by that lock wait: only
            # ever too long, never too short, and never longer than the window itself.
            retry_after = retry_after_seconds(min(wait, window_us))
            raise RateLimited(
                f"Too many requests: at most {self.limit} per AccessToken in {self.seconds:g}"
                f" seconds. Retry after {retry_after} seconds.",
                retry_after=retry_after,
            )
