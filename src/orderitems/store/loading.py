"""Bulk loading of order items: all or nothing, in batches, with a progress callback.

The rows go in through the engine's bulk path (``COPY`` on PostgreSQL, a prepared insert on
SQLite, store/bulk*.py), all in one transaction, so a failed or interrupted load leaves
nothing behind, not even a half-written batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection, Engine

from orderitems.domain.enterprises import Enterprise, Service, ServiceOrder
from orderitems.domain.items import OrderItem
from orderitems.store.bulk import BulkWriter, collector_paused
from orderitems.store.bulk_postgres import PostgresWriter
from orderitems.store.bulk_sqlite import SqliteWriter
from orderitems.store.engine import is_sqlite, refresh_statistics
from orderitems.store.reference import insert_services, upsert_enterprises

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Batch:
    """Items with the reference rows they need that are not stored yet."""

    items: Sequence[OrderItem]
    service_orders: Sequence[ServiceOrder] = ()
    enterprises: Sequence[Enterprise] = ()
    services: Sequence[Service] = field(default_factory=tuple)


def bulk_writer(connection: Connection) -> BulkWriter:
    return SqliteWriter(connection) if is_sqlite(connection.engine) else PostgresWriter(connection)


def load(engine: Engine, batches: Iterable[Batch], *, on_progress: Progress | None = None) -> int:
    """Write every batch in one transaction: a failed or interrupted load leaves nothing."""
    loaded = 0
    with collector_paused(), engine.begin() as connection:
        writer = bulk_writer(connection)
        try:
            writer.start()
            for batch in batches:
                if batch.enterprises or batch.services:
                    writer.pause()
                    upsert_enterprises(connection, batch.enterprises)
                    insert_services(connection, batch.services)
                writer.write_service_orders(batch.service_orders)
                count = writer.write_items(batch.items)
                loaded += count
                if on_progress is not None:
                    on_progress(count)
            writer.finish()
            refresh_statistics(connection)
        finally:
            writer.release()
    tidy_after_load(engine, writer)
    return loaded


def tidy_after_load(engine: Engine, writer: BulkWriter) -> None:
    """Outside the load's transaction: make new rows visible to index-only scans (PostgreSQL
    VACUUM) or fold the load's write-ahead log into the database file (SQLite)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if isinstance(writer, PostgresWriter):
            if writer.needs_vacuum:
                connection.exec_driver_sql("VACUUM order_items")
        else:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
