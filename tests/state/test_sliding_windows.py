"""The sliding window itself (docs/behaviour.md#limits), on every store, with a made-up
clock: what it accepts, what it refuses, when it accepts again, and that "count then record" is
atomic when many connections hit one window at once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import anyio
import pytest
from sqlalchemy.engine import Engine

from orderitems.state.redis_state import RedisState
from orderitems.state.windows import DatabaseWindow, MemoryWindow, RedisWindow, SlidingWindow

SECOND = 1_000_000


@pytest.fixture(params=["memory", "database", "redis"])
def window(request: pytest.FixtureRequest, engine: Engine) -> Iterator[SlidingWindow]:
    if request.param == "memory":
        yield MemoryWindow()
    elif request.param == "database":
        yield DatabaseWindow(engine)
    else:
        import redis.asyncio as aioredis

        url: str = request.getfixturevalue("redis_url")
        prefix = f"orderitems-test:{uuid.uuid4().hex}"
        state = RedisState(aioredis.from_url(url), prefix)
        yield RedisWindow(state)

        async def forget() -> None:
            await state.clear_all()
            await state.close()

        anyio.run(forget)


def hit(window: SlidingWindow, key: bytes, at_us: int, *, limit: int = 3) -> int | None:
    async def once() -> int | None:
        result = await window.hit(key, now_us=at_us, window_us=10 * SECOND, limit=limit)
        if isinstance(window, RedisWindow):
            await window.state.close()
        return result

    return anyio.run(once)


def test_a_window_accepts_its_limit_then_tells_when_the_oldest_leaves(
    window: SlidingWindow,
) -> None:
    key = uuid.uuid4().bytes * 2
    start = 1_800_000_000 * SECOND
    assert [hit(window, key, start + i * SECOND) for i in range(3)] == [None, None, None]
    assert hit(window, key, start + 4 * SECOND) == 6 * SECOND
    assert hit(window, key, start + 9 * SECOND) == 1 * SECOND, "refusals are not counted"
    assert hit(window, key, start + 10 * SECOND) is None, "the oldest left at start + 10 s"
    assert hit(window, key, start + 10 * SECOND) == 1 * SECOND
    assert hit(window, key, start + 11 * SECOND) is None


def test_windows_of_different_tokens_are_independent(window: SlidingWindow) -> None:
    first, second = uuid.uuid4().bytes * 2, uuid.uuid4().bytes * 2
    now = 1_800_000_000 * SECOND
    for _ in range(3):
        assert hit(window, first, now) is None
    assert hit(window, first, now) is not None
    assert hit(window, second, now) is None


def test_a_database_window_admits_exactly_its_limit_under_concurrent_connections(
    engine: Engine,
) -> None:
    """Twelve threads, each with its own connection, hit one window at the same instant."""
    window = DatabaseWindow(engine)
    key = uuid.uuid4().bytes * 2
    barrier = threading.Barrier(12)
    results: list[int | None] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        result = window._hit(key, 1_800_000_000 * SECOND, 10 * SECOND, 5)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(None) == 5
    assert len(results) == 12


def test_usage_tells_each_window_its_count_and_oldest_hit(window: SlidingWindow) -> None:
    """What the console's traffic page shows per token: used of the limit, and when the
    oldest request leaves (hits that left the window do not count)."""
    first, second = uuid.uuid4().bytes * 2, uuid.uuid4().bytes * 2
    start = 1_800_000_000 * SECOND
    hit(window, first, start)
    hit(window, first, start + 4 * SECOND)
    hit(window, first, start + 5 * SECOND)
    hit(window, second, start + 6 * SECOND)

    async def usage() -> dict[bytes, tuple[int, int]]:
        seen = await window.usage(now_us=start + 12 * SECOND, window_us=10 * SECOND)
        if isinstance(window, RedisWindow):
            await window.state.close()
        return seen

    seen = anyio.run(usage)
    assert seen[first] == (2, start + 4 * SECOND)
    assert seen[second] == (1, start + 6 * SECOND)
