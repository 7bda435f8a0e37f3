"""The ``orderitems`` command: serve, db, generate, import, export, fetch, tokens, enterprises."""

from __future__ import annotations

import logging
import logging.config
import os
from typing import Annotated

import typer

from orderitems.cli import data, fetch, rates, tokens
from orderitems.cli.common import (
    LOG_LEVEL_KEY,
    DbOption,
    console,
    engine_for,
    settings_from,
)
from orderitems.cli.failures import GuardedGroup
from orderitems.cli.sandbox import app as sandbox_app
from orderitems.store.migrate import current_revision, head_revision, upgrade

app = typer.Typer(
    name="orderitems",
    help="A self-hosted server for the Mews Connector API order-items operations.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    cls=GuardedGroup,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tokens.app, name="tokens")
app.add_typer(rates.app, name="rates")
app.add_typer(sandbox_app, name="sandbox")
app.command("generate")(data.generate)
app.command("import")(data.import_items)
app.command("export")(data.export_items)
app.command("enterprises")(data.list_enterprises_command)
app.command("fetch")(fetch.fetch)


@app.callback()
def root(
    ctx: typer.Context,
    log_level: Annotated[
        str | None,
        typer.Option(
            help="debug prints a failure's full traceback (also ORDERITEMS_LOG_LEVEL=debug)."
        ),
    ] = None,
) -> None:
    """A self-hosted server for the Mews Connector API order-items operations."""
    if log_level is not None:
        ctx.meta[LOG_LEVEL_KEY] = log_level


def logging_config(level: str, log_format: str = "text") -> dict[str, object]:
    """One INFO line per request from ``orderitems``; uvicorn's own access log is off."""
    from orderitems.cli.server import formatter_config

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": formatter_config(log_format),
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
        },
        "loggers": {
            "orderitems": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
        },
    }


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    db: DbOption = None,
    demo: Annotated[
        bool | None,
        typer.Option(
            "--demo/--no-demo",
            help="Accept the public Mews demo tokens; create and fill the database on first run.",
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Server processes.")] = None,
    demo_items: Annotated[
        int | None, typer.Option(help="Items generated on the first --demo run.")
    ] = None,
    development: Annotated[
        bool | None,
        typer.Option("--development/--production", help="Fill error Details (dev mode)."),
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning, error.")] = None,
    sandbox: Annotated[
        bool | None,
        typer.Option(
            "--sandbox/--no-sandbox",
            help="The admin API under /_sandbox/ (faults, clock, request log, reset);"
            " --demo implies it.",
        ),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(help="Keep the rate limiter and sandbox state in this Redis."),
    ] = None,
    with_console: Annotated[
        bool | None,
        typer.Option(
            "--console/--no-console",
            help="The browser console at / outside --demo/--sandbox, read-only;"
            " sandbox and demo mode always have it.",
        ),
    ] = None,
) -> None:
    """Serve the Connector API order-items operations over HTTP."""
    from orderitems.cli import server, serving

    if log_level is not None:
        ctx.meta[LOG_LEVEL_KEY] = log_level
    log_level = ctx.meta.get(LOG_LEVEL_KEY)
    settings = settings_from(
        database_url=db,
        host=host,
        port=port,
        demo=demo,
        workers=workers,
        demo_items=demo_items,
        development=development,
        log_level=log_level,
        sandbox=sandbox,
        redis_url=redis_url,
        console=with_console,
    )
    server.refuse_unsafe_settings(settings)
    config = logging_config(settings.log_level, settings.log_format)
    logging.config.dictConfig(config)
    # Only a demo server creates its database; any other opens an existing, current one,
    # unless told to wait for it (docs/behaviour.md#health-and-shutdown: /readyz says when).
    if settings.demo or not settings.wait_for_database:
        with engine_for(settings, create=settings.demo) as engine:
            if settings.demo:
                data.prepare_demo(engine, settings)
    settings = server.prepare_serving(settings)
    os.environ.update(settings.to_env())
    console.print(
        f"Serving on [bold]http://{settings.host}:{settings.port}/api/connector/v1/[/]"
        f" from {settings.database_url}" + (" (demo mode)" if settings.demo else "")
    )
    if not serving.run(settings, log_config=config):
        raise typer.Exit(serving.STARTUP_FAILURE)


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Create or migrate the schema to the newest revision."""
    settings = settings_from(database_url=db)
    with engine_for(settings, create=True) as engine:
        upgrade(engine)
        console.print(f"Schema at revision {current_revision(engine)} in {settings.database_url}")


@db_app.command("status")
def db_status(db: DbOption = None) -> None:
    """Show the schema revision of the database and the newest one."""
    with engine_for(settings_from(database_url=db), check_schema=False) as engine:
        console.print(f"current: {current_revision(engine)}  head: {head_revision(engine)}")


def main() -> None:
    app()
