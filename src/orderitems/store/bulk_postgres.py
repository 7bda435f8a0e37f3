"""Bulk writes into PostgreSQL with binary ``COPY``, inside the caller's transaction.

Into an empty items table the load truncates it (it is empty, so nothing is lost, but the
truncation lets ``COPY ... FREEZE`` write rows already frozen and their pages already marked
all-visible: the covering indexes then answer index-only from the first query, with no
VACUUM) and drops every index, the primary key included, to build them once at the end.
That holds an ACCESS EXCLUSIVE lock on the empty table until the load commits. Otherwise rows
go through the live indexes and the caller runs VACUUM afterwards (``needs_vacuum``).

Rows arrive packed in ``COPY``'s binary format (bulk_rows.py), possibly by worker processes,
and are passed on as bytes. One ``COPY`` runs at a time on a connection, so the items' ids for
the registry (item_ids.py, 42 bytes each) and the service orders are kept and written while
the items' ``COPY`` pauses, every ``IDS_PER_FLUSH`` items: one more ``COPY`` per that many
items. Service orders go through a staging table, so that one stored before is kept as it is
(``COPY`` cannot skip a row whose key exists) and a later import can add items to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from typing import cast

import psycopg
import sqlalchemy as sa
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.engine import Connection
from sqlalchemy.schema import AddConstraint, DropConstraint

from orderitems.domain.enterprises import ServiceOrder
from orderitems.domain.items import OrderItem
from orderitems.store.bulk import (
    create_secondary_indexes,
    drop_secondary_indexes,
    items_table_is_empty,
)
from orderitems.store.bulk_rows import (
    COPY_HEADER,
    COPY_TRAILER,
    ITEM_COLUMNS,
    ITEM_ID_COLUMNS,
    SERVICE_ORDER_COLUMNS,
    EncodedItems,
    copy_rows,
    service_order_copy_bytes,
)
from orderitems.store.schema import order_item_ids, order_items

#: Service orders kept before the items' ``COPY`` pauses to write them.
ORDERS_PER_FLUSH = 50_000
#: Items whose registry rows are kept before the items' ``COPY`` pauses to write them (8 MB).
IDS_PER_FLUSH = 200_000
_ID_ROW_BYTES = 42
#: Where a load's service orders wait to be added unless stored (dropped at commit).
ORDERS_STAGING = "service_orders_loading"
#: Memory for each index build at the end of a load into an empty table (sorts in memory).
INDEX_BUILD_MEMORY = "1GB"

__all__ = ["PostgresWriter"]


def _copy_statement(table: str, columns: Sequence[str], *, freeze: bool) -> str:
    options = "FORMAT BINARY, FREEZE" if freeze else "FORMAT BINARY"
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN ({options})"


@contextmanager
def _as_sqlalchemy_errors(statement: str) -> Iterator[None]:
    """Driver errors from ``COPY`` as SQLAlchemy raises them for every other statement, so
    callers catch one ``IntegrityError`` whichever path wrote the row."""
    try:
        yield
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


class _OpenCopy:
    """One ``COPY`` kept open across batches, its rows handed to libpq by a writer thread, so
    the server takes in one batch while the client makes the rows of the next; a ``COPY`` per
    batch would make each side wait for the other at every batch's end."""

    def __init__(self, raw: psycopg.Connection[object], statement: str) -> None:
        self.statement = statement
        self._stack = ExitStack()
        cursor = self._stack.enter_context(raw.cursor())
        writer = QueuedLibpqWriter(cursor)
        self.copy = self._stack.enter_context(cursor.copy(statement, writer=writer))
        self.copy.write(COPY_HEADER)

    def close(self) -> None:
        """End the ``COPY``: the server has every row once this returns."""
        with _as_sqlalchemy_errors(self.statement):
            self.copy.write(COPY_TRAILER)
            self._stack.close()

    def abort(self) -> None:
        """Fail the ``COPY`` on the server (the load's transaction is being rolled back)."""
        failure = RuntimeError("the load was abandoned")
        with suppress(psycopg.Error):
            self._stack.__exit__(RuntimeError, failure, None)


def _is_empty(connection: Connection, table: str) -> bool:
    return connection.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is None


