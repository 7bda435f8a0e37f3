"""The rate limit's policy (docs/behaviour.md#limits): 429 with ``Retry-After`` once an
AccessToken's sliding window (state/windows.py) is full; when the window's store cannot answer,
503 (``closed``) or the request served unlimited with a warning (``open``)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from orderitems.access.tokens import hash_token
from orderitems.domain.errors import RateLimited, Unavailable
from orderitems.state.windows import SlidingWindow

log = logging.getLogger(__name__)

#: An open limiter whose store is down warns at most once in this many seconds per process.
WARN_EVERY = 10.0


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
        fail_open: bool = False,
    ) -> None:
        self.window = window
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self.fail_open = fail_open
        self.unlimited = 0  # requests served unlimited since the last warning
        self.warned_at = -math.inf

    async def check(self, access_token: str) -> None:
        """Count one request for ``access_token``, or refuse it (429) without counting it."""
        window_us = int(self.seconds * 1_000_000)
        try:
            wait = await self.window.hit(
                hash_token(access_token),
                now_us=int(self.clock() * 1_000_000),
                window_us=window_us,
                limit=self.limit,
            )
        except Unavailable:
            if not self.fail_open:
                raise
            self._served_unlimited()
            return
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

    def _served_unlimited(self) -> None:
        self.unlimited += 1
        now = time.monotonic()
        if now - self.warned_at >= WARN_EVERY:
            log.warning(
                "rate limit store unavailable: %d request(s) served unlimited"
                " (rate_limit_store_failure=open)",
                self.unlimited,
            )
            self.warned_at, self.unlimited = now, 0
