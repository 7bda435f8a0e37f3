"""What every command shares: settings from env plus flags, the console, the engine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from orderitems.settings import Settings
from orderitems.store.connect_errors import check_url, problem_for
from orderitems.store.engine import connect
from orderitems.store.migrate import SchemaState, require_current_schema, schema_state

console = Console(stderr=True)

#: Where ``--log-level`` is kept for the failure report (cli/failures.py).
LOG_LEVEL_KEY = "orderitems.log_level"

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL: sqlite:///path.db or postgresql://host/db"
        " (default: $ORDERITEMS_DATABASE_URL or sqlite:///orderitems.db).",
    ),
]


def settings_from(**flags: Any) -> Settings:
    """Environment first, then the flags that were given."""
    try:
        return Settings.from_env(os.environ, **flags)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def debugging(ctx: typer.Context) -> bool:
    """``--log-level debug`` (before the command, or ``serve``'s) or
    ``ORDERITEMS_LOG_LEVEL=debug``: a failure prints its traceback."""
    level = ctx.meta.get(LOG_LEVEL_KEY) or os.environ.get("ORDERITEMS_LOG_LEVEL", "")
    return str(level).lower() == "debug"


def open_engine(settings: Settings) -> Engine:
    """An engine the caller disposes; commands use ``engine_for`` instead."""
    return connect(settings.database_url, pool_size=settings.db_pool_size)


def refuse_newer_schema(engine: Engine, url: str) -> None:
    """A command that migrates may start from no schema or an older one, never a newer one."""
    if schema_state(engine) is SchemaState.NEWER:
        require_current_schema(engine, url)


@contextmanager
def engine_for(
    settings: Settings, *, create: bool = False, check_schema: bool = True
) -> Iterator[Engine]:
    """An engine disposed when the command ends, however it ends (no connection outlives it).

    ``create``: the command migrates the schema itself and may create a SQLite file; other
    commands need an existing database at this version's schema (``check_schema``). A driver
    error that names a database mistake becomes a ``DatabaseProblem`` (cli/failures.py).
    """
    url = settings.database_url
    check_url(url, create=create)
    engine = open_engine(settings)
    try:
        if create:
            refuse_newer_schema(engine, url)
        elif check_schema:
            require_current_schema(engine, url)
        yield engine
    except sa.exc.DBAPIError as exc:
        problem = problem_for(exc, url)
        if problem is None:
            raise
        raise problem from exc
    finally:
        engine.dispose()
