"""Shared fixtures: a real SQLite file and a real PostgreSQL schema, and a real HTTP server.

Every PostgreSQL database a test makes is a schema of its own from ``postgres_schema`` (or
``new_database`` for either kind); servers come from the harness in tests/processes.py
(``ServerThread`` and ``free_port`` are re-exported here for the tests that import them).

PostgreSQL comes from ``ORDERITEMS_TEST_POSTGRES_URL`` (default: the machine's server on
127.0.0.1:5432, database ``test``). When it cannot be reached the PostgreSQL cases are skipped
with the reason, except under ``CI=true``, where they fail: CI must prove both databases.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from contract import check_response
from orderitems.settings import Settings
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade

#: The harness is imported here, before pytest loads it as a plugin: its asserts must still be
#: rewritten (pytest's rule for helper modules).
pytest.register_assert_rewrite("processes")
from processes import ServerThread as ServerThread  # noqa: E402
from processes import free_port as free_port  # noqa: E402

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


@contextmanager
def postgres_schema(admin_url: str, prefix: str = "test") -> Iterator[str]:
    """A new PostgreSQL schema, as a database URL whose ``search_path`` is that schema; the
    schema is dropped on exit. The one place tests make PostgreSQL databases of their own."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = connect(admin_url)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f'create schema "{schema}"'))
        separator = "&" if "?" in admin_url else "?"
        yield f"{admin_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
        admin.dispose()


@contextmanager
def new_database(kind: str, request: pytest.FixtureRequest, directory: Path) -> Iterator[str]:
    """An empty database of its own: a SQLite file in ``directory``, or a PostgreSQL schema
    (skipped with the reason when PostgreSQL is unreachable, failed under ``CI=true``)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'orderitems.db'}"
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    with postgres_schema(admin_url) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh schema of its own for this test session, dropped at the end."""
    with postgres_schema(postgres_admin_url) as url:
        yield url


def make_database_url(kind: str, request: pytest.FixtureRequest, directory: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{directory / 'orderitems.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=DATABASES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own for one test (a new SQLite file or a new PostgreSQL schema)."""
    with new_database(request.param, request, tmp_path) as url:
        yield url


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
