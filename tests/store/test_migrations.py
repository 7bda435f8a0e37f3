"""The Alembic migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from factories import make_item
from orderitems.domain.items import OrderItem
from orderitems.store.connect_errors import DatabaseProblem
from orderitems.store.engine import connect
from orderitems.store.items import item_row
from orderitems.store.migrate import current_revision, head_revision, is_current, upgrade
from orderitems.store.schema import metadata, order_item_ids, order_items


def test_the_migrated_schema_has_no_drift_from_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_upgrading_a_current_database_again_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    assert is_current(engine)
    assert head_revision(engine) == "0007"


@pytest.fixture
def at_0006(empty_database_url: str) -> Iterator[Engine]:
    """A database of its own at the revision before the registry of item ids."""
    engine = connect(empty_database_url)
    upgrade(engine, "0006")
    yield engine
    engine.dispose()


def _store_without_registry(engine: Engine, items: list[OrderItem]) -> None:
    with engine.begin() as connection:
        connection.execute(order_items.insert(), [item_row(item) for item in items])


def test_0007_registers_the_ids_of_the_items_stored_before(at_0006: Engine) -> None:
    items = [make_item(enterprise_id=e) for e in (uuid.uuid4(), uuid.uuid4()) for _ in range(3)]
    _store_without_registry(at_0006, items)
    upgrade(at_0006)
    with at_0006.connect() as connection:
        rows = connection.execute(sa.select(order_item_ids.c.id, order_item_ids.c.enterprise_id))
        assert set(rows) == {(item.id, item.enterprise_id) for item in items}


def test_0007_stops_on_an_id_stored_in_two_enterprises_and_changes_nothing(
    at_0006: Engine,
) -> None:
    """Such a ledger is what the registry exists to prevent; a person decides which to keep."""
    item = make_item(enterprise_id=uuid.uuid4())
    twin = make_item(enterprise_id=uuid.uuid4(), id=item.id)
    _store_without_registry(at_0006, [item, twin, make_item(enterprise_id=item.enterprise_id)])
    with pytest.raises(DatabaseProblem, match=str(item.id)):
        upgrade(at_0006)
    assert current_revision(at_0006) == "0006"
    with at_0006.connect() as connection:
        assert not sa.inspect(connection).has_table("order_item_ids")
