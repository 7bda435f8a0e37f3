"""The limiter's policy (docs/behaviour.md#limits): 429 with whole seconds to wait, on a
made-up clock over a window in memory (each store's window: tests/state)."""

from __future__ import annotations

import anyio
import pytest

from orderitems.access.limits import RateLimiter, retry_after_seconds
from orderitems.domain.errors import RateLimited
from orderitems.state.windows import MemoryWindow

SECOND = 1_000_000


def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one() -> None:
    assert retry_after_seconds(1) == 1
    assert retry_after_seconds(SECOND) == 1
    assert retry_after_seconds(SECOND + 1) == 2
    assert retry_after_seconds(29_400_000) == 30
    assert retry_after_seconds(0) == 1


def test_the_limiter_refuses_with_429_and_the_seconds_to_wait() -> None:
    now = [1_800_000_000.0]
    limiter = RateLimiter(MemoryWindow(), limit=2, seconds=30, clock=lambda: now[0])

    async def scenario() -> RateLimited:
        await limiter.check("token")
        now[0] += 10.5
        await limiter.check("token")
        await limiter.check("another token")
        with pytest.raises(RateLimited) as refused:
            await limiter.check("token")
        return refused.value

    refused = anyio.run(scenario)
    assert refused.retry_after == 20
    assert "200" not in refused.message
    assert "at most 2 per AccessToken in 30 seconds" in refused.message
