"""Slow clients cannot hold a server (issue 12 item 5): a silent connection, headers sent a byte
at a time and a body that stops are each cut at their timeout (408 with the error body where
there is a request to answer), and a few hundred of them leave other clients served."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from contract import assert_matches_schema
from orderitems.cli.protocol import LINGER
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade
from processes import ServerProcess, running
from raw_http import exchange, parse, request_head, wait_for_line

GET_ALL = "/api/connector/v1/orderItems/getAll"
HEADER_TIMEOUT = 1.5
BODY_TIMEOUT = 1.5
#: Slack for a loaded machine between a timer's due time and the server acting on it.
SLACK = 3.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("slow")
    url = f"sqlite:///{directory / 'slow.db'}"
    engine = connect(url)
    upgrade(engine)
    engine.dispose()
    settings = {
        "header_timeout_seconds": HEADER_TIMEOUT,
        "body_timeout_seconds": BODY_TIMEOUT,
        "rate_limit": False,
    }
    with running(ServerProcess(url, directory, options=settings)) as (started,):
        yield started


def test_a_silent_connection_is_closed_at_the_header_timeout(server: ServerProcess) -> None:
    answer = exchange(server.port, b"", timeout=HEADER_TIMEOUT + SLACK + 5)
    assert answer.status is None  # nothing to answer: no request began
    assert HEADER_TIMEOUT - 0.2 < answer.closed_after < HEADER_TIMEOUT + SLACK


def test_headers_that_stop_arriving_answer_408(server: ServerProcess) -> None:
    answer = exchange(server.port, b"POST /api/connector/v1/orderItems/getAll HTTP/1.1\r\nHo")
    assert answer.status == 408, answer
    assert answer.closed_after < HEADER_TIMEOUT + LINGER + SLACK
    body = answer.json()
    assert_matches_schema(body, "ConnectorApiExceptionResult")
    assert body["RequestId"] == answer.headers["request-id"]
    assert "headers did not arrive" in body["Message"]


def test_a_body_shorter_than_its_content_length_answers_408(server: ServerProcess) -> None:
    answer = exchange(server.port, request_head(GET_ALL, length=100) + b'{"ClientToken":')
    assert answer.status == 408, answer
    assert BODY_TIMEOUT - 0.2 < answer.closed_after < BODY_TIMEOUT + SLACK
    assert answer.headers["connection"] == "close"
    body = answer.json()
    assert_matches_schema(body, "ConnectorApiExceptionResult")
    assert "did not arrive within" in body["Message"]
    line = wait_for_line(server, f"rid={body['RequestId']}")
    assert "-> 408" in line
    assert "operation=orderItems/getAll" in line


async def _trickle(port: int, prefix: bytes, results: list[tuple[int | None, float]]) -> None:
    """Send ``prefix`` then one more byte every 0.2 s until the server ends the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    received = b""
    try:
        writer.write(prefix)
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 0.2)
            except TimeoutError:
                writer.write(b"a")
                continue
            if not chunk:
                break
            received += chunk
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
    results.append((parse(received, 0).status, time.monotonic() - started))


def test_hundreds_of_slow_clients_are_cut_and_others_served_meanwhile(
    server: ServerProcess,
) -> None:
    slow_headers = b"POST /api/connector/v1/orderItems/getAll HTTP/1.1\r\nX-Slow: "
    slow_body = request_head(GET_ALL, length=1_000_000) + b'{"Pad": "'
    results: list[tuple[int | None, float]] = []
    served: list[float] = []

    def others() -> None:
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            for _ in range(20):
                started = time.monotonic()
                assert http.post(GET_ALL, json={}).status_code == 400  # answered: no token
                served.append(time.monotonic() - started)
                time.sleep(0.05)  # paced, not synchronised: others keep coming during the flood

    async def flood() -> None:
        clients = [_trickle(server.port, slow_headers, results) for _ in range(200)]
        clients += [_trickle(server.port, slow_body, results) for _ in range(100)]
        everything = asyncio.gather(*clients, asyncio.to_thread(others))
        await asyncio.wait_for(everything, max(HEADER_TIMEOUT, BODY_TIMEOUT) + SLACK + 10)

    asyncio.run(flood())
    assert len(results) == 300
    assert {status for status, _ in results} == {408}
    longest = max(HEADER_TIMEOUT, BODY_TIMEOUT) + LINGER + SLACK
    assert max(seconds for _, seconds in results) < longest
    assert len(served) == 20
    assert max(served) < 1.0, served
