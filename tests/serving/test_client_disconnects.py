"""A client that leaves mid-body is its own doing (issue 12 item 6): logged, counted and kept in
the request log as 499, never as a 500 with a traceback."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade
from processes import SANDBOX_ADMIN, SANDBOX_TOKEN, ServerProcess, running
from raw_http import request_head, wait_for_line

GET_ALL = "/api/connector/v1/orderItems/getAll"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("disconnects")
    url = f"sqlite:///{directory / 'disconnects.db'}"
    engine = connect(url)
    upgrade(engine)
    engine.dispose()
    settings = {"sandbox": True, "admin_token": SANDBOX_TOKEN}
    with running(ServerProcess(url, directory, options=settings)) as (started,):
        yield started


def leave_mid_body(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request_head(GET_ALL, length=1000) + b'{"ClientToken": "abc", ')
        time.sleep(0.2)  # the app is reading the body when the client goes


def logged_statuses(http: httpx.Client) -> list[int]:
    entries = http.get("/_sandbox/requests", params={"limit": 50}, headers=SANDBOX_ADMIN).json()
    return [entry["Status"] for entry in entries]


def test_a_client_leaving_mid_body_is_a_499_everywhere(server: ServerProcess) -> None:
    with server.client() as http:
        http.delete("/_sandbox/requests", headers=SANDBOX_ADMIN)
        leave_mid_body(server.port)
        line = wait_for_line(server, "-> 499")
        assert "operation=orderItems/getAll" in line
        assert "closed the connection" in line
        metrics = http.get("/metrics", headers=SANDBOX_ADMIN).text
        deadline = time.monotonic() + 10
        while 499 not in logged_statuses(http) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert logged_statuses(http) == [499]
    assert re.search(r'status="499"', metrics), metrics
    assert 'status="500"' not in metrics
    log = server.log.read_text()
    assert "Traceback" not in log
    assert "-> 500" not in log
