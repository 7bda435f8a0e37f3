"""The limiter's policy (docs/behaviour.md#limits): 429 with whole seconds to wait, on a
made-up clock over a window in memory (each store's window: tests/state)."""

from __future__ import annotations

import anyio
import pytest

from orderitems.access.limits import RateLimiter, retry_after_seconds
from orderitems.domain.errors import RateLimited, Unavailable
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


class DownWindow:
    """A window whose store cannot answer (state/failures.py turns that into Unavailable)."""

    async def hit(self, key: bytes, *, now_us: int, window_us: int, limit: int) -> int | None:
        raise Unavailable("The server's shared state (Redis) is unavailable; retry later.")

    async def usage(self, *, now_us: int, window_us: int) -> dict[bytes, tuple[int, int]]:
        raise Unavailable("The server's shared state (Redis) is unavailable; retry later.")

    async def clear(self) -> None: ...


def test_a_closed_limiter_refuses_with_503_when_its_store_is_down() -> None:
    limiter = RateLimiter(DownWindow(), limit=2, seconds=30)

    async def scenario() -> Unavailable:
        with pytest.raises(Unavailable) as refused:
            await limiter.check("token")
        return refused.value

    assert anyio.run(scenario).retry_after >= 1


def test_an_open_limiter_serves_while_its_store_is_down_and_warns_now_and_then(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = RateLimiter(DownWindow(), limit=2, seconds=30, fail_open=True)

    async def scenario() -> None:
        for _ in range(5):
            await limiter.check("token")

    with caplog.at_level("WARNING", logger="orderitems.access.limits"):
        anyio.run(scenario)
    warnings = [r.getMessage() for r in caplog.records if r.name == "orderitems.access.limits"]
    assert warnings == [
        "rate limit store unavailable: 1 request(s) served unlimited"
        " (rate_limit_store_failure=open)"
    ], "one warning, not one per request"
    assert limiter.unlimited == 4
