"""The one factory of shared state: where every server process keeps what they share.

The limiter's windows (state/windows.py) and the sandbox's faults, clock and request log
(state/sandbox.py) live in Redis when ``redis_url`` is set, else in SQL, never in a process's
memory, so ``serve --workers N`` behaves as one server.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from orderitems.settings import Settings
from orderitems.state.redis_state import RedisState, connect_redis
from orderitems.state.sandbox import DatabaseSandbox, RedisSandbox, SandboxState
from orderitems.state.windows import DatabaseWindow, RedisWindow, SlidingWindow


def redis_prefix(settings: Settings) -> str:
    """Servers on one database share keys; servers on different databases never do."""
    digest = hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]
    return f"orderitems:{digest}"


@dataclass
class SharedState:
    """The opened shared state of one server process."""

    window: SlidingWindow
    sandbox: SandboxState
    redis: RedisState | None = None

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.close()


def open_state(settings: Settings, engine: Engine) -> SharedState:
    """Redis when ``redis_url`` is set, else the database; nothing connects until first use."""
    keep = settings.request_log_size
    if settings.redis_url:
        client = connect_redis(
            settings.redis_url,
            max_connections=settings.redis_max_connections,
            timeout=settings.redis_timeout_seconds,
        )
        state = RedisState(client, redis_prefix(settings))
        return SharedState(RedisWindow(state), RedisSandbox(state, engine, keep=keep), state)
    return SharedState(DatabaseWindow(engine), DatabaseSandbox(engine, engine, keep=keep))
