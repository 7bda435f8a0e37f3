"""SIGTERM and SIGINT drain a server (issue 20): under a steady stream of getAll and cancel from
several clients, every request sent before the signal gets a complete answer (none is reset),
a slow request in flight finishes, cancels are all or nothing, the process exits 0, and the
drain takes less than the grace period; with ``--workers 2`` for every worker."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from processes import SANDBOX_ADMIN, SANDBOX_TOKEN, ServerProcess, Stores
from steady_traffic import (
    GET_ALL,
    Sent,
    Traffic,
    assert_cancels_all_or_nothing,
    make_cancel_tenant,
)

pytestmark = pytest.mark.slow

GRACE = 15.0
#: The slow request's injected delay: in flight when the signal arrives, done well within GRACE.
SLOW_MS = 2500


def assert_answered_before(sent: list[Sent], signalled: float) -> None:
    before = [s for s in sent if s.sent_at < signalled]
    assert len(before) > 20, len(before)
    broken = [s for s in before if not s.complete]
    assert not broken, broken[:5]
    assert {s.status for s in before} == {200}


def start_slow_request(
    server: ServerProcess, tenant_token: str, body: dict[str, object]
) -> list[int]:
    """A getAll that a sandbox fault holds for SLOW_MS, started and known to be in flight."""
    fault = {
        "DelayMs": SLOW_MS,
        "Count": 1,
        "Operation": "orderItems/getAll",
        "AccessToken": tenant_token,
    }
    statuses: list[int] = []
    with server.client() as http:
        assert http.post("/_sandbox/faults", json=fault, headers=SANDBOX_ADMIN).status_code == 201

        def send() -> None:
            with server.client() as slow:
                response = slow.post(GET_ALL, json=body)
                response.json()
                statuses.append(response.status_code)

        threading.Thread(target=send, daemon=True).start()
        deadline = time.monotonic() + 10
        while http.get("/_sandbox/faults", headers=SANDBOX_ADMIN).json()[0]["Remaining"] != 0:
            assert time.monotonic() < deadline, "the slow request did not start"
            time.sleep(0.02)
    return statuses


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sigterm_under_load_answers_everything_sent_before_it_and_exits_0(
    kind: str, stores: Stores, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store = stores.get(kind, request)
    tenant = make_cancel_tenant(store.engine, 1500)
    slow_tenant = make_cancel_tenant(store.engine, 1)
    server = ServerProcess(
        store.database_url,
        tmp_path,
        workers=2,
        sandbox=True,
        admin_token=SANDBOX_TOKEN,
        rate_limit=False,
        shutdown_grace_seconds=GRACE,
    )
    server.spawn()
    try:
        server.wait_ready()
        traffic = Traffic(server.base_url, tenant)
        traffic.start()
        traffic.wait_for(100)
        slow = start_slow_request(
            server,
            slow_tenant.access_token,
            slow_tenant.envelope(
                OrderItemIds=[str(slow_tenant.items[0].id)], Limitation={"Count": 10}
            ),
        )
        assert server.process is not None
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        exit_code = server.process.wait(timeout=GRACE + 10)
        drained = time.monotonic() - signalled
        traffic.finish()
    finally:
        server.stop()
    assert exit_code == 0, server.log.read_text()
    assert drained < GRACE
    assert slow == [200]
    assert_answered_before(traffic.sent, signalled)
    assert_cancels_all_or_nothing(store.engine, traffic.sent)
    log = server.log.read_text()
    assert "SIGTERM: draining" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("sent_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_single_process_drains_and_exits_0_on(
    sent_signal: signal.Signals, stores: Stores, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store = stores.get("sqlite", request)
    tenant = make_cancel_tenant(store.engine, 600)
    server = ServerProcess(store.database_url, tmp_path, rate_limit=False, drain_delay_seconds=1.0)
    server.spawn()
    try:
        server.wait_ready()
        traffic = Traffic(server.base_url, tenant, clients=3)
        traffic.start()
        traffic.wait_for(50)
        assert server.process is not None
        signalled = time.monotonic()
        server.process.send_signal(sent_signal)
        # During the drain delay the process still answers, and says it is going.
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            readiness = http.get("/readyz")
        exit_code = server.process.wait(timeout=GRACE)
        traffic.finish()
    finally:
        server.stop()
    assert readiness.status_code == 503
    assert readiness.json()["Failing"] == "Shutdown"
    assert readiness.headers["Connection"] == "close"
    assert exit_code == 0, server.log.read_text()
    assert_answered_before(traffic.sent, signalled)
    assert_cancels_all_or_nothing(store.engine, traffic.sent)
    assert "Traceback" not in server.log.read_text()
