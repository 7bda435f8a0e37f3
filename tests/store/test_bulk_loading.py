"""Bulk loads on both databases: all or nothing, the indexes back as declared, the same rows.

Each test gets a database of its own, because a load into an empty items table takes the
fast path (indexes dropped, then built at the end) and the session database is never empty.
"""

from __future__ import annotations

import itertools
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from factories import make_enterprise, make_item
from orderitems.domain.query import ItemQuery, PageRequest
from orderitems.fixtures.generator import demo_services, generate
from orderitems.store import loading
from orderitems.store.bulk import BulkWriter
from orderitems.store.bulk_rows import ITEM_COLUMNS
from orderitems.store.bulk_sqlite import SqliteWriter, item_insert_row
from orderitems.store.engine import connect
from orderitems.store.item_ids import ItemIdTaken
from orderitems.store.items import count_items, item_row, select_page
from orderitems.store.loading import Batch, load
from orderitems.store.migrate import upgrade
from orderitems.store.schema import metadata, order_items, service_orders

ENTERPRISE = make_enterprise()


@pytest.fixture
def fresh_engine(empty_database_url: str) -> Iterator[Engine]:
    """A migrated database of its own: a new SQLite file or a new PostgreSQL schema."""
    engine = connect(empty_database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def generated_batches(count: int, *, seed: int = 7, per_batch: int = 40) -> Iterator[Batch]:
    yield Batch(items=(), enterprises=[ENTERPRISE], services=demo_services([ENTERPRISE]))
    bundles = generate(seed=seed, count=count, enterprises=[ENTERPRISE])
    while chunk := list(itertools.islice(bundles, per_batch)):
        yield Batch(
            items=[i for b in chunk for i in b.items],
            service_orders=[b.service_order for b in chunk],
        )


def index_names(engine: Engine) -> set[str]:
    """From the catalog: SQLAlchemy does not reflect SQLite's indexes on an expression."""
    if engine.dialect.name == "sqlite":
        catalog = (
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'order_items'"
            " AND name NOT LIKE 'sqlite_autoindex%'"
        )
    else:
        catalog = (
            "SELECT indexname FROM pg_indexes WHERE tablename = 'order_items'"
            " AND schemaname = current_schema() AND indexname <> 'pk_order_items'"
        )
    with engine.connect() as connection:
        return set(connection.exec_driver_sql(catalog).scalars())


def row_counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        orders = connection.execute(sa.select(sa.func.count()).select_from(service_orders))
        return count_items(connection), int(orders.scalar_one())


def assert_schema_as_declared(engine: Engine) -> None:
    assert index_names(engine) == {str(index.name) for index in order_items.indexes}
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_a_load_into_an_empty_table_rebuilds_every_index_and_serves_pages(
    fresh_engine: Engine,
) -> None:
    assert load(fresh_engine, generated_batches(500)) == 500
    assert row_counts(fresh_engine)[0] == 500
    assert_schema_as_declared(fresh_engine)
    with fresh_engine.connect() as connection:
        page = select_page(
            connection,
            enterprise_ids=[ENTERPRISE.id],
            query=ItemQuery(service_ids=frozenset(s.id for s in demo_services([ENTERPRISE]))),
            page=PageRequest(count=50),
        )
    assert len(page.documents) == 50


def test_a_batch_that_fails_half_way_leaves_nothing_behind(fresh_engine: Engine) -> None:
    def failing() -> Iterator[Batch]:
        yield from itertools.islice(generated_batches(400), 3)
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError, match="the source broke"):
        load(fresh_engine, failing())
    assert row_counts(fresh_engine) == (0, 0)
    assert_schema_as_declared(fresh_engine)


def test_a_repeated_item_id_fails_the_whole_load_into_an_empty_table(
    fresh_engine: Engine,
) -> None:
    item = make_item(enterprise_id=ENTERPRISE.id)
    batches = [Batch(items=[item], enterprises=[ENTERPRISE]), Batch(items=[item])]
    with pytest.raises(ItemIdTaken) as refused:
        load(fresh_engine, batches)
    assert refused.value.item_id == item.id
    assert row_counts(fresh_engine) == (0, 0)
    assert_schema_as_declared(fresh_engine)


def test_a_failed_load_into_a_table_with_items_keeps_what_was_there_and_loads_later(
    fresh_engine: Engine,
) -> None:
    load(fresh_engine, generated_batches(100))
    before = row_counts(fresh_engine)
    clash = make_item(enterprise_id=ENTERPRISE.id)
    batches = [*list(generated_batches(200, seed=8))[1:], Batch(items=[clash, clash])]
    with pytest.raises(ItemIdTaken) as refused:
        load(fresh_engine, batches)
    assert refused.value.item_id == clash.id
    assert row_counts(fresh_engine) == before
    assert load(fresh_engine, list(generated_batches(50, seed=9))[1:]) == 50
    assert row_counts(fresh_engine)[0] == before[0] + 50
    assert_schema_as_declared(fresh_engine)


def test_bulk_rows_hold_the_same_values_as_the_store_row() -> None:
    items = [i for b in generate(seed=3, count=300, enterprises=[ENTERPRISE]) for i in b.items]
    assert any(i.bill_id is None for i in items)
    assert any(i.closed_utc for i in items)
    for item in items:
        expected = tuple(item_row(item)[c] for c in ITEM_COLUMNS)
        raw = tuple(v.bytes if isinstance(v, uuid.UUID) else v for v in expected)
        assert item_insert_row(item) == raw


def _journal_mode(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.exec_driver_sql("PRAGMA journal_mode").scalar())


def test_a_sqlite_load_into_an_empty_table_leaves_the_database_in_wal_mode(
    tmp_path: object,
) -> None:
    engine = connect(f"sqlite:///{tmp_path}/rollback.db")
    upgrade(engine)
    assert load(engine, generated_batches(300)) == 300
    assert _journal_mode(engine) == "wal"
    assert not Path(f"{tmp_path}/rollback.db-journal").exists()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()


def test_a_sqlite_load_beside_an_open_reader_goes_through_the_log(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running server holds the database open: the load cannot leave WAL, and need not."""
    engine = connect(f"sqlite:///{tmp_path}/shared.db")
    upgrade(engine)
    reader = sqlite3.connect(f"{tmp_path}/shared.db")
    assert reader.execute("select count(*) from order_items").fetchone() == (0,)
    writers: list[BulkWriter] = []
    original = loading.bulk_writer

    def remembered(connection: sa.Connection) -> BulkWriter:
        writers.append(original(connection))
        return writers[-1]

    monkeypatch.setattr(loading, "bulk_writer", remembered)
    assert load(engine, generated_batches(200)) == 200
    assert isinstance(writers[0], SqliteWriter)
    assert writers[0].through_wal
    assert reader.execute("select count(*) from order_items").fetchone() == (200,)
    reader.close()
    assert _journal_mode(engine) == "wal"
    engine.dispose()
