"""The address book: which path serves which operation (docs/behaviour.md#addressing)."""

from __future__ import annotations

from typing import NamedTuple

from orderitems.api.call import Operation
from orderitems.api.cancel import cancel_order_items
from orderitems.api.get_all import get_all_order_items
from orderitems.api.get_all_items import get_all_reservation_items
from orderitems.api.wire import GET_ALL_REQUEST, CancelRequest, ReservationItemsRequest, Wire


class Route(NamedTuple):
    """An operation's canonical path, its handler, and the body the dispatcher decodes for it
    once (docs/behaviour.md#envelope)."""

    path: str
    operation: Operation
    request_type: type[Wire]


#: Lower-cased paths, since these operations predate Mews' exact-case rule
#: (docs/behaviour.md#addressing).
OPERATIONS: dict[str, Route] = {
    "/api/connector/v1/orderitems/getall": Route(
        "/api/connector/v1/orderItems/getAll", get_all_order_items, GET_ALL_REQUEST
    ),
    "/api/connector/v1/orderitems/cancel": Route(
        "/api/connector/v1/orderItems/cancel", cancel_order_items, CancelRequest
    ),
    "/api/connector/v1/reservations/getallitems": Route(
        "/api/connector/v1/reservations/getAllItems",
        get_all_reservation_items,
        ReservationItemsRequest,
    ),
}


def find_operation(path: str, *, strict: bool) -> Route | None:
    """The route of ``path``, or None (a 404)."""
    found = OPERATIONS.get(path.lower())
    if found is None or (strict and found.path != path):
        return None
    return found
