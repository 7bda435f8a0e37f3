"""The rate limit's policy (docs/behaviour.md#limits): 429 with ``Retry-After`` once an
AccessToken's sliding window (state/windows.py) is full."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from orderitems.access.tokens import hash_token
from orderitems.domain.errors import RateLimited
from orderitems.state.windows import SlidingWindow


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
