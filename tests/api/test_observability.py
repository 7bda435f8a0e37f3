"""Observability: one structured access-log line per request with its Request-Id, Prometheus
metrics at ``/metrics``, and the AccessToken read for the limiter without trusting the body."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import Engine

from conftest import ServerThread
from factories import make_tenant
from orderitems.api.request_body import decode_body
from orderitems.api.wire import GetAllRequest
from orderitems.cli.server import JsonFormatter, KeyValueFormatter
from orderitems.settings import Settings

GET_ALL = "/api/connector/v1/orderItems/getAll"


def test_metrics_count_requests_by_operation_and_status_with_a_latency_histogram(
    http: httpx.Client, engine: Engine
) -> None:
    tenant = make_tenant(engine)
    for _ in range(3):
        http.post(GET_ALL, json=tenant.envelope())
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
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
