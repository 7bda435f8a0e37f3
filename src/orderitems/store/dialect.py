"""What differs between SQLite and PostgreSQL, as one object per database.

The store's modules ask the connection's ``Dialect`` (store/engine.py ``dialect_of``) instead
of checking which database they run on: how a page is written (store/page_sql.py), how the
request path's statements are run and a write transaction begins (store/driver.py), how a
running statement is stopped (store/interrupt.py), how a bulk load writes, and how the
planner's statistics are refreshed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from orderitems.store.bulk import BulkWriter
from orderitems.store.bulk_postgres import PostgresWriter
from orderitems.store.bulk_rows import ItemEncoder, copy_rows, sqlite_rows
from orderitems.store.bulk_sqlite import SqliteWriter
from orderitems.store.driver import (
    fetch_postgres_rows,
    fetch_sqlite_rows,
    postgres_write_transaction,
    sqlite_write_transaction,
)
from orderitems.store.interrupt import (
    postgres_canceller,
    postgres_occupy,
    sqlite_canceller,
    sqlite_occupy,
)
from orderitems.store.page_sql import PageRenderer, PostgresRenderer, SqliteRenderer


class RowFetcher(Protocol):
    def __call__(
        self, connection: Connection, text: str, values: Sequence[Any], *, prepare: bool = True
    ) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    #: Writes page and cursor-position statements in this driver's SQL.
    pages: PageRenderer
    #: Runs a statement on the driver's own cursor (store/driver.py).
    fetch_rows: RowFetcher
    #: The page statement finds the cursor's position itself: PostgreSQL is a round trip
    #: away, while SQLite answers a separate lookup in microseconds, in process.
    cursor_in_page: bool
    #: Refreshes the planner's statistics after a bulk load.
    analyze: str
    bulk_writer: Callable[[Connection], BulkWriter]
    #: Makes a bulk load's encoded rows (in import worker processes too).
    item_encoder: ItemEncoder
    #: A transaction for a read-then-write (cancel), holding what makes it safe from the start.
    write_transaction: Callable[[Connection], AbstractContextManager[None]]
    #: A function, safe from any thread, that stops the connection's running statement.
    canceller: Callable[[Connection], Callable[[], None]]
    #: Spends seconds inside one statement (the sandbox's slow-query fault).
    occupy: Callable[[Connection, float], None]

    def read_uuid(self, value: Any) -> uuid.UUID:
        """An id as the driver returns it (SQLite: 16 bytes)."""
        return self.pages.read_uuid(value)


SQLITE = Dialect(
    name="sqlite",
    pages=SqliteRenderer(),
    fetch_rows=fetch_sqlite_rows,
    cursor_in_page=False,
    analyze="ANALYZE",
    bulk_writer=SqliteWriter,
    item_encoder=sqlite_rows,
    write_transaction=sqlite_write_transaction,
    canceller=sqlite_canceller,
    occupy=sqlite_occupy,
)
POSTGRESQL = Dialect(
    name="postgresql",
    pages=PostgresRenderer(),
    fetch_rows=fetch_postgres_rows,
    cursor_in_page=True,
    analyze="ANALYZE order_items",
    bulk_writer=PostgresWriter,
    item_encoder=copy_rows,
    write_transaction=postgres_write_transaction,
    canceller=postgres_canceller,
    occupy=postgres_occupy,
)
