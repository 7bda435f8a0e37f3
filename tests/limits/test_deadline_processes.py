"""The deadline over real HTTP on real server processes (deadline 1 s): a query still running
when it passes answers 408, and the query itself is stopped, not left running
(docs/behaviour.md#limits)."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from contract import assert_matches_schema
from factories import Tenant, make_tenant
from processes import (
    SANDBOX_ADMIN,
    SANDBOX_DEADLINE,
    ServerProcess,
    Store,
)

GET_ALL = "/api/connector/v1/orderItems/getAll"
#: The deadline, the cancel, and the grace a cancelled statement gets to end.
AT_MOST = SANDBOX_DEADLINE + 3.0


def query(tenant: Tenant) -> dict[str, Any]:
    return tenant.envelope(
        CreatedUtc={"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-03-31T00:00:00Z"},
        Limitation={"Count": 1},
    )


def work_in_progress(http: httpx.Client) -> float:
    metrics = http.get("/metrics", headers=SANDBOX_ADMIN).text
    match = re.search(r"^orderitems_database_work_in_progress (\S+)$", metrics, re.M)
    assert match, metrics
    return float(match.group(1))


def running_statements(store: Store, pattern: str) -> list[str]:
    with store.engine.connect() as connection:
        return list(
            connection.execute(
                sa.text(
                    "select query from pg_stat_activity where state = 'active'"
                    " and pid <> pg_backend_pid() and query like :pattern"
                ),
                {"pattern": pattern},
            ).scalars()
        )


def statements_blocked_by(store: Store, holder_pid: int) -> list[str]:
    """Statements waiting for a lock the holder's backend keeps (other sessions on a shared
    server, e.g. another test run's COPY, are not counted)."""
    with store.engine.connect() as connection:
        return list(
            connection.execute(
                sa.text(
                    "select query from pg_stat_activity where :holder = any(pg_blocking_pids(pid))"
                ),
                {"holder": holder_pid},
            ).scalars()
        )


def assert_deadline_exceeded(response: httpx.Response) -> None:
    assert response.status_code == 408, response.text
    body = response.json()
    assert_matches_schema(body, "ConnectorApiExceptionResult")
    assert "within 1 seconds" in body["Message"]


def test_a_query_past_the_deadline_is_408_and_is_stopped(
    sandbox_pair: tuple[ServerProcess, ...], store: Store
) -> None:
    """A 20 s statement (the slow-query fault runs it in the database) meets a 1 s deadline."""
    tenant = make_tenant(store.engine)
    with sandbox_pair[0].client() as http:
        fault = {"DatabaseDelayMs": 20_000, "Count": 1, "AccessToken": tenant.access_token}
        assert http.post("/_sandbox/faults", json=fault, headers=SANDBOX_ADMIN).status_code == 201
        started = time.monotonic()
        response = http.post(GET_ALL, json=query(tenant))
        elapsed = time.monotonic() - started
        assert_deadline_exceeded(response)
        assert SANDBOX_DEADLINE <= elapsed < AT_MOST
        assert work_in_progress(http) == 0, "the statement ended before the answer"
        if store.kind == "postgresql":
            assert running_statements(store, "%pg_sleep%") == []
        started = time.monotonic()
        assert http.post(GET_ALL, json=query(tenant)).status_code == 200
        assert time.monotonic() - started < SANDBOX_DEADLINE


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_query_waiting_on_a_lock_past_the_deadline_is_cancelled(
    sandbox_pair: tuple[ServerProcess, ...], store: Store
) -> None:
    """No injected fault: a real getAll waits for a lock held by another transaction."""
    tenant = make_tenant(store.engine)
    with sandbox_pair[1].client() as http, store.engine.connect() as holder:
        holder.execute(sa.text("lock table order_items in access exclusive mode"))
        holder_pid = holder.execute(sa.text("select pg_backend_pid()")).scalar_one()
        started = time.monotonic()
        response = http.post(GET_ALL, json=query(tenant))
        elapsed = time.monotonic() - started
        assert_deadline_exceeded(response)
        assert elapsed < AT_MOST
        assert statements_blocked_by(store, holder_pid) == [], "no query left waiting"
        holder.rollback()
    with sandbox_pair[1].client() as http:
        assert http.post(GET_ALL, json=query(tenant)).status_code == 200


def test_concurrent_requests_past_the_deadline_each_answer_408(
    sandbox_pair: tuple[ServerProcess, ...], store: Store
) -> None:
    """The watchdog keeps one deadline per call: three slow calls, three 408s, nothing left."""
    tenant = make_tenant(store.engine)
    with sandbox_pair[0].client() as http:
        fault = {"DatabaseDelayMs": 20_000, "Count": 3, "AccessToken": tenant.access_token}
        assert http.post("/_sandbox/faults", json=fault, headers=SANDBOX_ADMIN).status_code == 201
        statuses: list[int] = []

        def send() -> None:
            statuses.append(http.post(GET_ALL, json=query(tenant)).status_code)

        threads = [threading.Thread(target=send) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [408, 408, 408]
        assert work_in_progress(http) == 0
