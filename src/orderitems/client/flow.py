"""The client's logic without its I/O: every operation is a generator of steps.

A flow yields ``Send(request)`` and is sent back the ``httpx.Response`` (or the
``httpx.TransportError``), yields ``Sleep(seconds)`` and is sent back None, and finally returns
its result. ``Client`` and ``AsyncClient`` only carry steps out (``drive`` loops), so request
building, retries, paging, window splitting, chunking and parsing exist once for both: this
module is one exchange under the retry policy; ``paging`` and ``batches`` build on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import msgspec

from orderitems.client.errors import (
    ApiError,
    ConnectionFailed,
    InvalidResponse,
    RateLimited,
    ServerError,
    Timeout,
    error_for,
)
from orderitems.client.models import Model, load
from orderitems.client.queries import Wire
from orderitems.client.retry import RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

T = TypeVar("T")
ModelT = TypeVar("ModelT", bound=Model)

GET_ALL = "orderItems/getAll"
CANCEL = "orderItems/cancel"
GET_ALL_ITEMS = "reservations/getAllItems"


@dataclass(frozen=True, slots=True)
class Send:
    request: httpx.Request


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


Step = Send | Sleep
Reply = httpx.Response | httpx.TransportError | None
Flow = Generator[Step, Reply, T]

_decoder = msgspec.json.Decoder(float_hook=Decimal)


class TooHeavy(Exception):
    """A 408 the caller can answer by asking for less (a smaller page or batch)."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True, slots=True)
class Core:
    """Where and who: builds requests and runs one exchange under the retry policy."""

    base_url: str
    client_token: str
    access_token: str
    client_name: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def build(self, operation: str, body: Wire) -> httpx.Request:
        document = {
            "ClientToken": self.client_token,
            "AccessToken": self.access_token,
            "Client": self.client_name,
            **msgspec.to_builtins(body),
        }
        return httpx.Request(
            "POST",
            f"{self.base_url.rstrip('/')}/api/connector/v1/{operation}",
            content=msgspec.json.encode(document),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )

    def exchange(self, operation: str, body: Wire, *, shrinkable: bool = False) -> Flow[Any]:
        """Send until an answer can be used; return the decoded JSON body (None for a 204).

        A 408 raises ``TooHeavy`` when ``shrinkable`` (the caller asks for less); otherwise
        it is retried like a 5xx and raised as ``Timeout`` when the retries run out.
        """
        request = self.build(operation, body)
        failures = rate_limited = 0
        while True:
            reply = yield Send(request)
            if isinstance(reply, httpx.TransportError):
                if failures >= self.policy.max_retries:
                    raise ConnectionFailed(f"{operation}: {reply!r}") from reply
                wait = self.policy.backoff(failures)
                failures += 1
                log.warning(
                    "%s: %r; retry %d/%d in %.1f s",
                    operation,
                    reply,
                    failures,
                    self.policy.max_retries,
                    wait,
                )
                yield Sleep(wait)
                continue
            assert reply is not None, "the driver answers every Send"
            status, rid = reply.status_code, reply.headers.get("request-id")
            log.debug("POST %s -> %d rid=%s", operation, status, rid)
            if 200 <= status < 300:
                return self._decode(operation, reply)
            retry_after = parse_retry_after(reply.headers.get("retry-after"), now=self.clock())
            error = error_for(
                status,
                reply.content,
                request_id=rid,
                reason=reply.reason_phrase,
                retry_after=retry_after,
            )
            if isinstance(error, RateLimited):
                if rate_limited >= self.policy.max_rate_limit_retries:
                    raise error
                wait = self.policy.rate_limit_wait(retry_after, rate_limited)
                rate_limited += 1
                log.warning(
                    "%s: 429 rid=%s; waiting %.1f s (%s), retry %d/%d",
                    operation,
                    error.request_id,
                    wait,
                    "Retry-After" if retry_after is not None else "backoff",
                    rate_limited,
                    self.policy.max_rate_limit_retries,
                )
                yield Sleep(wait)
                continue
            if isinstance(error, Timeout) and shrinkable and self.policy.shrink_on_timeout:
                raise TooHeavy(error)
            if not isinstance(error, ServerError | Timeout):
                raise error
            if failures >= self.policy.max_retries:
                raise error
            wait = self.policy.backoff(failures)
            failures += 1
            log.warning(
                "%s: %d rid=%s; retry %d/%d in %.1f s",
                operation,
                status,
                error.request_id,
                failures,
                self.policy.max_retries,
                wait,
            )
            yield Sleep(wait)

    @staticmethod
    def _decode(operation: str, reply: httpx.Response) -> Any:
        if reply.status_code == 204 or not reply.content:
            return None
        try:
            return _decoder.decode(reply.content)
        except msgspec.DecodeError as exc:
            rid = reply.headers.get("request-id")
            message = f"{operation}: the answer is not JSON ({exc}); rid={rid}"
            raise InvalidResponse(message) from None


def parse(operation: str, model: type[ModelT], raw: Any) -> ModelT:
    """The typed answer, or ``InvalidResponse`` naming what did not fit."""
    try:
        return load(model, raw)
    except msgspec.ValidationError as exc:
        raise InvalidResponse(f"{operation}: unexpected answer: {exc}") from None
