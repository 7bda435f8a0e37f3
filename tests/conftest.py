"""Shared fixtures: a real SQLite file and a real PostgreSQL schema, and a real HTTP server.

PostgreSQL comes from ``ORDERITEMS_TEST_POSTGRES_URL`` (default: the machine's server on
127.0.0.1:5432, database ``test``). When it cannot be reached the PostgreSQL cases are skipped
with the reason, except under ``CI=true``, where they fail: CI must prove both databases.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import Engine

from contract import check_response
from orderitems.api.app import create_app
from orderitems.settings import Settings
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade

#: Fixtures of the tests on real server processes that share one store (tests/processes.py),
#: and the console's servers (tests/console_servers.py).
pytest_plugins = ["processes", "console_servers"]

POSTGRES_URL = os.environ.get(
    "ORDERITEMS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
DATABASES = ["sqlite", "postgresql"]


def _postgres_unreachable_reason() -> str | None:
    try:
        engine = connect(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc.__class__.__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    reason = _postgres_unreachable_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true requires PostgreSQL)")
        pytest.skip(reason)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh schema of its own for this test session, dropped at the end."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = connect(postgres_admin_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'create schema "{schema}"'))
    separator = "&" if "?" in postgres_admin_url else "?"
    yield f"{postgres_admin_url}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sa.text(f'drop schema "{schema}" cascade'))
    admin.dispose()


def make_database_url(kind: str, request: pytest.FixtureRequest, directory: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{directory / 'orderitems.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=DATABASES)
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_admin_url_or_none: str | None
) -> Iterator[str]:
    """A database of its own for one test (a new SQLite file or a new PostgreSQL schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if postgres_admin_url_or_none is None:
        pytest.skip(_postgres_unreachable_reason() or "PostgreSQL unreachable")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = connect(postgres_admin_url_or_none)
    with admin.begin() as connection:
        connection.execute(sa.text(f'create schema "{schema}"'))
    separator = "&" if "?" in postgres_admin_url_or_none else "?"
    yield f"{postgres_admin_url_or_none}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sa.text(f'drop schema "{schema}" cascade'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_admin_url_or_none(request: pytest.FixtureRequest) -> str | None:
    """The PostgreSQL URL, failing under CI=true when unreachable, else None."""
    reason = _postgres_unreachable_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true requires PostgreSQL)")
        return None
    return POSTGRES_URL


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated database per kind for the whole session; tests keep to their own data."""
    return make_database_url(request.param, request, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = connect(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerThread:
    """A real uvicorn server on a free loopback port, in a thread (httpx's test style)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings, engine=engine),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # The shared server's tests page far past 200 requests per token; tests/limits/ test the limit.
    return Settings(database_url=database_url, development=True, rate_limit=False)


@pytest.fixture(scope="session")
def server(settings: Settings, engine: Engine) -> Iterator[ServerThread]:
    with ServerThread(settings, engine) as running:
        yield running


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx.Client]:
    """A client of the shared server whose every answer is checked against the contract."""
    with httpx.Client(
        base_url=server.base_url, timeout=30, event_hooks={"response": [check_response]}
    ) as client:
        yield client
