"""What ``/readyz`` asks the database: does it answer, is its schema this version's, does the
limiter's table answer. Each is one short statement on a connection the caller times."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from orderitems.store.migrate import MIGRATIONS
from orderitems.store.schema import rate_limit_hits


def ping(connection: Connection) -> None:
    connection.exec_driver_sql("SELECT 1").scalar()


def schema_revision(connection: Connection) -> str | None:
    """The schema revision the database is at; None when it has no schema at all."""
    return MigrationContext.configure(connection).get_current_revision()


def expected_revision() -> str | None:
    """The revision this version of the code needs (the newest migration)."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def limiter_table_answers(connection: Connection) -> None:
    connection.execute(rate_limit_hits.select().limit(1)).first()
