"""Real server processes for the tests of state that several processes share.

``ServerProcess`` runs ``orderitems serve`` (uvicorn, optionally with ``--workers``) in a process
of its own; ``running`` starts several at once. The ``store`` fixture is one shared store: a
SQLite file, the PostgreSQL test schema, or Redis (beside a SQLite file, which still holds the
data). Redis comes from ``ORDERITEMS_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``);
unreachable, its cases are skipped with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy.engine import Engine

from orderitems.api.admin import DEMO_ADMIN_TOKEN
from orderitems.api.shared import redis_prefix
from orderitems.settings import Settings
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade

BIN = Path(sys.executable).parent / "orderitems"
REDIS_URL = os.environ.get("ORDERITEMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
STORES = ["sqlite", "postgresql", "redis"]


@dataclass(frozen=True)
class Store:
    """Where the servers of one test keep their data and their shared state."""

    kind: str
    database_url: str
    engine: Engine
    redis_url: str = ""


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        reason = f"Redis at {REDIS_URL} is not reachable: {exc.__class__.__name__}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true requires Redis)")
        pytest.skip(reason)
    return REDIS_URL


def forget_redis_keys(url: str, database_url: str) -> None:
    """Drop every key the servers on ``database_url`` wrote (Redis keeps them otherwise)."""
    prefix = redis_prefix(Settings(database_url=database_url))
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


class Stores:
    """Each kind of store, made on first use and kept for the whole session, so that server
    processes started for one test module serve the next one too."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.made: dict[str, Store] = {}

    def get(self, kind: str, request: pytest.FixtureRequest) -> Store:
        if kind not in self.made:
            if kind == "postgresql":
                database_url: str = request.getfixturevalue("postgres_url")
            else:
                database_url = f"sqlite:///{self.tmp_path_factory.mktemp(kind) / 'shared.db'}"
            shared_redis: str = request.getfixturevalue("redis_url") if kind == "redis" else ""
            engine = connect(database_url)
            upgrade(engine)
            self.made[kind] = Store(kind, database_url, engine, shared_redis)
        return self.made[kind]

    def close(self) -> None:
        for made in self.made.values():
            made.engine.dispose()
            if made.redis_url:
                forget_redis_keys(made.redis_url, made.database_url)


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    made = Stores(tmp_path_factory)
    yield made
    made.close()


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, stores: Stores) -> Store:
    """One shared store: a SQLite file, the PostgreSQL test schema, or Redis."""
    return stores.get(request.param, request)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env_value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class ServerProcess:
    """``orderitems serve`` on a free port, its output in ``log``."""

    def __init__(
        self, database_url: str, directory: Path, *, workers: int = 1, **settings: object
    ) -> None:
        self.port = free_port()
        self.log = directory / f"server-{self.port}.log"
        self.command = [
            str(BIN), "serve", "--port", str(self.port), "--db", database_url,
            "--workers", str(workers),
        ]  # fmt: skip
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERITEMS_")}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.env.update({f"ORDERITEMS_{k.upper()}": _env_value(v) for k, v in settings.items()})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited:\n{self.log.read_text()}")
            try:
                httpx.get(f"{self.base_url}/metrics", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the server did not start:\n{self.log.read_text()}")

    def interrupt(self) -> None:
        """Ask the parent alone to stop: it stops its workers (signalled too, they would be
        restarted)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        self.interrupt()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60)


@contextmanager
def running(*servers: ServerProcess) -> Iterator[tuple[ServerProcess, ...]]:
    """Start every server at once (their start-up overlaps), stop them all at the end."""
    with ExitStack() as stack:
        for server in servers:
            stack.callback(server.stop)
        for server in servers:  # runs first: every server is asked before any is waited for
            stack.callback(server.interrupt)
        for server in servers:
            server.spawn()
        for server in servers:
            server.wait_ready()
        yield servers


def store_settings(store: Store) -> dict[str, object]:
    return {"redis_url": store.redis_url} if store.redis_url else {}


SANDBOX_TOKEN = "test-sandbox-admin"
SANDBOX_ADMIN = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
#: The sandbox servers' deadline: short, so that a forced 408 is quick.
SANDBOX_DEADLINE = 1.0


class Pairs:
    """Pairs of server processes, one per name and store, started on first use and stopped
    when the session ends (start-up is what these tests spend most time on)."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.started: dict[tuple[str, str], tuple[ServerProcess, ...]] = {}
        self.stack = ExitStack()

    def get(self, name: str, store: Store, **settings: object) -> tuple[ServerProcess, ...]:
        key = (name, store.kind)
        if key not in self.started:
            directory = self.tmp_path_factory.mktemp(f"{name}-{store.kind}")
            every = {**settings, **store_settings(store)}
            servers = [ServerProcess(store.database_url, directory, **every) for _ in range(2)]
            self.started[key] = self.stack.enter_context(running(*servers))
        return self.started[key]


@pytest.fixture(scope="session")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pairs]:
    made = Pairs(tmp_path_factory)
    with made.stack:
        yield made
        for started in made.started.values():
            for server in started:
                server.interrupt()


@pytest.fixture
def sandbox_pair(pairs: Pairs, store: Store) -> tuple[ServerProcess, ...]:
    """Two sandbox server processes on one store (faults, clock and log shared through it);
    tests keep to their own tokens, and put the clock back when they change it."""
    return pairs.get(
        "sandbox",
        store,
        sandbox=True,
        admin_token=SANDBOX_TOKEN,
        deadline_seconds=SANDBOX_DEADLINE,
        development=True,
    )
