"""Composing the server for ``orderitems serve``: worker factory, log formats, shared setup.

Each uvicorn worker process calls ``create_app_from_environ``; it is here, not in ``api``,
because the sandbox reset regenerates the demo data the way the CLI first made it
(``data.prepare_demo``), and only the CLI layer may know both.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import tempfile
from datetime import UTC, datetime

import typer
from rich.markup import escape
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from orderitems.access.admin_token import DEMO_ADMIN_TOKEN, serving_admin_token
from orderitems.api.admin import PREFIX
from orderitems.api.app import create_app
from orderitems.api.metrics_listener import check_metrics_address
from orderitems.cli import data
from orderitems.cli.common import console
from orderitems.settings import Settings
from orderitems.state.shared import state_file

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
#: Access-log fields already in the message itself.
_IN_MESSAGE = {"request_id", "method", "path", "status", "latency_ms"}


def create_app_from_environ() -> Starlette:
    """Factory for server worker processes: settings come from ``ORDERITEMS_*`` variables."""
    settings = Settings.from_env(os.environ)

    def rebuild_demo(engine: Engine) -> None:
        data.prepare_demo(engine, settings)

    # Only a demo server has demo data to go back to (and accepts the demo tokens it holds).
    return create_app(
        settings,
        rebuild_demo=rebuild_demo if settings.demo else None,
        metrics_dir=os.environ.get(MULTIPROC_VARIABLE) or None,
    )


def refuse_unsafe_settings(settings: Settings) -> None:
    """A weak admin token on a non-loopback bind, or a malformed metrics address, stops
    ``serve`` before any work, with what to do instead (docs/behaviour.md#admin-token)."""
    try:
        serving_admin_token(settings)
        if settings.metrics and settings.metrics_address:
            check_metrics_address(settings.metrics_address)
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None


def prepare_serving(settings: Settings) -> Settings:
    """Before the workers start: the admin token they share and where their metrics meet."""
    refuse_unsafe_settings(settings)
    serving = serving_admin_token(settings)
    settings = serving.settings
    if settings.workers > 1 and settings.metrics and not os.environ.get(MULTIPROC_VARIABLE):
        directory = tempfile.mkdtemp(prefix="orderitems-metrics-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        os.environ[MULTIPROC_VARIABLE] = directory
    print_admin_access(settings, serving.generated)
    beside = state_file(settings.database_url)
    store = "Redis" if settings.redis_url else str(beside) if beside else "the database"
    limit = (
        f"{settings.rate_limit_requests} requests per AccessToken per"
        f" {settings.rate_limit_window_seconds:g} s"
        if settings.rate_limit
        else "off"
    )
    console.print(
        f"Rate limit {limit}; deadline {settings.deadline_seconds:g} s; shared state in {store}"
    )
    return settings


def print_admin_access(settings: Settings, generated: str | None) -> None:
    """Where the admin API and the metrics are; a made-up admin token is printed here, once,
    and a token the user set never is."""
    if generated is not None:
        token = f"[bold]Authorization: Bearer {generated}[/] (made up at start, shown once;"
        token += " ORDERITEMS_ADMIN_TOKEN sets one)"
    elif settings.admin_token:
        token = "the token in ORDERITEMS_ADMIN_TOKEN"
    else:
        token = f"[bold]Authorization: Bearer {DEMO_ADMIN_TOKEN}[/] (the demo default)"
    base = f"http://{settings.host}:{settings.port}"
    # The console outside sandbox mode is the admin API read-only: it needs the token too.
    if settings.sandbox or settings.demo or settings.console:
        console.print(f"Sandbox admin API on [bold]{base}{PREFIX}/[/] with {token}", soft_wrap=True)
        token = "the same token"
        read_only = "" if settings.sandbox or settings.demo else " (read-only)"
        console.print(
            f"Console{read_only} at [bold]{base}/[/] (sign in with the admin token)",
            soft_wrap=True,
        )
    if settings.metrics and settings.metrics_address:
        console.print(f"Metrics on [bold]http://{settings.metrics_address}/metrics[/] (no token)")
    elif settings.metrics:
        console.print(f"Metrics on [bold]{base}/metrics[/] with {token}", soft_wrap=True)


def _logfmt(value: object) -> str:
    text = str(value)
    return json.dumps(text) if any(c in text for c in ' "=') else text


class KeyValueFormatter(logging.Formatter):
    """The readable line, then the request's other fields as ``key=value`` pairs."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields: dict[str, object] = getattr(record, "access", {})
        extra = " ".join(
            f"{key}={_logfmt(value)}"
            for key, value in fields.items()
            if value is not None and key not in _IN_MESSAGE
        )
        return f"{line} {extra}" if extra else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "access", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def formatter_config(log_format: str) -> dict[str, object]:
    if log_format == "json":
        return {"()": JsonFormatter}
    return {
        "()": KeyValueFormatter,
        "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s",
    }
