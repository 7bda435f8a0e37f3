"""When to try again and how long to wait: pure decisions, no I/O.

The rules follow the API's guidelines (docs/behaviour.md#limits): a 429 says how long to wait
in ``Retry-After`` (exponential backoff with jitter when it does not); a 408 means "ask for less";
a 5xx or a dropped connection may pass, so back off a few times; 400, 401 and 403 will not
change by asking again, so they are never retried.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How persistent the client is. Every limit is per request (per page, per batch).

    Attributes:
        max_retries: retries after a 5xx, a connection failure, or a 408 that cannot be made
            smaller, before the error is raised.
        max_rate_limit_retries: retries after a 429 before ``RateLimited`` is raised.
        backoff_base: first backoff in seconds; it doubles with every retry.
        backoff_max: longest backoff in seconds.
        max_retry_after: longest wait honoured from a ``Retry-After`` header, in seconds.
        jitter: spread backoffs randomly over their upper half, so that many clients that failed
            together do not come back together. Turn off for predictable waits.
        shrink_on_timeout: after a 408, retry at once with half the page size (``Count``, floor
            1) or half the batch of ids, as the API advises, instead of backing off.
    """

    max_retries: int = 5
    max_rate_limit_retries: int = 10
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 300.0
    jitter: bool = True
    shrink_on_timeout: bool = True
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, retry: int) -> float:
        """Seconds before retry ``retry`` (0 for the first): exponential, capped, jittered."""
        ceiling = min(self.backoff_max, self.backoff_base * 2.0**retry)
        if not self.jitter:
            return ceiling
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def rate_limit_wait(self, retry_after: float | None, retry: int) -> float:
        """Seconds to wait after a 429: the server's ``Retry-After`` if given, else a backoff."""
        if retry_after is None:
            return self.backoff(retry)
        return min(retry_after, self.max_retry_after)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP-date (the API leaves it unsaid)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
