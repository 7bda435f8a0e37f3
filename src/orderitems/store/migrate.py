"""Schema migrations with Alembic, driven from code so no alembic.ini is needed."""

from __future__ import annotations

import enum
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from orderitems.store.connect_errors import DatabaseProblem, ProblemKind, shown_url
from orderitems.store.schema import metadata

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op when it is already there."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)


class SchemaState(enum.Enum):
    """How a database's schema stands against this version's migrations."""

    CURRENT = "current"
    MISSING = "missing"  # no orderitems schema at all
    OLDER = "older"  # an earlier revision: ``orderitems db upgrade``
    NEWER = "newer"  # a revision this version does not know: the server is older


def schema_state(engine: Engine) -> SchemaState:
    """Is the schema the one this version expects? (start-up, ``/readyz``, every command)."""
    current = current_revision(engine)
    if current is None:
        return SchemaState.MISSING
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    if current == scripts.get_current_head():
        return SchemaState.CURRENT
    known = {script.revision for script in scripts.walk_revisions()}
    return SchemaState.OLDER if current in known else SchemaState.NEWER


def require_current_schema(engine: Engine, url: str) -> None:
    """Stop with what to do unless the schema is this version's (issue 18)."""
    state = schema_state(engine)
    if state is SchemaState.CURRENT:
        return
    upgrade_command = f"orderitems db upgrade --db {shown_url(url)}"
    current, head = current_revision(engine), head_revision(engine)
    message = {
        SchemaState.MISSING: "The database has no orderitems schema; create it with:"
        f" {upgrade_command}",
        SchemaState.OLDER: f"The database schema is older than this version ({current} <"
        f" {head}); migrate it with: {upgrade_command}",
        SchemaState.NEWER: f"The database schema ({current}) is newer than this version of"
        " orderitems knows; upgrade orderitems, or use a server as new as the database.",
    }[state]
    raise DatabaseProblem(ProblemKind.SCHEMA, message)


def clear_all_tables(connection: Connection) -> None:
    """Empty every table the schema declares (the sandbox reset), ids starting over.

    PostgreSQL truncates (its sequences restart, as SQLite's row ids do in an emptied table),
    so regenerated rows get the same ids as the first time.
    """
    tables = list(reversed(metadata.sorted_tables))
    if connection.dialect.name == "postgresql":
        quote = connection.dialect.identifier_preparer.quote
        names = ", ".join(quote(table.name) for table in tables)
        connection.execute(sa.text(f"truncate table {names} restart identity"))
        return
    for table in tables:
        connection.execute(table.delete())
