"""The sandbox clock and request log, set and read through one process and seen by the other:
a frozen clock is what cancel writes; the log tells why each call failed; the admin API
refuses requests without its token and does not exist outside sandbox mode."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from contract import assert_matches_schema
from factories import Tenant, make_item, make_tenant, store_items
from orderitems.store.schema import access_tokens
from processes import (
    SANDBOX_ADMIN,
    ServerProcess,
    Store,
)

GET_ALL = "/api/connector/v1/orderItems/getAll"
CANCEL = "/api/connector/v1/orderItems/cancel"


@pytest.fixture
def clients(sandbox_pair: tuple[ServerProcess, ...]) -> Iterator[tuple[httpx.Client, ...]]:
    opened = [server.client() for server in sandbox_pair]
    yield tuple(opened)
    opened[0].delete("/_sandbox/clock", headers=SANDBOX_ADMIN)
    for client in opened:
        client.close()


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def label_of(store: Store, tenant: Tenant) -> str:
    digest = hashlib.sha256(tenant.access_token.encode()).digest()
    with store.engine.connect() as connection:
        label: str = connection.execute(
            sa.select(access_tokens.c.label).where(access_tokens.c.token_hash == digest)
        ).scalar_one()
    return label


def test_a_frozen_clock_is_what_cancel_writes(
    clients: tuple[httpx.Client, ...], store: Store
) -> None:
    tenant = make_tenant(store.engine)
    (item,) = store_items(store.engine, tenant, [make_item(enterprise_id=tenant.enterprise_id)])
    frozen = clients[0].put(
        "/_sandbox/clock", json={"NowUtc": "2031-05-04T03:02:01Z"}, headers=SANDBOX_ADMIN
    )
    assert frozen.json() == {"NowUtc": "2031-05-04T03:02:01Z", "Frozen": True, "OffsetSeconds": 0}
    shown = clients[1].get("/_sandbox/clock", headers=SANDBOX_ADMIN).json()
    assert shown["NowUtc"] == "2031-05-04T03:02:01Z"
    assert shown["Frozen"] is True

    canceled = clients[1].post(CANCEL, json=tenant.envelope(OrderItemIds=[str(item.id)]))
    assert canceled.status_code == 200, canceled.text
    page = (
        clients[0]
        .post(
            GET_ALL,
            json=tenant.envelope(OrderItemIds=[str(item.id)], Limitation={"Count": 1}),
        )
        .json()
    )
    (found,) = page["OrderItems"]
    assert found["AccountingState"] == "Canceled"
    assert found["CanceledUtc"] == "2031-05-04T03:02:01Z"
    assert found["UpdatedUtc"] == "2031-05-04T03:02:01Z"


def test_a_set_clock_runs_on_from_its_instant_and_release_restores_the_system_clock(
    clients: tuple[httpx.Client, ...],
) -> None:
    body = {"NowUtc": "2020-01-01T00:00:00Z", "Frozen": False}
    set_to = clients[0].put("/_sandbox/clock", json=body, headers=SANDBOX_ADMIN).json()
    assert set_to["Frozen"] is False
    assert set_to["OffsetSeconds"] < 0
    later = parse_utc(clients[1].get("/_sandbox/clock", headers=SANDBOX_ADMIN).json()["NowUtc"])
    assert datetime(2020, 1, 1, tzinfo=UTC) <= later < datetime(2020, 1, 1, 0, 1, tzinfo=UTC)
    frozen_now = clients[1].put("/_sandbox/clock", json={}, headers=SANDBOX_ADMIN).json()
    assert frozen_now["Frozen"] is True
    assert parse_utc(frozen_now["NowUtc"]) - later < timedelta(minutes=1), "frozen where it was"
    released = clients[1].delete("/_sandbox/clock", headers=SANDBOX_ADMIN).json()
    assert released["Frozen"] is False
    assert abs(parse_utc(released["NowUtc"]) - datetime.now(UTC)) < timedelta(minutes=1)


def test_the_request_log_tells_each_call_its_operation_token_status_and_message(
    clients: tuple[httpx.Client, ...], store: Store
) -> None:
    tenant = make_tenant(store.engine)
    missing_limitation = tenant.envelope(
        CreatedUtc={"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-03-31T00:00:00Z"}
    )
    assert clients[0].post(GET_ALL, json=missing_limitation).status_code == 400
    good = {**missing_limitation, "Limitation": {"Count": 1}}
    ok = clients[1].post(GET_ALL, json=good)
    assert ok.status_code == 200
    assert clients[0].post("/api/connector/v1/orderItems/nope", json=good).status_code == 404

    log: list[dict[str, Any]] = (
        clients[1].get("/_sandbox/requests", params={"limit": 3}, headers=SANDBOX_ADMIN).json()
    )
    unknown, served, refused = log
    assert unknown["Status"] == 404
    assert unknown["Operation"] is None
    assert served["RequestId"] == ok.headers["Request-Id"]
    assert served["Status"] == 200
    assert served["Message"] is None
    assert refused["Status"] == 400
    assert "Limitation" in refused["Message"]
    label = label_of(store, tenant)
    for entry in (served, refused):
        assert entry["Operation"] == "orderItems/getAll"
        assert entry["TokenLabel"] == label
        assert entry["Method"] == "POST"
        assert entry["LatencyMs"] > 0
        assert parse_utc(entry["AtUtc"]) > datetime.now(UTC) - timedelta(minutes=1)


def test_injected_faults_and_deadline_answers_are_in_the_log_with_their_fault(
    clients: tuple[httpx.Client, ...], store: Store
) -> None:
    tenant = make_tenant(store.engine)
    spec = {"Status": 429, "Count": 1, "AccessToken": tenant.access_token}
    fault = clients[0].post("/_sandbox/faults", json=spec, headers=SANDBOX_ADMIN).json()
    body = tenant.envelope(OrderItemIds=[str(tenant.enterprise_id)], Limitation={"Count": 1})
    assert clients[1].post(GET_ALL, json=body).status_code == 429
    (entry,) = clients[0].get("/_sandbox/requests?limit=1", headers=SANDBOX_ADMIN).json()
    assert entry["FaultId"] == fault["Id"]
    assert entry["Status"] == 429
    assert "Too many requests" in entry["Message"]


def test_admin_requests_are_not_in_the_log_and_clearing_empties_it(
    clients: tuple[httpx.Client, ...],
) -> None:
    assert clients[0].delete("/_sandbox/requests", headers=SANDBOX_ADMIN).status_code == 204
    clients[1].get("/_sandbox/faults", headers=SANDBOX_ADMIN)
    assert clients[1].get("/_sandbox/requests", headers=SANDBOX_ADMIN).json() == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-sandbox-admin"}],
    ids=["none", "wrong", "not-bearer"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_sandbox/faults"),
        ("POST", "/_sandbox/faults"),
        ("PUT", "/_sandbox/clock"),
        ("GET", "/_sandbox/requests"),
        ("POST", "/_sandbox/reset"),
        ("DELETE", "/_sandbox/limits"),
    ],
)
def test_admin_endpoints_refuse_requests_without_the_admin_token(
    clients: tuple[httpx.Client, ...], method: str, path: str, headers: dict[str, str]
) -> None:
    response = clients[0].request(method, path, json={"Status": 500}, headers=headers)
    assert response.status_code == 401, response.text
    body = response.json()
    assert_matches_schema(body, "ConnectorApiExceptionResult")
    assert "admin token" in body["Message"]


def test_an_unknown_admin_path_is_404_with_the_error_body(
    clients: tuple[httpx.Client, ...],
) -> None:
    response = clients[0].get("/_sandbox/nothing", headers=SANDBOX_ADMIN)
    assert response.status_code == 404
    assert_matches_schema(response.json(), "ConnectorApiExceptionResult")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/_sandbox/faults"), ("POST", "/_sandbox/reset"), ("GET", "/_sandbox/clock")],
)
def test_admin_endpoints_do_not_exist_when_sandbox_mode_is_off(
    http: httpx.Client, method: str, path: str
) -> None:
    """The suite's shared server runs without sandbox mode: 404, even with a token."""
    response = http.request(method, path, headers=SANDBOX_ADMIN)
    assert response.status_code == 404, response.text
    assert_matches_schema(response.json(), "ConnectorApiExceptionResult")


def test_reset_is_refused_outside_demo_mode(clients: tuple[httpx.Client, ...]) -> None:
    """A sandbox server on its own data has no demo data to go back to; nothing is emptied."""
    response = clients[0].post("/_sandbox/reset", headers=SANDBOX_ADMIN)
    assert response.status_code == 400
    assert "demo" in response.json()["Message"]
