"""The address book: which path serves which operation (docs/behaviour.md#addressing)."""

from __future__ import annotations

from orderitems.api.call import Operation
from orderitems.api.cancel import cancel_order_items
from orderitems.api.get_all import get_all_order_items
from orderitems.api.get_all_items import get_all_reservation_items

#: Lower-cased paths, since these operations predate Mews' exact-case rule
#: (docs/behaviour.md#addressing).
OPERATIONS: dict[str, tuple[str, Operation]] = {
    "/api/connector/v1/orderitems/getall": (
        "/api/connector/v1/orderItems/getAll",
        get_all_order_items,
    ),
    "/api/connector/v1/orderitems/cancel": (
        "/api/connector/v1/orderItems/cancel",
        cancel_order_items,
    ),
    "/api/connector/v1/reservations/getallitems": (
        "/api/connector/v1/reservations/getAllItems",
        get_all_reservation_items,
    ),
}


def find_operation(path: str, *, strict: bool) -> tuple[str, Operation] | None:
    """The canonical path and handler for ``path``, or None (a 404)."""
    found = OPERATIONS.get(path.lower())
    if found is None or (strict and found[0] != path):
        return None
    return found
