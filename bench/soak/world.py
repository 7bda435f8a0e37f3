"""What the soak runs against: a database of its own with generated items and token pairs, the
server (``orderitems serve --workers 2``) and, for ``postgres+redis``, a Redis of its own.

Every process is started in a process group of its own and stopped by signalling that group,
never by name; the PostgreSQL schema is dropped when the soak ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from orderitems.access.tokens import create_access_token, new_token
from orderitems.cli.data import generate_into
from orderitems.fixtures.demo import DEMO_ENTERPRISES
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade
from orderitems.store.schema import order_items, service_orders

BIN = Path(sys.executable).parent / "orderitems"
LIMIT = 200
WINDOW_SECONDS = 30
CANCELABLE = ("Open", "Inactive")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> float:
    """Poll until ``condition`` holds; the seconds it took. Raises after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)  # the poll's interval, under the deadline above
    return time.monotonic() - started


@dataclass(frozen=True)
class Token:
    client_token: str
    access_token: str
    enterprise_id: uuid.UUID

    def envelope(self) -> dict[str, str]:
        return {
            "ClientToken": self.client_token,
            "AccessToken": self.access_token,
            "Client": "orderitems soak 1.0",
        }


@dataclass
class Data:
    """The token pairs and the ids the traffic uses; cancelable ids are handed out once."""

    tokens: list[Token]
    burst_tokens: list[Token]
    cancelable: dict[uuid.UUID, list[uuid.UUID]]
    closed: dict[uuid.UUID, list[uuid.UUID]]
    reservations: dict[uuid.UUID, list[uuid.UUID]]
    services: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)


Grouped = dict[uuid.UUID, list[uuid.UUID]]


def _grouped(rows: Iterable[Any]) -> Grouped:
    """Ids by enterprise."""
    grouped: Grouped = {}
    for enterprise_id, item_id in rows:
        grouped.setdefault(enterprise_id, []).append(item_id)
    return grouped


def populate(url: str, *, items: int, tokens: int, bursts: int) -> Data:
    """Migrate, generate ``items`` items over the demo properties, store the token pairs."""
    engine = connect(url)
    try:
        upgrade(engine)
        generate_into(engine, seed=12, count=items)
        client_token = new_token()
        made: list[Token] = []
        with engine.begin() as connection:
            for n in range(tokens + bursts):
                enterprise = DEMO_ENTERPRISES[n % len(DEMO_ENTERPRISES)]
                token = Token(client_token, new_token(), enterprise.id)
                create_access_token(
                    connection,
                    client_token=client_token,
                    client_name="soak",
                    access_token=token.access_token,
                    label=f"soak {n}",
                    enterprise_ids=[enterprise.id],
                )
                made.append(token)
        t = order_items.c
        with engine.connect() as connection:

            def ids(*states: str) -> dict[uuid.UUID, list[uuid.UUID]]:
                query = sa.select(t.enterprise_id, t.id).where(t.accounting_state.in_(states))
                return _grouped(connection.execute(query.order_by(t.id)))

            s = service_orders.c
            orders = sa.select(s.enterprise_id, s.id).where(s.kind == "Reservation")
            services = sa.select(s.enterprise_id, s.service_id).distinct()
            return Data(
                tokens=made[:tokens],
                burst_tokens=made[tokens:],
                cancelable=ids(*CANCELABLE),
                closed=ids("Closed"),
                reservations=_grouped(connection.execute(orders)),
                services=_grouped(connection.execute(services)),
            )
    finally:
        engine.dispose()


def item_states(url: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The accounting state of each id, read after the server has stopped."""
    engine = connect(url)
    states: dict[uuid.UUID, str] = {}
    try:
        with engine.connect() as connection:
            for start in range(0, len(ids), 500):
                query = sa.select(order_items.c.id, order_items.c.accounting_state).where(
                    order_items.c.id.in_(ids[start : start + 500])
                )
                states.update({row[0]: row[1] for row in connection.execute(query)})
    finally:
        engine.dispose()
    return states


@contextmanager
def postgres_schema(admin_url: str, application_name: str) -> Iterator[str]:
    """A schema of its own; the URL the server uses names it and the soak's application."""
    schema = f"soak_{uuid.uuid4().hex[:10]}"
    admin = connect(admin_url)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'create schema "{schema}"')
        separator = "&" if "?" in admin_url else "?"
        yield (
            f"{admin_url}{separator}application_name={application_name}"
            f"&options=-csearch_path%3D{schema}"
        )
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'drop schema if exists "{schema}" cascade')
        admin.dispose()


def _stop_group(process: subprocess.Popen[bytes], first: signal.Signals) -> None:
    if process.poll() is None:
        os.killpg(process.pid, first)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class RedisServer:
    """A ``redis-server`` of the soak's own on a free port, killed and restarted at will."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None
        self.binary = shutil.which("redis-server") or "redis-server"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.directory),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_until(self._answers, timeout=30, what="redis-server start")

    def kill(self) -> None:
        """SIGKILL, as a crash: no save, connections dropped."""
        if self.process is not None:
            _stop_group(self.process, signal.SIGKILL)

    def stop(self) -> None:
        if self.process is not None:
            _stop_group(self.process, signal.SIGTERM)


class Server:
    """``orderitems serve --workers 2`` in production mode, the default rate limit spelled out."""

    def __init__(self, database_url: str, log: Path, *, redis_url: str = "") -> None:
        self.port = free_port()
        self.log = log
        self.command = [
            str(BIN), "serve", "--no-demo", "--db", database_url, "--port", str(self.port),
            "--workers", "2", "--log-level", "warning",
        ]  # fmt: skip
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERITEMS_")}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.env |= {
            "ORDERITEMS_RATE_LIMIT_REQUESTS": str(LIMIT),
            "ORDERITEMS_RATE_LIMIT_WINDOW_SECONDS": str(WINDOW_SECONDS),
        }
        if redis_url:
            self.env["ORDERITEMS_REDIS_URL"] = redis_url
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the server exited; see {self.log}")
        try:
            httpx.post(f"{self.base_url}/", timeout=2)
        except httpx.TransportError:
            return False
        return True

    def start(self) -> None:
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                self.command,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        wait_until(self._answers, timeout=120, what="the server's start")

    def pids(self) -> list[int]:
        """The parent and every descendant (the workers)."""
        if self.process is None or self.process.poll() is not None:
            return []
        found, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*"):
                try:
                    queue.extend(int(c) for c in (task / "children").read_text().split())
                except OSError:
                    continue
        return found

    def stop(self) -> None:
        """SIGINT to the parent alone (it stops its workers), then the group if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        else:  # workers that outlived their parent are stopped too
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@dataclass
class Setup:
    """Everything started for one soak, stopped by ``stack``."""

    stack: ExitStack
    database_url: str
    server: Server
    redis: RedisServer | None
    application_name: str
    directory: Path
