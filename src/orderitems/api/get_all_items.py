"""``reservations/getAllItems`` (deprecated): a reservation's items in the legacy shapes.

Served from the same stored documents as getAll (docs/behaviour.md#legacy-operation), so for every
reservation it returns exactly the items ``orderItems/getAll`` with ``ServiceOrderIds`` does.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

import msgspec
from sqlalchemy.engine import Connection
from starlette.responses import Response

from orderitems.access.tokens import authenticate
from orderitems.api.call import Call
from orderitems.api.currency import convert_item, load_converter
from orderitems.api.wire import ReservationItemsRequest
from orderitems.domain.errors import InvalidInput
from orderitems.domain.items import AccountingState, OrderItem
from orderitems.domain.legacy import (
    ReservationItemResult,
    ReservationItems,
    to_accounting_item,
    to_order_item_old,
)
from orderitems.store.documents import decode_item
from orderitems.store.reservations import find_reservations, select_reservation_documents

#: ``AccountingStates`` omitted (ReservationItemParameters).
DEFAULT_STATES = frozenset({AccountingState.OPEN, AccountingState.CLOSED})

RETIRED_MESSAGE = (
    "reservations/getAllItems is discontinued. Use orderItems/getAll with ServiceOrderIds"
    " (the reservation ids) instead."
)

_encoder = msgspec.json.Encoder(decimal_format="number")


def build_result(
    connection: Connection, call: Call, request: ReservationItemsRequest
) -> ReservationItemResult:
    principal = authenticate(
        connection,
        client_token=request.client_token,
        access_token=request.access_token,
        allow_demo=call.settings.demo,
    )
    scope = principal.enterprise_ids
    converter = load_converter(connection, request.currency, scope)
    requested = list(dict.fromkeys(request.reservation_ids))
    reservations = find_reservations(connection, scope, requested)
    unknown = [r for r in requested if r not in reservations]
    if unknown:
        raise InvalidInput(
            "Invalid ReservationIds: " + ", ".join(map(str, unknown)) + " not found.",
            field="ReservationIds",
        )
    states = DEFAULT_STATES if request.accounting_states is None else request.accounting_states
    items: dict[uuid.UUID, list[OrderItem]] = defaultdict(list)
    for reservation_id, document in select_reservation_documents(
        connection, list(reservations.values()), frozenset(states)
    ):
        items[reservation_id].append(convert_item(decode_item(document), converter))
    entries = []
    for reservation_id in requested:
        account_id = reservations[reservation_id].account_id
        found = items[reservation_id]
        entries.append(
            ReservationItems(
                reservation_id=reservation_id,
                items=[to_accounting_item(i, fallback_account_id=account_id) for i in found],
                order_items=[to_order_item_old(i, fallback_account_id=account_id) for i in found],
            )
        )
    return ReservationItemResult(reservations=entries)


async def get_all_reservation_items(call: Call) -> Response:
    """``reservations/getAllItems``; 400 pointing to getAll once the operation is retired."""
    if call.settings.get_all_items_retired:
        raise InvalidInput(RETIRED_MESSAGE)
    request = call.decoded.request(ReservationItemsRequest)

    def work(connection: Connection) -> bytes:
        return _encoder.encode(build_result(connection, call, request))

    return Response(await call.run(work), media_type="application/json")
