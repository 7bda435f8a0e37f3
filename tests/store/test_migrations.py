"""The Alembic migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from orderitems.store.migrate import head_revision, is_current, upgrade
from orderitems.store.schema import metadata


def test_the_migrated_schema_has_no_drift_from_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_upgrading_a_current_database_again_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    assert is_current(engine)
    assert head_revision(engine) == "0006"
