"""The admin token on real ``orderitems serve`` processes (issue 21; docs/behaviour.md#admin-token).

The published default is accepted on a loopback bind only. On ``--host 0.0.0.0`` (queried
through 127.0.0.1) a server given no token makes one up, prints it once, and both of its
workers accept it; a weak token stops the server at start; no token is ever in a log line.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from answers import assert_error
from orderitems.access.admin_token import DEMO_ADMIN_TOKEN
from processes import ServerProcess, Store, Stores, running

DEFAULT = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
STRONG = "a-strong-admin-token-of-32-chars"
#: Bound to every interface, the point of these tests; queried through 127.0.0.1 only.
ALL_INTERFACES = "0.0.0.0"
PRINTED = re.compile(r"Authorization: Bearer\s+([A-Za-z0-9_-]{32})\s")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def store(stores: Stores, request: pytest.FixtureRequest) -> Store:
    return stores.get("sqlite", request)


def demo_server(directory: Path, *, workers: int = 1, **settings: object) -> ServerProcess:
    """A demo server on a small demo database of its own."""
    return ServerProcess(
        f"sqlite:///{directory / 'demo.db'}",
        directory,
        workers=workers,
        options={"demo": True, "demo_items": 200, **settings},
    )


def workers_that_answered(directory: Path) -> int:
    """Worker processes that counted a request (prometheus_client keeps a file per pid)."""
    return len(list(directory.glob("counter_*.db")))


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    """``serve --demo --host 0.0.0.0 --workers 2`` with no admin token set, and where its
    workers write their metrics."""
    directory = tmp_path_factory.mktemp("exposed")
    metrics = directory / "metrics"
    metrics.mkdir()
    server = demo_server(directory, host=ALL_INTERFACES, workers=2)
    server.env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    with running(server):
        yield server, metrics


def printed_token(server: ServerProcess) -> str:
    found = PRINTED.findall(server.log.read_text())
    assert len(found) == 1, server.log.read_text()
    return str(found[0])


def test_on_a_loopback_bind_the_published_default_works(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = demo_server(tmp_path_factory.mktemp("loopback"))
    with running(server), server.client() as http:
        assert http.get("/_sandbox/clock", headers=DEFAULT).status_code == 200
        assert http.get("/metrics", headers=DEFAULT).status_code == 200
        assert_error(http.get("/_sandbox/clock", headers=bearer(STRONG)), 401, "admin token")
    assert "(the demo default)" in " ".join(server.log.read_text().split())


def test_on_all_interfaces_the_default_is_refused_and_the_printed_token_works_in_both_workers(
    exposed: tuple[ServerProcess, Path],
) -> None:
    server, metrics = exposed
    token = printed_token(server)
    assert len(token) >= 22, "at least 128 random bits"

    def clock(_: int) -> int:
        with server.client() as fresh:  # a connection of its own: either worker may take it
            return fresh.get("/_sandbox/clock", headers=bearer(token)).status_code

    deadline = time.monotonic() + 30
    with ThreadPoolExecutor(max_workers=8) as pool:
        while workers_that_answered(metrics) < 2:
            assert time.monotonic() < deadline, "one worker took every connection"
            assert list(pool.map(clock, range(16))) == [200] * 16
    with server.client() as http:
        for path in ("/_sandbox/clock", "/_sandbox/faults", "/metrics"):
            for _ in range(6):
                assert_error(http.get(path, headers=DEFAULT), 401, "admin token")
        assert http.get("/metrics", headers=bearer(token)).status_code == 200
        demo_pair = {
            "ClientToken": "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D",
            "AccessToken": "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D",
            "Client": "orderitems tests",
            "CreatedUtc": {"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-04-01T00:00:00Z"},
            "Limitation": {"Count": 1},
        }
        getall = http.post("/api/connector/v1/orderItems/getAll", json=demo_pair)
        assert getall.status_code == 200, "the public Mews demo tokens stay public"


def test_the_made_up_token_is_printed_once_and_no_token_is_in_any_log_line(
    exposed: tuple[ServerProcess, Path],
) -> None:
    server, _ = exposed
    token = printed_token(server)
    with server.client() as http:
        http.get("/_sandbox/requests", headers=bearer(token))
        http.get("/_sandbox/requests", headers=bearer(token + "-wrong"))
        http.get("/metrics", headers={"Authorization": f"Bearer {STRONG}"})
    log = server.log.read_text()
    assert log.count(token) == 1, log
    assert STRONG not in log
    assert DEMO_ADMIN_TOKEN not in log


def test_a_token_set_for_all_interfaces_works_and_is_never_printed_or_logged(
    store: Store, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = ServerProcess(
        store.database_url,
        tmp_path_factory.mktemp("configured"),
        workers=2,
        host=ALL_INTERFACES,
        sandbox=True,
        admin_token=STRONG,
        log_format="json",
    )
    with running(server), server.client() as http:
        for _ in range(4):
            assert http.get("/_sandbox/faults", headers=bearer(STRONG)).status_code == 200
            assert http.get("/metrics", headers=bearer(STRONG)).status_code == 200
            assert_error(http.get("/_sandbox/faults", headers=DEFAULT), 401)
    log = server.log.read_text()
    assert "the token in ORDERITEMS_ADMIN_TOKEN" in " ".join(log.split())
    assert STRONG not in log
    assert DEMO_ADMIN_TOKEN not in log


@pytest.mark.parametrize(
    ("token", "said"),
    [("short-token", "11 characters"), (DEMO_ADMIN_TOKEN, "published default")],
)
def test_a_weak_token_stops_a_server_on_all_interfaces_at_start_saying_how_to_set_one(
    store: Store, tmp_path: Path, token: str, said: str
) -> None:
    server = ServerProcess(
        store.database_url, tmp_path, host=ALL_INTERFACES, sandbox=True, admin_token=token
    )
    finished = subprocess.run(
        server.command, env=server.env, capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 2, finished.stderr
    message = " ".join(finished.stderr.split())
    assert said in message
    assert "ORDERITEMS_ADMIN_TOKEN" in message
    assert "at least 16 random characters" in message
    assert token not in finished.stderr + finished.stdout
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.base_url}/metrics", timeout=2)


def test_a_short_token_is_fine_on_a_loopback_bind(
    store: Store, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = ServerProcess(
        store.database_url,
        tmp_path_factory.mktemp("loopback-short"),
        sandbox=True,
        admin_token="short",
    )
    with running(server), server.client() as http:
        assert http.get("/_sandbox/clock", headers=bearer("short")).status_code == 200


def test_a_malformed_or_taken_metrics_address_stops_the_server_at_start(
    store: Store, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = f"127.0.0.1:{taken.getsockname()[1]}"
        for address, said in (("9100", "is not host:port"), (busy, "cannot listen there")):
            server = ServerProcess(store.database_url, tmp_path, metrics_address=address)
            finished = subprocess.run(
                server.command, env=server.env, capture_output=True, text=True, timeout=60
            )
            assert finished.returncode == 2, finished.stderr
            assert said in " ".join(finished.stderr.split())
