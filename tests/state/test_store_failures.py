"""A shared-state store that cannot answer is ``Unavailable`` (503 with Retry-After), never a
500: Redis nobody listens on, and a state database whose write lock another writer holds."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import anyio
import pytest

from orderitems.domain.errors import Unavailable
from orderitems.state.records import FaultRule
from orderitems.state.redis_state import RedisState, connect_redis
from orderitems.state.sandbox import DatabaseSandbox
from orderitems.state.shared import open_state_file
from orderitems.state.windows import DatabaseWindow, RedisWindow
from processes import free_port


def test_every_redis_call_on_a_dead_redis_is_unavailable() -> None:
    client = connect_redis(f"redis://127.0.0.1:{free_port()}/0", max_connections=2, timeout=1)
    state = RedisState(client, f"orderitems-test:{uuid.uuid4().hex}")

    async def scenario() -> None:
        with pytest.raises(Unavailable, match=r"shared state \(Redis\) is unavailable"):
            await RedisWindow(state).hit(b"k" * 32, now_us=1, window_us=10, limit=1)
        with pytest.raises(Unavailable):
            await state.faults_clock_and_drill()
        with pytest.raises(Unavailable):
            await state.add_fault(FaultRule(status=503))
        await state.close()

    anyio.run(scenario)


def test_a_state_file_locked_past_its_busy_timeout_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "x.db-state"
    engine = open_state_file(path, busy_seconds=0.2)
    window = DatabaseWindow(engine)
    sandbox = DatabaseSandbox(engine, engine, keep=10)
    key = uuid.uuid4().bytes * 2
    assert anyio.run(lambda: window.hit(key, now_us=1, window_us=10, limit=1)) is None
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Unavailable, match=r"shared state \(database\) is unavailable"):
            anyio.run(lambda: window.hit(key, now_us=2, window_us=10, limit=5))
        with pytest.raises(Unavailable):
            anyio.run(lambda: sandbox.add_fault(FaultRule(status=503)))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert anyio.run(lambda: window.hit(key, now_us=3, window_us=10, limit=5)) is None
    engine.dispose()
