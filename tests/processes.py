"""The one harness that runs real servers for the tests: in a thread, or as processes.

``ServerThread`` runs the app under uvicorn in a thread of the test process (the shared
``server`` fixture of tests/conftest.py). ``ServerProcess`` runs ``orderitems serve`` (or any
command that ends in it, such as ``scripts/demo``), optionally with ``--workers``, in a process
group of its own; ``running`` starts several at once and stops them all. The ``store`` fixture
is one shared store: a SQLite file, the PostgreSQL test schema, or Redis (beside a SQLite file,
which still holds the data). Redis comes from ``ORDERITEMS_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``); unreachable, its cases are skipped with the reason, except under
``CI=true``, where they fail. ``wait_until`` is the poll with a deadline that tests use instead
of sleeping.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
import uvicorn
from sqlalchemy.engine import Engine

from orderitems.access.admin_token import DEMO_ADMIN_TOKEN
from orderitems.api.app import create_app
from orderitems.settings import Settings
from orderitems.state.shared import redis_prefix
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade

BIN = Path(sys.executable).parent / "orderitems"
REDIS_URL = os.environ.get("ORDERITEMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
STORES = ["sqlite", "postgresql", "redis"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(
    condition: Callable[[], object], *, timeout: float, message: str, every: float = 0.05
) -> None:
    """Poll ``condition`` until it is true; fail with ``message`` once ``timeout`` seconds
    have passed. ``condition`` may raise to fail at once (a server that exited)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(every)  # the poll's interval; the deadline above bounds the wait


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

    def _started(self) -> bool:
        if not self.thread.is_alive() and not self.server.started:
            raise AssertionError("the test server's thread ended before it started")
        return self.server.started

    def __enter__(self) -> ServerThread:
        self.thread.start()
        wait_until(self._started, timeout=10, message="the test server did not start", every=0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


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


def _env_value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class ServerProcess:
    """``orderitems serve`` on a free port, its output in ``log``.

    ``settings`` (or ``options``, the same as a mapping) become ``ORDERITEMS_*`` variables;
    nothing else of the test's own ``ORDERITEMS_*`` environment leaks in. ``program`` is what
    runs with ``--port``, ``--db`` and ``--workers`` appended: ``orderitems serve`` by default,
    ``scripts/demo`` for the quick start. The server may be stopped and spawned again.
    """

    def __init__(
        self,
        database_url: str,
        directory: Path,
        *,
        workers: int = 1,
        options: Mapping[str, object] | None = None,
        program: Sequence[str] = (str(BIN), "serve"),
        start_timeout: float = 60,
        **settings: object,
    ) -> None:
        self.port = free_port()
        self.log = directory / f"server-{self.port}.log"
        self.command = [
            *program, "--port", str(self.port), "--db", database_url, "--workers", str(workers),
        ]  # fmt: skip
        self.start_timeout = start_timeout
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERITEMS_")}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        every = {**(options or {}), **settings}
        self.env.update({f"ORDERITEMS_{k.upper()}": _env_value(v) for k, v in every.items()})
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

    def _answers(self) -> bool:
        """True once the server answers HTTP at all (any status); fails if it exited."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError("the server exited")
        try:
            httpx.get(f"{self.base_url}/metrics", timeout=2)
        except httpx.TransportError:
            return False
        return True

    def wait_ready(self, timeout: float | None = None) -> None:
        try:
            wait_until(
                self._answers,
                timeout=self.start_timeout if timeout is None else timeout,
                message="the server did not start",
                every=0.1,
            )
        except AssertionError as exc:
            self.stop()
            raise AssertionError(f"{exc}:\n{self.log.read_text()}") from None

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
            servers = [
                ServerProcess(store.database_url, directory, options=every) for _ in range(2)
            ]
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


class RedisServer:
    """A ``redis-server`` of this test's own on a free port (no persistence), to stop and start
    again; the shared Redis is never stopped."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("no redis-server binary on PATH")
        with (self.directory / f"redis-{self.port}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.directory)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                client = redis.Redis(port=self.port, socket_connect_timeout=1)
                client.ping()
                client.close()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server on port {self.port} did not start")

    def kill(self) -> None:
        """Gone at once, as a crash would leave it (SIGKILL, no goodbye to its clients)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()
