"""Requests the HTTP server refuses before the app sees them still get the API's error body and
a Request-Id (issue 12 item 10): unparseable lines, impossible lengths, oversized headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract import assert_matches_schema
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade
from processes import ServerProcess, running
from raw_http import RawAnswer, exchange, wait_for_line

GET_ALL = "/api/connector/v1/orderItems/getAll"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("refused")
    url = f"sqlite:///{directory / 'refused.db'}"
    engine = connect(url)
    upgrade(engine)
    engine.dispose()
    with running(ServerProcess(url, directory, max_header_bytes=8192)) as (started,):
        yield started


def assert_error_body(answer: RawAnswer, status: int, words: str) -> None:
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["connection"] == "close"
    body = answer.json()
    assert_matches_schema(body, "ConnectorApiExceptionResult")
    assert body["RequestId"] == answer.headers["request-id"]
    assert words in body["Message"]


def test_a_garbage_request_line_answers_400_with_the_error_body(server: ServerProcess) -> None:
    answer = exchange(server.port, b"GARBAGE\r\n\r\n")
    assert_error_body(answer, 400, "not valid HTTP/1.1")


def test_an_unparseable_content_length_answers_400(server: ServerProcess) -> None:
    answer = exchange(
        server.port, f"POST {GET_ALL} HTTP/1.1\r\nContent-Length: ten\r\n\r\n".encode()
    )
    assert_error_body(answer, 400, "Content-Length")


def test_a_content_length_past_any_number_answers_413(server: ServerProcess) -> None:
    head = f"POST {GET_ALL} HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n"
    assert_error_body(exchange(server.port, head.encode()), 413, "Content-Length")


def test_a_large_content_length_the_parser_reads_answers_413_from_the_app(
    server: ServerProcess,
) -> None:
    head = (
        f"POST {GET_ALL} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 99999999999\r\n\r\n"
    )
    answer = exchange(server.port, head.encode(), timeout=5)
    assert answer.status == 413, answer
    assert answer.json()["RequestId"] == answer.headers["request-id"]


@pytest.mark.parametrize("size", [100_000, 9_000])
def test_headers_over_the_limit_answer_431(server: ServerProcess, size: int) -> None:
    head = f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: {'a' * size}\r\n\r\n"
    assert_error_body(exchange(server.port, head.encode()), 431, "8192 bytes")


def test_headers_under_the_limit_are_served(server: ServerProcess) -> None:
    head = (
        f"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Padding: {'a' * 7000}\r\n\r\n"
    )
    answer = exchange(server.port, head.encode())
    assert answer.status == 200, answer


def test_each_refusal_has_an_access_log_line_with_its_request_id(server: ServerProcess) -> None:
    answer = exchange(server.port, b"NOT HTTP AT ALL\r\n\r\n")
    line = wait_for_line(server, f"rid={answer.headers['request-id']}")
    assert "-> 400" in line
    assert "Traceback" not in server.log.read_text()
