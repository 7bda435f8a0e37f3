"""Batch flows: ``orderItems/cancel`` by 10 and ``reservations/getAllItems`` by 1000."""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from orderitems.client.errors import ApiError, BadRequest, Forbidden
from orderitems.client.flow import (
    CANCEL,
    GET_ALL_ITEMS,
    Core,
    Flow,
    Reply,
    Step,
    TooHeavy,
    parse,
)
from orderitems.client.models import ReservationItems, ReservationItemsResult
from orderitems.client.queries import (
    MAX_CANCEL_IDS,
    MAX_IDS,
    CancelRequest,
    GetAllItemsRequest,
    Wire,
    chunked,
)

log = logging.getLogger(__name__)


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
        except TooHeavy as heavy:
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
