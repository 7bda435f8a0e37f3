"""Bulk writes into SQLite: one prepared INSERT run by the driver over plain tuples.

SQLAlchemy's ``executemany`` of a table insert builds and processes a dictionary per row
(uuid to bytes through the column type); here a tuple goes straight to ``sqlite3``. The load
takes the write lock at its start (``BEGIN IMMEDIATE``) so it can never fail half-way on a
lock upgrade, and a larger page cache for its duration keeps the primary-key index in memory
while random ids go in.

Into an empty items table, when no other connection has the database open, the load runs
with the rollback journal instead of the write-ahead log, and the database goes back to WAL
after it. Through the log every page of the load was written twice (into the log at commit,
then into the database by the checkpoint), and the commit alone took
longer than all the inserts. The rollback journal only keeps the pages that existed before
the load, a few for an empty table, and the new pages go straight into the file. It is as
atomic: a killed load leaves a hot journal, which the next connection rolls back before it
switches to WAL again (engine.py), leaving the database as it was (tests/store).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from contextlib import suppress

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from orderitems.domain.enterprises import ServiceOrder
from orderitems.domain.items import OrderItem
from orderitems.store.bulk import (
    create_secondary_indexes,
    drop_secondary_indexes,
    items_table_is_empty,
)
from orderitems.store.bulk_rows import (
    ITEM_COLUMNS,
    ITEM_ID_COLUMNS,
    SERVICE_ORDER_COLUMNS,
    EncodedItems,
    Row,
    item_insert_row,
    service_order_insert_row,
    sqlite_rows,
)
from orderitems.store.item_ids import ItemIdTaken

__all__ = ["SqliteWriter", "item_insert_row"]

#: Page cache during a load, in KiB (negative: SQLite's unit for a size rather than pages).
LOAD_CACHE_KIB = 1024 * 1024
#: Journal of a load into an empty table; fully synchronous, as a rollback journal needs to be
#: safe from power loss (WAL's ``synchronous=NORMAL`` is only safe with a log).
LOAD_JOURNAL = "DELETE"


def _insert(table: str, columns: Sequence[str], *, or_ignore: bool = False) -> str:
    marks = ", ".join("?" for _ in columns)
    tail = " ON CONFLICT DO NOTHING" if or_ignore else ""
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){tail}"


_INSERT_ITEM = _insert("order_items", ITEM_COLUMNS)
_INSERT_ITEM_ID = _insert("order_item_ids", ITEM_ID_COLUMNS)
# A later import may add items to a service order stored before: it is kept as it is.
_INSERT_SERVICE_ORDER = _insert("service_orders", SERVICE_ORDER_COLUMNS, or_ignore=True)


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
        self._journal: str | None = None  # the mode to go back to after the load
        self._synchronous = 1

    @property
    def through_wal(self) -> bool:
        """The load went through the write-ahead log, which wants a checkpoint afterwards."""
        return self._journal is None

    def start(self) -> None:
        if not self.raw.in_transaction:
            # sqlite3 opens a transaction only before DML; DDL and reads would run outside it.
            if items_table_is_empty(self.connection):
                self._use_rollback_journal()
            self.raw.execute("BEGIN IMMEDIATE")
        self._cache_size = int(self.raw.execute("PRAGMA cache_size").fetchone()[0])
        self.raw.execute(f"PRAGMA cache_size = -{LOAD_CACHE_KIB}")
        if items_table_is_empty(self.connection):
            drop_secondary_indexes(self.connection)
            self.deferred = True

    def _use_rollback_journal(self) -> None:
        """Leave WAL for the load if no other connection holds the database open (a running
        server does): switching needs the database to itself, and the load would rather go
        through the log than wait for it."""
        mode = str(self.raw.execute("PRAGMA journal_mode").fetchone()[0]).upper()
        if mode != "WAL":
            return
        timeout = int(self.raw.execute("PRAGMA busy_timeout").fetchone()[0])
        self.raw.execute("PRAGMA busy_timeout = 0")
        try:
            switched = self.raw.execute(f"PRAGMA journal_mode = {LOAD_JOURNAL}").fetchone()
        except sqlite3.OperationalError:
            switched = None  # "database is locked": another connection has it open
        finally:
            self.raw.execute(f"PRAGMA busy_timeout = {timeout}")
        if switched is not None and str(switched[0]).upper() == LOAD_JOURNAL:
            self._journal = mode
            self._synchronous = int(self.raw.execute("PRAGMA synchronous").fetchone()[0])
            self.raw.execute("PRAGMA synchronous = FULL")

    def write_service_orders(self, orders: Sequence[ServiceOrder]) -> None:
        if orders:
            rows = [service_order_insert_row(order) for order in orders]
            self.connection.exec_driver_sql(_INSERT_SERVICE_ORDER, rows)

    def pause(self) -> None:
        """Nothing to end: every batch is its own statement."""

    def write_items(self, items: Sequence[OrderItem]) -> int:
        return self.write_encoded(sqlite_rows(items, ())) if items else 0

    def write_encoded(self, encoded: EncodedItems) -> int:
        """Driver-level SQL: the tuples reach ``executemany`` untouched. The ids go into the
        registry before the items, so a repeated id is refused there, by name."""
        if not isinstance(encoded.rows, list) or not isinstance(encoded.ids, list):
            raise TypeError("SqliteWriter writes the rows of bulk_rows.sqlite_rows")
        if encoded.service_orders:
            self.connection.exec_driver_sql(_INSERT_SERVICE_ORDER, encoded.service_orders)
        if encoded.rows:
            self._register(encoded.ids)
            self.connection.exec_driver_sql(_INSERT_ITEM, encoded.rows)
        return encoded.count

    def _register(self, ids: list[Row]) -> None:
        """``executemany`` stops at the first refused row, after inserting those before it:
        the count of changes it made is the refused row's place."""
        before = self.raw.total_changes
        try:
            self.connection.exec_driver_sql(_INSERT_ITEM_ID, ids)
        except IntegrityError as exc:
            refused = ids[self.raw.total_changes - before][0]
            assert isinstance(refused, bytes)
            raise ItemIdTaken(uuid.UUID(bytes=refused)) from exc

    def finish(self) -> None:
        if self.deferred:
            create_secondary_indexes(self.connection)

    def abandon(self) -> None:
        """Nothing in progress: the rollback undoes every insert."""

    def release(self) -> None:
        """Give the pooled connection its usual page cache, journal and synchronous setting
        back, whatever became of the load (after its commit or rollback). A load interrupted
        inside the driver (Ctrl-C) has had its connection closed by SQLAlchemy: nothing to give
        back, and touching it would hide the interrupt behind "closed database"."""
        if self.connection.invalidated:
            return
        if self._cache_size is not None:
            self.raw.execute(f"PRAGMA cache_size = {self._cache_size}")
            self._cache_size = None
        if self._journal is not None:
            self.raw.execute(f"PRAGMA synchronous = {self._synchronous}")
            # Another connection that opened the database meanwhile keeps it from switching;
            # each connection asks for WAL when it opens (engine.py), so the next one will.
            with suppress(sqlite3.OperationalError):
                self.raw.execute(f"PRAGMA journal_mode = {self._journal}")
