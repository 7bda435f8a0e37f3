"""Bulk writes into SQLite: one prepared INSERT run by the driver over plain tuples.

SQLAlchemy's ``executemany`` of a table insert builds and processes a dictionary per row
(uuid to bytes through the column type); here a tuple goes straight to ``sqlite3``. The load
takes the write lock at its start (``BEGIN IMMEDIATE``) so it can never fail half-way on a
lock upgrade, and a larger page cache for its duration keeps the primary-key index in memory
while random ids go in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from orderitems.domain.enterprises import ServiceOrder
from orderitems.domain.items import OrderItem
from orderitems.store.bulk import (
    ITEM_COLUMNS,
    SERVICE_ORDER_COLUMNS,
    create_secondary_indexes,
    drop_secondary_indexes,
    items_table_is_empty,
)
from orderitems.store.documents import encode_item, to_micros

#: Page cache during a load, in KiB (negative: SQLite's unit for a size rather than pages).
LOAD_CACHE_KIB = 1024 * 1024


def _insert(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


_INSERT_ITEM = _insert("order_items", ITEM_COLUMNS)
_INSERT_SERVICE_ORDER = _insert("service_orders", SERVICE_ORDER_COLUMNS)


def item_insert_row(item: OrderItem) -> tuple[object, ...]:
    """An item in ``ITEM_COLUMNS`` order as SQLite stores it (uuids as 16 raw bytes)."""
    account = item.account_id
    bill = item.bill_id
    canceled = item.canceled_utc
    closed = item.closed_utc
    return (
        item.enterprise_id.bytes,
        item.id.bytes,
        None if account is None else account.bytes,
        item.service_id.bytes,
        item.service_order_id.bytes,
        None if bill is None else bill.bytes,
        to_micros(item.created_utc),
        to_micros(item.updated_utc),
        to_micros(item.consumed_utc),
        None if canceled is None else to_micros(canceled),
        None if closed is None else to_micros(closed),
        item.accounting_state.value,
        item.type.value,
        encode_item(item),
    )


def service_order_insert_row(order: ServiceOrder) -> tuple[object, ...]:
    return (
        order.enterprise_id.bytes,
        order.id.bytes,
        order.service_id.bytes,
        order.kind.value,
        None if order.account_id is None else order.account_id.bytes,
        None if order.start_utc is None else to_micros(order.start_utc),
        None if order.end_utc is None else to_micros(order.end_utc),
    )


class SqliteWriter:
    """One load's inserts on the caller's connection and transaction."""

    def __init__(self, connection: Connection) -> None:
        raw = connection.connection.driver_connection
        if not isinstance(raw, sqlite3.Connection):
            raise TypeError("SqliteWriter needs a sqlite3 connection")
        self.connection = connection
        self.raw = raw
        self.deferred = False
        self._cache_size: int | None = None

    def start(self) -> None:
        if not self.raw.in_transaction:
            # sqlite3 opens a transaction only before DML; DDL and reads would run outside it.
            self.raw.execute("BEGIN IMMEDIATE")
        self._cache_size = int(self.raw.execute("PRAGMA cache_size").fetchone()[0])
        self.raw.execute(f"PRAGMA cache_size = -{LOAD_CACHE_KIB}")
        if items_table_is_empty(self.connection):
            drop_secondary_indexes(self.connection)
            self.deferred = True

    def write_service_orders(self, orders: Sequence[ServiceOrder]) -> None:
        if orders:
            rows = [service_order_insert_row(order) for order in orders]
            self.connection.exec_driver_sql(_INSERT_SERVICE_ORDER, rows)

    def pause(self) -> None:
        """Nothing to end: every batch is its own statement."""

    def write_items(self, items: Sequence[OrderItem]) -> int:
        """Driver-level SQL: the tuples reach ``executemany`` untouched, and errors still
        arrive as SQLAlchemy's (an ``IntegrityError`` for a repeated id)."""
        if items:
            self.connection.exec_driver_sql(_INSERT_ITEM, [item_insert_row(i) for i in items])
        return len(items)

    def finish(self) -> None:
        if self.deferred:
            create_secondary_indexes(self.connection)

    def release(self) -> None:
        """Give the pooled connection its usual page cache back, whatever became of the load."""
        if self._cache_size is not None:
            self.raw.execute(f"PRAGMA cache_size = {self._cache_size}")
            self._cache_size = None
