"""What every command shares: settings from env plus flags, the console, the engine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from orderitems.settings import Settings
from orderitems.store.engine import connect

console = Console(stderr=True)

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


def open_engine(settings: Settings) -> Engine:
    """An engine the caller disposes; commands use ``engine_for`` instead."""
    return connect(settings.database_url, pool_size=settings.db_pool_size)


@contextmanager
def engine_for(settings: Settings) -> Iterator[Engine]:
    """An engine disposed when the command ends, however it ends (no connection outlives it)."""
    engine = open_engine(settings)
    try:
        yield engine
    finally:
        engine.dispose()
