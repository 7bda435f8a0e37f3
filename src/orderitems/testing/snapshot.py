"""The pristine demo database and the fast way back to it between tests.

The demo data is generated once per test session (per pytest-xdist worker) into a pristine
SQLite file that nothing serves. A server gets a copy whose tables carry triggers recording
each row a request inserts, updates or deletes; ``restore`` copies back exactly those rows from
the pristine file (one transaction, with the pristine file attached), and empties the state
file's faults, clock, request log and limiter windows. Cost grows with what a test changed,
not with the size of the data: regenerating 20,000 items (``POST /_sandbox/reset``) takes
seconds, and copying the whole 56 MB file back takes hundreds of milliseconds.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from orderitems.settings import Settings
from orderitems.state.shared import STATE_FILE_SUFFIX, STATE_TABLES
from orderitems.store.engine import connect

#: Rows changed since the last restore: ``row`` is a rowid, or -1 for a whole table (tables
#: without rowid are copied back whole; only the id registry is one, and requests never write it).
TOUCHED = "orderitems_testing_touched"
WHOLE_TABLE = -1
#: Tables the triggers leave alone: the schema's version and the planner's statistics.
UNTRACKED = frozenset({"alembic_version", "sqlite_stat1", TOUCHED})
#: How long a restore waits for a server's write to finish.
BUSY_SECONDS = 10.0


def make_pristine(path: Path, *, items: int, seed: int) -> Path:
    """Generate the demo data (schema, items, tokens, rates) as ``serve --demo`` first does."""
    from orderitems.cli.data import prepare_demo

    settings = Settings(
        database_url=f"sqlite:///{path}", demo=True, demo_items=items, demo_seed=seed
    )
    engine = connect(settings.database_url)
    try:
        prepare_demo(engine, settings)
    finally:
        engine.dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    return path


def _tables(connection: sqlite3.Connection) -> list[tuple[str, bool]]:
    """Each tracked table and whether it has rowids."""
    rows = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return [
        (name, "WITHOUT ROWID" not in sql.upper()) for name, sql in rows if name not in UNTRACKED
    ]


def _track(connection: sqlite3.Connection) -> None:
    connection.execute(
        f"CREATE TABLE IF NOT EXISTS {TOUCHED}"
        " (tbl TEXT NOT NULL, row INTEGER NOT NULL, PRIMARY KEY (tbl, row)) WITHOUT ROWID"
    )
    for table, has_rowid in _tables(connection):
        for event, rows in (("INSERT", ("new",)), ("UPDATE", ("old", "new")), ("DELETE", ("old",))):
            marks = " ".join(
                f"INSERT OR IGNORE INTO {TOUCHED} VALUES ('{table}', "
                f"{f'{row}.rowid' if has_rowid else WHOLE_TABLE});"
                for row in rows
            )
            connection.execute(
                f'CREATE TRIGGER IF NOT EXISTS "{TOUCHED}_{table}_{event.lower()}"'
                f' AFTER {event} ON "{table}" BEGIN {marks} END'
            )


@dataclass(frozen=True)
class DemoCopy:
    """One served copy of a pristine file: the live database, its state file, how to restore."""

    pristine: Path
    live: Path

    @classmethod
    def create(cls, pristine: Path, live: Path) -> DemoCopy:
        shutil.copyfile(pristine, live)
        with sqlite3.connect(live) as connection:
            _track(connection)
        return cls(pristine, live)

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.live}"

    @property
    def state_file(self) -> Path:
        return self.live.with_name(self.live.name + STATE_FILE_SUFFIX)

    def restore(self) -> None:
        """Back to the pristine data and empty sandbox state (see the module's docstring)."""
        self._restore_rows()
        self._clear_state()

    def _restore_rows(self) -> None:
        connection = sqlite3.connect(self.live, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            touched = connection.execute(f"SELECT DISTINCT tbl FROM {TOUCHED}").fetchall()
            if not touched:
                return
            connection.execute("ATTACH DATABASE ? AS pristine", (str(self.pristine),))
            connection.execute("BEGIN IMMEDIATE")
            for (table,) in touched:
                self._restore_table(connection, table)
            connection.execute(f"DELETE FROM {TOUCHED}")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()

    @staticmethod
    def _restore_table(connection: sqlite3.Connection, table: str) -> None:
        columns = ", ".join(
            f'"{row[1]}"' for row in connection.execute(f'PRAGMA main.table_info("{table}")')
        )
        whole = connection.execute(
            f"SELECT 1 FROM {TOUCHED} WHERE tbl = ? AND row = ?", (table, WHOLE_TABLE)
        ).fetchone()
        if whole:
            connection.execute(f'DELETE FROM main."{table}"')
            connection.execute(
                f'INSERT INTO main."{table}" ({columns}) SELECT {columns} FROM pristine."{table}"'
            )
            return
        rows = f"SELECT row FROM {TOUCHED} WHERE tbl = '{table}'"
        connection.execute(f'DELETE FROM main."{table}" WHERE rowid IN ({rows})')
        connection.execute(
            f'INSERT INTO main."{table}" (rowid, {columns})'
            f' SELECT rowid, {columns} FROM pristine."{table}" WHERE rowid IN ({rows})'
        )

    def _clear_state(self) -> None:
        """Faults, clock, request log and windows: every table of the state file."""
        if not self.state_file.exists():
            return
        connection = sqlite3.connect(self.state_file, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            present = {
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            }
            connection.execute("BEGIN IMMEDIATE")
            for table in STATE_TABLES:
                if table.name in present:
                    connection.execute(f'DELETE FROM "{table.name}"')
            connection.execute("COMMIT")
        finally:
            connection.close()
