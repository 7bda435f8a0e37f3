"""The client's logic without its I/O: every operation is a generator of steps.

A flow yields ``Send(request)`` and is sent back the ``httpx.Response`` (or the
``httpx.TransportError``), yields ``Sleep(seconds)`` and is sent back None, and finally returns
its result. ``Client`` and ``AsyncClient`` only carry steps out (``drive`` loops), so request
building, retries, paging, window splitting, chunking and parsing exist once for both.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import msgspec

from orderitems.client.errors import (
    ApiError,
    BadRequest,
    ConnectionFailed,
    Forbidden,
    InvalidResponse,
    RateLimited,
    ServerError,
    Timeout,
    error_for,
)
from orderitems.client.models import (
    Model,
    OrderItem,
    OrderItemPage,
    ReservationItems,
    ReservationItemsResult,
    load,
)
from orderitems.client.queries import (
    MAX_CANCEL_IDS,
    MAX_IDS,
    CancelRequest,
    GetAllItemsRequest,
    GetAllRequest,
    Limitation,
    Wire,
    chunked,
)
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


class _TooHeavy(Exception):
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

        A 408 raises ``_TooHeavy`` when ``shrinkable`` (the caller asks for less); otherwise
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
                raise _TooHeavy(error)
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


def parse_page(raw: Any) -> OrderItemPage:
    """A getAll answer; a 204 (``Prefer: return=minimal``) is the empty last page."""
    if raw is None:
        return OrderItemPage(order_items=[], cursor=None)
    return parse(GET_ALL, OrderItemPage, raw)


def _with_limitation(request: GetAllRequest, count: int, cursor: uuid.UUID | None) -> GetAllRequest:
    return msgspec.structs.replace(request, limitation=Limitation(count=count, cursor=cursor))


class Pager:
    """Follows the cursor of one getAll request until the API says there is no more.

    The end is a null ``Cursor`` in the body (or an empty page); the next request carries the
    previous answer's cursor in ``Limitation.Cursor``. After a 408 the page size is halved
    (floor 1) and stays smaller for the rest of this request.
    """

    def __init__(self, core: Core, request: GetAllRequest) -> None:
        self.core = core
        self.request = request
        self.finished = False
        self.pages = 0

    def next_page(self) -> Flow[OrderItemPage]:
        while True:
            count, cursor = self.request.limitation.count, self.request.limitation.cursor
            try:
                raw = yield from self.core.exchange(GET_ALL, self.request, shrinkable=count > 1)
            except _TooHeavy as heavy:
                smaller = max(1, count // 2)
                log.warning(
                    "%s: 408 rid=%s; asking again with Count %d instead of %d",
                    GET_ALL,
                    heavy.error.request_id,
                    smaller,
                    count,
                )
                self.request = _with_limitation(self.request, smaller, cursor)
                continue
            page = parse_page(raw)
            self.pages += 1
            if page.cursor is None or not page.order_items:
                self.finished = True
            elif page.cursor == cursor:
                raise InvalidResponse(f"{GET_ALL}: the cursor did not move ({cursor})")
            else:
                self.request = _with_limitation(self.request, count, page.cursor)
            return page


class Walk:
    """Every item of a list of getAll requests, each item once (first answer wins)."""

    def __init__(
        self, core: Core, requests: Sequence[GetAllRequest], *, deduplicate: bool = True
    ) -> None:
        self.core = core
        self.pending = deque(requests)
        self.pager: Pager | None = None
        self.deduplicate = deduplicate
        self.seen: set[uuid.UUID] = set()

    @property
    def finished(self) -> bool:
        return not self.pending and (self.pager is None or self.pager.finished)

    def next_items(self) -> Flow[list[OrderItem]]:
        """The next page's items not seen before (possibly none)."""
        if self.pager is None or self.pager.finished:
            self.pager = Pager(self.core, self.pending.popleft())
        page = yield from self.pager.next_page()
        if not self.deduplicate:
            return page.order_items
        fresh = [item for item in page.order_items if item.id not in self.seen]
        self.seen.update(item.id for item in fresh)
        return fresh


@dataclass(frozen=True, slots=True)
class CancelFailure:
    """A batch the API refused as a whole (cancel is all or nothing per request)."""

    order_item_ids: tuple[uuid.UUID, ...]
    error: ApiError


@dataclass(frozen=True, slots=True)
class CancelResult:
    """Which ids were canceled, and which batches were refused with the API's reason."""

    canceled: list[uuid.UUID]
    failed: list[CancelFailure]

    @property
    def ok(self) -> bool:
        return not self.failed


def _batches(
    core: Core,
    operation: str,
    ids: Sequence[uuid.UUID],
    size: int,
    body: Callable[[tuple[uuid.UUID, ...]], Wire],
) -> Generator[Step, Reply, list[tuple[tuple[uuid.UUID, ...], Any | ApiError]]]:
    """Send ``ids`` in batches of ``size``, halving a batch after a 408, in order.

    400 and 403 are returned per batch (the caller decides); other errors are raised.
    """
    queue = deque(chunked(ids, size))
    answers: list[tuple[tuple[uuid.UUID, ...], Any | ApiError]] = []
    while queue:
        batch = queue.popleft()
        try:
            raw = yield from core.exchange(operation, body(batch), shrinkable=len(batch) > 1)
        except _TooHeavy as heavy:
            half = len(batch) // 2
            log.warning(
                "%s: 408 rid=%s; splitting a batch of %d",
                operation,
                heavy.error.request_id,
                len(batch),
            )
            queue.extendleft([batch[half:], batch[:half]])
            continue
        except (BadRequest, Forbidden) as refused:
            answers.append((batch, refused))
            continue
        answers.append((batch, raw))
    return answers


def cancel_flow(
    core: Core, ids: Sequence[uuid.UUID], enterprise_id: uuid.UUID | None
) -> Flow[CancelResult]:
    answers = yield from _batches(
        core,
        CANCEL,
        ids,
        MAX_CANCEL_IDS,
        lambda batch: CancelRequest(order_item_ids=batch, enterprise_id=enterprise_id),
    )
    result = CancelResult(canceled=[], failed=[])
    for batch, answer in answers:
        if isinstance(answer, ApiError):
            result.failed.append(CancelFailure(batch, answer))
        else:
            result.canceled.extend(batch)
    return result


def get_all_items_flow(
    core: Core,
    reservation_ids: Sequence[uuid.UUID],
    currency: str | None,
    accounting_states: Sequence[str] | None,
) -> Flow[list[ReservationItems]]:
    states = None if accounting_states is None else tuple(accounting_states)
    answers = yield from _batches(
        core,
        GET_ALL_ITEMS,
        reservation_ids,
        MAX_IDS,
        lambda batch: GetAllItemsRequest(
            reservation_ids=batch, currency=currency, accounting_states=states
        ),
    )
    reservations: list[ReservationItems] = []
    for _batch, answer in answers:
        if isinstance(answer, ApiError):
            raise answer
        if answer is not None:
            result = parse(GET_ALL_ITEMS, ReservationItemsResult, answer)
            reservations.extend(result.reservations)
    return reservations
