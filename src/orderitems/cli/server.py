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
import secrets
import shutil
import tempfile
from datetime import UTC, datetime

import msgspec
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from orderitems.api.admin import DEMO_ADMIN_TOKEN, PREFIX, admin_token_for
from orderitems.api.app import create_app
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


def prepare_serving(settings: Settings) -> Settings:
    """Before the workers start: the admin token they share and where their metrics meet."""
    # The console outside sandbox mode is the admin API read-only: it needs the token too.
    sandboxed = settings.sandbox or settings.demo or settings.console
    configured = bool(settings.admin_token)
    if sandboxed and admin_token_for(settings) is None:
        settings = msgspec.structs.replace(settings, admin_token=secrets.token_urlsafe(24))
    if settings.workers > 1 and settings.metrics and not os.environ.get(MULTIPROC_VARIABLE):
        directory = tempfile.mkdtemp(prefix="orderitems-metrics-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        os.environ[MULTIPROC_VARIABLE] = directory
    if sandboxed:
        token = admin_token_for(settings)
        shown = (
            "the token in ORDERITEMS_ADMIN_TOKEN"  # a secret of the user's: never printed
            if configured
            else f"[bold]Authorization: Bearer {token}[/]"
            + (" (the demo default)" if token == DEMO_ADMIN_TOKEN else "")
        )
        console.print(
            f"Sandbox admin API on [bold]http://{settings.host}:{settings.port}{PREFIX}/[/]"
            f" with {shown}"
        )
        read_only = "" if settings.sandbox or settings.demo else " (read-only)"
        console.print(
            f"Console{read_only} at [bold]http://{settings.host}:{settings.port}/[/]"
            " (sign in with the admin token)"
        )
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
