"""Bulk loading of order items: all or nothing, in batches, with a progress callback.

The rows go in through the engine's bulk path (``COPY`` on PostgreSQL, a prepared insert on
SQLite, store/bulk*.py), all in one transaction, so a failed or interrupted load leaves
nothing behind, not even a half-written batch. Every item's id goes into the registry of ids
beside it (item_ids.py), so an id stored in any enterprise is refused. A batch holds either
items or rows already encoded by ``item_encoder(engine)`` (an import makes those in worker
processes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from orderitems.domain.enterprises import Enterprise, Service, ServiceOrder
from orderitems.domain.items import OrderItem
from orderitems.store.bulk import BulkWriter, collector_paused
from orderitems.store.bulk_postgres import PostgresWriter
from orderitems.store.bulk_rows import EncodedItems, ItemEncoder
from orderitems.store.bulk_sqlite import SqliteWriter
from orderitems.store.engine import dialect_of, refresh_statistics
from orderitems.store.item_ids import item_id_taken
from orderitems.store.reference import insert_services, upsert_enterprises

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Batch:
    """Items with the reference rows they need that are not stored yet."""

    items: Sequence[OrderItem]
    service_orders: Sequence[ServiceOrder] = ()
    enterprises: Sequence[Enterprise] = ()
    services: Sequence[Service] = field(default_factory=tuple)
    encoded: EncodedItems | None = None


def bulk_writer(connection: Connection) -> BulkWriter:
    return dialect_of(connection).bulk_writer(connection)


def item_encoder(engine: Engine) -> ItemEncoder:
    """The function that makes ``Batch.encoded`` for this engine's writer."""
    return dialect_of(engine).item_encoder


def load(engine: Engine, batches: Iterable[Batch], *, on_progress: Progress | None = None) -> int:
    """Write every batch in one transaction: a failed or interrupted load leaves nothing.

    An item id stored already (in any enterprise) or repeated in the load raises
    ``ItemIdTaken`` (item_ids.py), after the rollback.
    """
    try:
        return _load(engine, batches, on_progress)
    except IntegrityError as exc:
        taken = item_id_taken(exc)
        if taken is None:
            raise
        raise taken from exc


def _load(engine: Engine, batches: Iterable[Batch], on_progress: Progress | None) -> int:
    loaded = 0
    with collector_paused(), engine.connect() as connection:
        writer = bulk_writer(connection)
        try:
            with connection.begin():
                try:
                    writer.start()
                    for batch in batches:
                        if batch.enterprises or batch.services:
                            writer.pause()
                            upsert_enterprises(connection, batch.enterprises)
                            insert_services(connection, batch.services)
                        writer.write_service_orders(batch.service_orders)
                        count = writer.write_items(batch.items)
                        if batch.encoded is not None:
                            count += writer.write_encoded(batch.encoded)
                        loaded += count
                        if on_progress is not None:
                            on_progress(count)
                    writer.finish()
                    refresh_statistics(connection)
                except BaseException:
                    writer.abandon()
                    raise
        finally:
            writer.release()
    tidy_after_load(engine, writer)
    return loaded


def tidy_after_load(engine: Engine, writer: BulkWriter) -> None:
    """Outside the load's transaction: make new rows visible to index-only scans (PostgreSQL
    VACUUM) or fold the load's write-ahead log into the database file (SQLite, when the load
    went through the log rather than the rollback journal)."""
    if isinstance(writer, PostgresWriter):
        if writer.needs_vacuum:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM order_items")
    elif isinstance(writer, SqliteWriter) and writer.through_wal:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
