"""Reservations and their items, for the deprecated ``reservations/getAllItems``.

A reservation is a service order of kind Reservation; its id is its items' ``ServiceOrderId``
(docs/legacy-mapping.md#which-items), so its items come from the same index getAll's
``ServiceOrderIds`` filter walks, in the same (CreatedUtc desc, Id desc) order.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderitems.domain.enterprises import ServiceOrderKind
from orderitems.domain.items import AccountingState
from orderitems.store.schema import order_items, service_orders


@dataclass(frozen=True, slots=True)
class Reservation:
    id: uuid.UUID
    enterprise_id: uuid.UUID
    account_id: uuid.UUID | None


def find_reservations(
    connection: Connection, enterprise_ids: Sequence[uuid.UUID], ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Reservation]:
    """The reservations among ``ids`` inside these enterprises; others are as if unknown."""
    rows = connection.execute(
        sa.select(
            service_orders.c.id, service_orders.c.enterprise_id, service_orders.c.account_id
        ).where(
            service_orders.c.enterprise_id.in_(enterprise_ids),
            service_orders.c.id.in_(sorted(set(ids))),
            service_orders.c.kind == ServiceOrderKind.RESERVATION.value,
        )
    )
    return {row.id: Reservation(row.id, row.enterprise_id, row.account_id) for row in rows}


def select_reservation_documents(
    connection: Connection,
    reservations: Collection[Reservation],
    states: Collection[AccountingState],
) -> list[tuple[uuid.UUID, bytes]]:
    """(reservation id, item document) for every item of these reservations in ``states``,
    newest first within each reservation."""
    if not reservations:
        return []
    t = order_items
    rows = connection.execute(
        sa.select(t.c.service_order_id, t.c.document)
        .where(
            t.c.enterprise_id.in_(sorted({r.enterprise_id for r in reservations})),
            t.c.service_order_id.in_(sorted(r.id for r in reservations)),
            t.c.accounting_state.in_(sorted(s.value for s in states)),
        )
        .order_by(t.c.created_us.desc(), t.c.id.desc())
    )
    return [(row.service_order_id, row.document) for row in rows]
