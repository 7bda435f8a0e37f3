"""A SQLite database busy with a long write (an import) while ``serve`` serves it
(docs/behaviour.md#limits, #errors). Reads go on: the limiter's hits and the sandbox's state
live in a state file of their own beside the database, so a read needs no write lock on it. A
cancel, a write, waits for the lock a short while (less than the deadline), then answers 503
with ``Retry-After`` and the error body, never a 500. The import is not stopped by the server.

Before, every read wrote its limiter hit into the main file and answered 500 "database is
locked" after 10 s, as did cancels.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from contract import assert_matches_schema
from factories import Tenant, make_item, make_tenant, store_items
from orderitems.settings import Settings
from orderitems.state.shared import open_state, state_file
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade
from processes import BIN, SANDBOX_ADMIN, SANDBOX_TOKEN, ServerProcess, running

GET_ALL = "/api/connector/v1/orderItems/getAll"
CANCEL = "/api/connector/v1/orderItems/cancel"
#: The deadline; a write waits half of it for the lock (Settings.lock_wait_seconds).
DEADLINE = 2.0
#: Items of the import: at SQLite's load rate (tens of thousands a second) seconds of lock.
IMPORT_ITEMS = 60_000


def run(*command: str) -> None:
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stdout + finished.stderr


@pytest.fixture(scope="module")
def import_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated items (a seed of their own, so ids new to the served database) as JSON Lines."""
    directory = tmp_path_factory.mktemp("import-file")
    scratch = directory / "scratch.db"
    out = directory / "items.jsonl"
    run(str(BIN), "generate", "--items", str(IMPORT_ITEMS), "--seed", "7", "--no-demo-tokens",
        "--db", f"sqlite:///{scratch}")  # fmt: skip
    run(str(BIN), "export", "--db", f"sqlite:///{scratch}", "--out", str(out))
    scratch.unlink()
    return out


class Served:
    """A SQLite database with a tenant's items, and ``serve`` on it."""

    def __init__(self, directory: Path, server: ServerProcess, tenant: Tenant) -> None:
        self.directory = directory
        self.path = directory / "served.db"
        self.server = server
        self.tenant = tenant

    def read(self, http: httpx.Client) -> httpx.Response:
        return http.post(
            GET_ALL,
            json=self.tenant.envelope(
                OrderItemIds=[str(item.id) for item in self.tenant.items],
                Limitation={"Count": 10},
            ),
        )

    def cancel(self, http: httpx.Client, index: int) -> httpx.Response:
        item = self.tenant.items[index]
        return http.post(CANCEL, json=self.tenant.envelope(OrderItemIds=[str(item.id)]))

    def locked(self) -> bool:
        """Whether another writer holds the main file's write lock right now."""
        probe = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            return True
        finally:
            probe.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    engine = connect(url)
    upgrade(engine)
    tenant = make_tenant(engine)
    store_items(engine, tenant, [make_item(enterprise_id=tenant.enterprise_id) for _ in range(20)])
    engine.dispose()
    server = ServerProcess(
        url, tmp_path, workers=2, deadline_seconds=DEADLINE, rate_limit_requests=1_000_000,
        sandbox=True, admin_token=SANDBOX_TOKEN,
    )  # fmt: skip
    with running(server):
        yield Served(tmp_path, server, tenant)
    assert "Traceback" not in server.log.read_text()


def assert_busy(response: httpx.Response, elapsed: float) -> None:
    """503 with the error body and Retry-After, after waiting less than the deadline."""
    assert response.status_code == 503, response.text
    body = response.json()
    assert_matches_schema(body, "ConnectorApiExceptionResult")
    assert body["RequestId"] == response.headers["Request-Id"]
    assert "busy" in body["Message"]
    assert int(response.headers["Retry-After"]) >= 1
    assert elapsed < DEADLINE + 1, elapsed


@contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """The main file's write lock, held as a long import holds it."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_with_the_write_lock_held_reads_and_the_sandbox_go_on_and_a_cancel_is_503(
    served: Served,
) -> None:
    with served.server.client() as http:
        with write_lock(served.path):
            for _ in range(5):
                assert served.read(http).status_code == 200
            ready = http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert "Limiter" in ready.text, "the state file answered the readiness probe"
            added = http.post("/_sandbox/faults", json={"DelayMs": 1}, headers=SANDBOX_ADMIN)
            assert added.status_code == 201, added.text
            started = time.monotonic()
            refused = served.cancel(http, 0)
            assert_busy(refused, time.monotonic() - started)
        assert http.delete("/_sandbox/faults", headers=SANDBOX_ADMIN).status_code == 204
        assert served.cancel(http, 0).status_code == 200, "the same cancel, once the lock is free"
        logged = http.get("/_sandbox/requests", headers=SANDBOX_ADMIN).json()
        assert [entry["Status"] for entry in logged[:2]] == [200, 503]
        state = served.directory / "served.db-state"
        assert state.exists(), "the state file beside the database"
        with write_lock(state):  # the limiter's own store cannot answer in time: 503, closed
            started = time.monotonic()
            refused = served.read(http)
            elapsed = time.monotonic() - started
        assert refused.status_code == 503, refused.text
        assert "shared state (database) is unavailable" in refused.json()["Message"]
        assert int(refused.headers["Retry-After"]) >= 1
        assert elapsed < DEADLINE + 1, elapsed
        assert served.read(http).status_code == 200


@pytest.mark.slow
def test_during_a_long_import_reads_answer_and_cancels_are_503_and_the_import_completes(
    served: Served, import_file: Path
) -> None:
    output = served.directory / "import.log"
    with output.open("wb") as log:
        importing = subprocess.Popen(
            [str(BIN), "import", str(import_file), "--db", f"sqlite:///{served.path}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    reads: Counter[int] = Counter()
    cancels_while_locked: list[tuple[httpx.Response, float]] = []
    others: Counter[int] = Counter()
    index = 0

    def read_until_done(_: int) -> None:
        with served.server.client() as http:
            while importing.poll() is None:
                reads[served.read(http).status_code] += 1

    with ThreadPoolExecutor(max_workers=3) as pool, served.server.client() as http:
        readers = [pool.submit(read_until_done, i) for i in range(3)]
        while importing.poll() is None:
            if not served.locked():
                time.sleep(0.05)
                continue
            index += 1
            started = time.monotonic()
            response = served.cancel(http, 1 + index % (len(served.tenant.items) - 1))
            elapsed = time.monotonic() - started
            if served.locked():  # locked before and after: the lock was held throughout
                cancels_while_locked.append((response, elapsed))
            else:
                others[response.status_code] += 1
        for reader in readers:
            reader.result()
    assert importing.returncode == 0, output.read_text()
    assert f"Imported {IMPORT_ITEMS} order items" in output.read_text()
    assert cancels_while_locked, "the import held the lock while a cancel was sent"
    for response, elapsed in cancels_while_locked:
        assert_busy(response, elapsed)
    # A cancel sent as the import let go of the lock may meet it again (the import's last
    # steps write too) and so wait past the 2 s deadline: 408 is the deadline's own answer.
    assert set(others) <= {200, 408, 503}, others
    assert set(reads) == {200}, reads
    with served.server.client() as http:
        assert served.cancel(http, 0).status_code == 200
        assert served.read(http).status_code == 200


def test_the_state_file_sits_beside_the_database_and_survives_its_deletion(
    tmp_path: Path,
) -> None:
    """Deleting the state file between runs loses only windows, faults, clock and log."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = connect(url)
    assert state_file(url) == tmp_path / "x.db-state"
    assert state_file("sqlite://") is None
    assert state_file("postgresql://postgres@127.0.0.1/test") is None

    async def hit_twice() -> list[int | None]:
        shared = open_state(Settings(database_url=url), engine)
        key = uuid.uuid4().bytes * 2
        try:
            return [
                await shared.window.hit(key, now_us=10**15, window_us=10**6, limit=1)
                for _ in range(2)
            ]
        finally:
            await shared.close()

    assert anyio.run(hit_twice) == [None, 10**6]
    (tmp_path / "x.db-state").unlink()
    assert anyio.run(hit_twice)[0] is None, "a new state file, made on first use"
    engine.dispose()
