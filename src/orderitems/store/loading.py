"""Bulk loading of order items: all or nothing, in batches, with a progress callback."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from orderitems.domain.enterprises import Enterprise, Service, ServiceOrder
from orderitems.domain.items import OrderItem
from orderitems.store.engine import refresh_statistics
from orderitems.store.items import insert_items
from orderitems.store.reference import (
    insert_service_orders,
    insert_services,
    upsert_enterprises,
)

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Batch:
    """Items with the reference rows they need that are not stored yet."""

    items: Sequence[OrderItem]
    service_orders: Sequence[ServiceOrder] = ()
    enterprises: Sequence[Enterprise] = ()
    services: Sequence[Service] = field(default_factory=tuple)


def load(engine: Engine, batches: Iterable[Batch], *, on_progress: Progress | None = None) -> int:
    """Write every batch in one transaction: a failed or interrupted load leaves nothing."""
    loaded = 0
    with engine.begin() as connection:
        for batch in batches:
            upsert_enterprises(connection, batch.enterprises)
            insert_services(connection, batch.services)
            insert_service_orders(connection, batch.service_orders)
            count = insert_items(connection, batch.items)
            loaded += count
            if on_progress is not None:
                on_progress(count)
        refresh_statistics(connection)
    return loaded
