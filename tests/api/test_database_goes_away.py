"""A database that goes away under a running server: 503 with ``Retry-After`` and the error
body, never a 500, and the server log says what is wrong in the CLI's words (issue 12,
defects 7 and 8; issue 18).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from factories import make_item, make_tenant, store_items
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade
from processes import ServerProcess, running

PERIOD = {"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-04-01T00:00:00Z"}


def _served_database(url: str) -> dict[str, object]:
    """A tenant with a few items; the body of a getAll that finds them."""
    engine = connect(url)
    upgrade(engine)
    tenant = make_tenant(engine)
    store_items(engine, tenant, [make_item(enterprise_id=tenant.enterprise_id) for _ in range(5)])
    engine.dispose()
    return tenant.envelope(CreatedUtc=PERIOD, Limitation={"Count": 10})


def test_a_deleted_sqlite_file_answers_503_and_is_never_created_again(tmp_path: Path) -> None:
    database = tmp_path / "ledger.db"
    body = _served_database(f"sqlite:///{database}")
    server = ServerProcess(f"sqlite:///{database}", tmp_path)
    with running(server), server.client() as client:
        path = "/api/connector/v1/orderItems/getAll"
        assert client.post(path, json=body).status_code == 200
        for leftover in tmp_path.glob("ledger.db*"):
            leftover.unlink()

        answers = [client.post(path, json=body) for _ in range(3)]

        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"] == "1"
            assert answer.json()["RequestId"] == answer.headers["Request-Id"]
            assert "retry later" in answer.json()["Message"]
        assert not database.exists()
        # Read while serving: what a stop signal makes uvicorn print is not the requests'.
        log = server.log.read_text()
    assert f"There is no SQLite database at {database}" in log
    assert "Traceback" not in log


def test_postgresql_backends_terminated_under_load_answer_no_500(
    tmp_path: Path, postgres_url: str
) -> None:
    name = f"orderitems-test-{uuid.uuid4().hex[:8]}"
    url = f"{postgres_url}&application_name={name}"
    body = _served_database(postgres_url)
    server = ServerProcess(url, tmp_path, rate_limit_requests=100_000, db_pool_size=4)
    statuses: Counter[int] = Counter()
    unavailable: list[httpx.Response] = []
    stop = threading.Event()

    def load() -> None:
        with server.client() as client:
            while not stop.is_set():
                answer = client.post("/api/connector/v1/orderItems/getAll", json=body)
                statuses[answer.status_code] += 1
                if answer.status_code == 503:
                    unavailable.append(answer)

    admin = connect(postgres_url)
    terminate = sa.text(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity"
        " where application_name = :name and pid <> pg_backend_pid()"
    )
    terminated = 0
    with running(server):
        clients = [threading.Thread(target=load) for _ in range(6)]
        for client in clients:
            client.start()
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            with admin.connect() as connection:
                terminated += int(connection.execute(terminate, {"name": name}).scalar_one())
            time.sleep(0.05)  # the pace of the faults, not a synchronisation
        stop.set()
        for client in clients:
            client.join(timeout=60)
    admin.dispose()

    assert terminated >= 20, "the faults never reached the server's connections"
    assert statuses[200] > 0, statuses
    assert set(statuses) <= {200, 503}, statuses
    for answer in unavailable:
        assert answer.headers["Retry-After"] == "1"
        assert answer.json()["RequestId"] == answer.headers["Request-Id"]
    assert "unhandled error" not in server.log.read_text()


def _drop(admin: sa.engine.Engine, schema: str) -> None:
    with admin.begin() as connection:
        connection.execute(sa.text(f'drop schema "{schema}" cascade'))
    admin.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_server_refuses_to_start_on_a_database_without_the_schema(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
        (tmp_path / "empty.db").write_bytes(b"")
    else:
        admin_url: str = request.getfixturevalue("postgres_admin_url")
        schema = f"test_{uuid.uuid4().hex[:12]}"
        admin = connect(admin_url)
        with admin.begin() as connection:
            connection.execute(sa.text(f'create schema "{schema}"'))
        request.addfinalizer(lambda: _drop(admin, schema))
        url = f"{admin_url}?options=-csearch_path%3D{schema}"
    server = ServerProcess(url, tmp_path)
    server.spawn()
    assert server.process is not None
    assert server.process.wait(timeout=60) == 7
    output = " ".join(server.log.read_text().split())
    assert "no orderitems schema" in output
    assert "orderitems db upgrade" in output
    assert "Traceback" not in output