class PostgresWriter:
    """One load's ``COPY`` statements on the caller's connection and transaction."""

    def __init__(self, connection: Connection) -> None:
        raw = connection.connection.driver_connection
        if not isinstance(raw, psycopg.Connection):
            raise TypeError("PostgresWriter needs a psycopg 3 connection")
        self.connection = connection
        self.raw: psycopg.Connection[object] = raw
        self.deferred = False
        self._ids_deferred = False
        self._items: _OpenCopy | None = None
        self._orders: list[bytes] = []  # binary COPY rows
        self._ids: list[bytes] = []  # registry rows, a buffer per batch
        self._ids_bytes = 0
        self._staging = False

    @property
    def needs_vacuum(self) -> bool:
        """Rows written through live indexes are not yet all-visible for index-only scans."""
        return not self.deferred

    def start(self) -> None:
        if not items_table_is_empty(self.connection):
            return
        self.connection.exec_driver_sql("LOCK TABLE order_items IN ACCESS EXCLUSIVE MODE")
        if not items_table_is_empty(self.connection):
            return  # someone loaded items between the look and the lock
        self.connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
        self.connection.exec_driver_sql("TRUNCATE order_items")
        drop_secondary_indexes(self.connection)
        self.connection.execute(DropConstraint(order_items.primary_key))
        self.deferred = True
        self.connection.exec_driver_sql("LOCK TABLE order_item_ids IN ACCESS EXCLUSIVE MODE")
        if _is_empty(self.connection, "order_item_ids"):
            # Empty with the items; its key, too, is built once at the end.
            self.connection.execute(DropConstraint(order_item_ids.primary_key))
            self._ids_deferred = True

    def write_service_orders(self, orders: Sequence[ServiceOrder]) -> None:
        """Kept until the items' ``COPY`` pauses (nothing refers to a service order)."""
        self._keep_orders([service_order_copy_bytes(order) for order in orders])

    def _keep_orders(self, rows: list[bytes]) -> None:
        self._orders.extend(rows)
        if len(self._orders) >= ORDERS_PER_FLUSH:
            self.pause()

    def write_items(self, items: Sequence[OrderItem]) -> int:
        return self.write_encoded(copy_rows(items, ())) if items else 0

    def write_encoded(self, encoded: EncodedItems) -> int:
        if not isinstance(encoded.rows, bytes):
            raise TypeError("PostgresWriter writes the rows of bulk_rows.copy_rows")
        self._keep_orders(cast(list[bytes], encoded.service_orders))
        if not encoded.count:
            return 0
        if not isinstance(encoded.ids, bytes):
            raise TypeError("PostgresWriter writes the rows of bulk_rows.copy_rows")
        self._ids.append(encoded.ids)
        self._ids_bytes += len(encoded.ids)
        if self._items is None:
            statement = _copy_statement("order_items", ITEM_COLUMNS, freeze=self.deferred)
            self._items = _OpenCopy(self.raw, statement)
        with _as_sqlalchemy_errors(self._items.statement):
            self._items.copy.write(encoded.rows)
        if self._ids_bytes >= IDS_PER_FLUSH * _ID_ROW_BYTES:
            self.pause()
        return encoded.count

    def pause(self) -> None:
        """End the items' ``COPY``; write the registry rows and service orders kept so far."""
        if self._items is not None:
            items, self._items = self._items, None
            items.close()
        if self._ids:
            ids, self._ids, self._ids_bytes = self._ids, [], 0
            self._copy("order_item_ids", ITEM_ID_COLUMNS, ids)
        if self._orders:
            orders, self._orders = self._orders, []
            self._add_orders(orders)

    def _copy(self, table: str, columns: Sequence[str], rows: list[bytes]) -> None:
        statement = _copy_statement(table, columns, freeze=False)
        with _as_sqlalchemy_errors(statement), self.raw.cursor().copy(statement) as copy:
            copy.write(b"".join([COPY_HEADER, *rows, COPY_TRAILER]))

    def _add_orders(self, rows: list[bytes]) -> None:
        """Into the staging table, then those not stored yet into ``service_orders``."""
        columns = ", ".join(SERVICE_ORDER_COLUMNS)
        if not self._staging:
            self.connection.exec_driver_sql(
                f"CREATE TEMPORARY TABLE {ORDERS_STAGING} (LIKE service_orders) ON COMMIT DROP"
            )
            self._staging = True
        self._copy(ORDERS_STAGING, SERVICE_ORDER_COLUMNS, rows)
        self.connection.exec_driver_sql(
            f"INSERT INTO service_orders ({columns}) SELECT {columns} FROM {ORDERS_STAGING}"
            " ON CONFLICT DO NOTHING"
        )
        self.connection.exec_driver_sql(f"TRUNCATE {ORDERS_STAGING}")

    def finish(self) -> None:
        self.pause()
        if self._ids_deferred:
            # Before the items' key: a repeated id is then refused by the registry, by id.
            self.connection.execute(AddConstraint(order_item_ids.primary_key))
        if not self.deferred:
            return
        self.connection.execute(AddConstraint(order_items.primary_key))
        create_secondary_indexes(self.connection)

    def abandon(self) -> None:
        """Fail a ``COPY`` still open, so that the rollback can run on the connection."""
        if self._items is not None:
            items, self._items = self._items, None
            items.abort()

    def release(self) -> None:
        """Nothing to undo: every setting of the load was ``SET LOCAL``."""
