"""What both bulk writers share: the protocol, the deferred indexes, the paused collector.

A bulk writer keeps the load inside the caller's one transaction, so a failed or interrupted
load leaves nothing. Into an empty items table it drops the secondary indexes first and builds
them once at the end, in the same transaction: sorting every key once is several times faster
than keeping nine indexes in order row by row, and a rollback brings the indexes back as they
were. Into a table that already holds items the indexes stay, so readers keep their plans.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

import sqlalchemy as sa

from orderitems.domain.enterprises import ServiceOrder
from orderitems.domain.items import OrderItem
from orderitems.store.bulk_rows import (
    ITEM_COLUMNS,
    ITEM_ID_COLUMNS,
    SERVICE_ORDER_COLUMNS,
    EncodedItems,
)
from orderitems.store.schema import order_item_ids, order_items, service_orders

assert set(ITEM_COLUMNS) == set(order_items.c.keys()), "every item column is written"
assert set(ITEM_ID_COLUMNS) == set(order_item_ids.c.keys())
assert set(SERVICE_ORDER_COLUMNS) == set(service_orders.c.keys())


class BulkWriter(Protocol):
    """Writes batches into the transaction of the connection it was made for."""

    def start(self) -> None:
        """Prepare the load; drops the secondary indexes when the items table is empty."""

    def write_service_orders(self, orders: Sequence[ServiceOrder]) -> None:
        """Add the orders not stored yet; one stored before is kept as it is."""

    def pause(self) -> None:
        """Let other statements run on the connection (ends a ``COPY`` in progress)."""

    def write_items(self, items: Sequence[OrderItem]) -> int: ...

    def write_encoded(self, encoded: EncodedItems) -> int:
        """Write rows made by this engine's encoder (bulk_rows.py), the items' ids into the
        registry too (item_ids.py); returns how many items."""

    def finish(self) -> None:
        """Build any dropped indexes; a duplicate key surfaces here as an IntegrityError."""

    def abandon(self) -> None:
        """The load failed: end what is in progress, before its transaction rolls back."""

    def release(self) -> None:
        """Undo connection settings of the load, after it committed or rolled back."""


def secondary_indexes() -> list[sa.Index]:
    """The items table's indexes besides its primary key, in a stable order."""
    return sorted(order_items.indexes, key=lambda index: str(index.name))


def drop_secondary_indexes(connection: sa.Connection) -> None:
    for index in secondary_indexes():
        index.drop(connection)


def create_secondary_indexes(connection: sa.Connection) -> None:
    for index in secondary_indexes():
        index.create(connection)


def items_table_is_empty(connection: sa.Connection) -> bool:
    probe = sa.select(sa.literal(1)).select_from(order_items).limit(1)
    return connection.execute(probe).first() is None


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the load.

    A batch keeps tens of thousands of decoded items alive at once, none in a reference cycle;
    the collector would walk all of them again and again, slowing the load down.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
