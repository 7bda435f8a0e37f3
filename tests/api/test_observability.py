"""Observability: one structured access-log line per request with its Request-Id, Prometheus
metrics at ``/metrics`` (to the admin token on the API port, or without one on an address of
its own; docs/behaviour.md#admin-token), and the AccessToken read for the limiter without
trusting the body."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import Engine

from answers import assert_error
from conftest import ServerThread, free_port
from factories import make_tenant
from orderitems.api.request_body import decode_body
from orderitems.api.wire import GetAllRequest
from orderitems.cli.server import JsonFormatter, KeyValueFormatter
from orderitems.settings import Settings

GET_ALL = "/api/connector/v1/orderItems/getAll"
ADMIN_TOKEN = "observability-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def observed(database_url: str, engine: Engine) -> Iterator[httpx.Client]:
    """A server with an admin token, so that its ``/metrics`` can be read on the API port."""
    settings = Settings(database_url=database_url, admin_token=ADMIN_TOKEN, rate_limit=False)
    with ServerThread(settings, engine) as server, httpx.Client(base_url=server.base_url) as client:
        yield client


@pytest.fixture(scope="module")
def scraped(database_url: str, engine: Engine) -> Iterator[tuple[httpx.Client, str]]:
    """A server whose metrics have a listener of their own, and that listener's URL."""
    address = f"127.0.0.1:{free_port()}"
    settings = Settings(database_url=database_url, metrics_address=address, rate_limit=False)
    with ServerThread(settings, engine) as server, httpx.Client(base_url=server.base_url) as client:
        yield client, f"http://{address}/metrics"


def assert_metrics(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert "orderitems_database_work_in_progress" in response.text
    return response.text


def getall_400s(text: str) -> float:
    count = re.search(
        r'^orderitems_requests_total\{operation="orderItems/getAll",status="400"\} (\S+)$',
        text,
        re.M,
    )
    return 0.0 if count is None else float(count.group(1))


def test_metrics_count_requests_by_operation_and_status_with_a_latency_histogram(
    observed: httpx.Client, engine: Engine
) -> None:
    tenant = make_tenant(engine)
    for _ in range(3):
        observed.post(GET_ALL, json=tenant.envelope())
    text = assert_metrics(observed.get("/metrics", headers=ADMIN))
    count = re.search(
        r'^orderitems_requests_total\{operation="orderItems/getAll",status="400"\} (\S+)$',
        text,
        re.M,
    )
    assert count is not None
    assert float(count.group(1)) >= 3
    assert (
        'orderitems_request_duration_seconds_bucket{le="0.005",operation="orderItems/getAll"}'
        in text
    )
    assert (
        "orderitems_rate_limit_rejections_total" in text
        or "# TYPE orderitems_rate_limit_rejections" in text
    )
    assert "orderitems_database_work_in_progress" in text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": ADMIN_TOKEN},
        {"Authorization": f"Basic {ADMIN_TOKEN}"},
        {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
        {"Authorization": "Bearer ORDERITEMS-SANDBOX-ADMIN"},
    ],
)
def test_metrics_on_the_api_port_answer_only_the_admin_token(
    observed: httpx.Client, headers: dict[str, str]
) -> None:
    """Issue 12.11: ``/metrics`` answered anyone; now a 401 with the error body."""
    response = observed.get("/metrics", headers=headers)
    assert_error(response, 401, "admin token")
    assert "orderitems_" not in response.text


def test_a_server_given_no_admin_token_serves_its_metrics_to_nobody_on_the_api_port(
    http: httpx.Client,
) -> None:
    """The shared test server has none (``serve`` would make one up and print it)."""
    assert_error(http.get("/metrics"), 401, "admin token")
    assert_error(http.get("/metrics", headers={"Authorization": "Bearer"}), 401)


def test_metrics_with_an_address_of_their_own_need_no_token_and_leave_the_api_port(
    scraped: tuple[httpx.Client, str], engine: Engine
) -> None:
    client, url = scraped
    before = getall_400s(assert_metrics(httpx.get(url, timeout=10)))
    tenant = make_tenant(engine)
    for _ in range(2):
        assert client.post(GET_ALL, json=tenant.envelope()).status_code == 400
    after = getall_400s(assert_metrics(httpx.get(url, timeout=10)))
    assert after == before + 2
    assert_error(client.get("/metrics"), 404, "/metrics")
    assert_error(client.get("/metrics", headers=ADMIN), 404, "/metrics")


@pytest.fixture
def no_metrics(database_url: str, engine: Engine) -> Iterator[httpx.Client]:
    settings = Settings(database_url=database_url, metrics=False)
    with ServerThread(settings, engine) as server, httpx.Client(base_url=server.base_url) as client:
        yield client


def test_metrics_can_be_switched_off(no_metrics: httpx.Client) -> None:
    assert no_metrics.get("/metrics").status_code == 404


def test_each_request_is_logged_once_with_its_request_id_and_fields(
    http: httpx.Client, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = make_tenant(engine)
    with caplog.at_level(logging.INFO, logger="orderitems.api.app"):
        response = http.post(GET_ALL, json=tenant.envelope())
    rid = response.headers["Request-Id"]
    (record,) = [r for r in caplog.records if rid in r.getMessage()]
    fields = record.access  # type: ignore[attr-defined]
    assert fields["request_id"] == rid
    assert fields["status"] == 400
    assert fields["operation"] == "orderItems/getAll"
    assert fields["error"].startswith("Invalid")
    assert tenant.access_token not in json.dumps(fields), "tokens never reach the log"
    assert len(fields["token"]) == 12

    line = KeyValueFormatter("%(message)s").format(record)
    assert line.startswith(f"POST {GET_ALL} -> 400 in ")
    assert " operation=orderItems/getAll " in line
    assert ' error="Invalid' in line
    entry = json.loads(JsonFormatter().format(record))
    assert entry["request_id"] == rid
    assert entry["status"] == 400
    assert entry["level"] == "INFO"


@pytest.mark.parametrize(
    ("body", "strict", "token"),
    [
        (b'{"AccessToken": "A-1", "Limitation": 7}', False, "A-1"),
        (b'{"accesstoken": "A-1"}', False, "A-1"),
        (b'{"accesstoken": "A-1"}', True, None),
        (b'{"AccessToken": ""}', False, None),
        (b'{"AccessToken": 12}', False, None),
        (b'{"AccessToken": "A-1",}', False, None),
        (b"[1, 2]", False, None),
        (b"\xff\xfe", False, None),
        (b"", False, None),
        (b'{"AccessToken": "A-1", "accesstoken": "A-2"}', False, None),
        (b'{"AccessToken": null, "accessToken": "A-1"}', False, None),
        (b'{"AccessToken": "A-1", "ACCESSTOKEN": "A-1"}', True, None),
        (b'{"AccessToken": "A-1", "Limitation": {"Count": 1, "count": 2}}', False, None),
    ],
)
def test_the_limiter_reads_the_access_token_or_leaves_the_400_to_the_operation(
    body: bytes, strict: bool, token: str | None
) -> None:
    decoded = decode_body(body, GetAllRequest, strict=strict)
    assert decoded.access_token == token
    if token is None or decoded.error is None:
        return
    with pytest.raises(type(decoded.error)):
        decoded.request(GetAllRequest)
