"""Injected faults over real HTTP, on two server processes sharing one store: each is answered
as configured, by whichever process serves the request, then normal service resumes
(docs/behaviour.md#faults-and-sandbox)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contract import assert_matches_schema
from factories import Tenant, make_tenant
from processes import (
    SANDBOX_ADMIN,
    ServerProcess,
    Store,
)

GET_ALL = "/api/connector/v1/orderItems/getAll"
CANCEL = "/api/connector/v1/orderItems/cancel"


def query(tenant: Tenant) -> dict[str, Any]:
    return tenant.envelope(
        CreatedUtc={"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-03-31T00:00:00Z"},
        Limitation={"Count": 1},
    )


@pytest.fixture
def clients(sandbox_pair: tuple[ServerProcess, ...]) -> Iterator[tuple[httpx.Client, ...]]:
    opened = [server.client() for server in sandbox_pair]
    yield tuple(opened)
    for client in opened:
        client.close()


def add_fault(http: httpx.Client, **spec: Any) -> dict[str, Any]:
    response = http.post("/_sandbox/faults", json=spec, headers=SANDBOX_ADMIN)
    assert response.status_code == 201, response.text
    fault: dict[str, Any] = response.json()
    return fault


def assert_error_body(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert_matches_schema(body, "ConnectorApiExceptionResult")
    assert body["RequestId"] == response.headers["Request-Id"]
    return body


@pytest.mark.parametrize(
    ("spec", "retry_after"),
    [
        ({"Status": 429, "RetryAfter": 7}, "7"),
        ({"Status": 429}, None),
        ({"Status": 408}, None),
        ({"Status": 500}, None),
        ({"Status": 503, "RetryAfter": 2}, "2"),
    ],
    ids=["429-retry-after", "429-bare", "408", "500", "503-retry-after"],
)
def test_the_next_requests_get_the_injected_fault_then_service_resumes(
    clients: tuple[httpx.Client, ...],
    store: Store,
    spec: dict[str, Any],
    retry_after: str | None,
) -> None:
    tenant = make_tenant(store.engine)
    fault = add_fault(clients[0], **spec, Count=2, AccessToken=tenant.access_token)
    assert fault["Remaining"] == 2
    # Alternate processes: the count is shared, not per process.
    for http in (clients[1], clients[0]):
        response = http.post(GET_ALL, json=query(tenant))
        body = assert_error_body(response, spec["Status"])
        assert body["Details"] == {"InjectedFault": fault["Id"]}
        assert response.headers.get("Retry-After") == retry_after
    answered = clients[1].post(GET_ALL, json=query(tenant))
    assert answered.status_code == 200, answered.text
    listed = clients[0].get("/_sandbox/faults", headers=SANDBOX_ADMIN).json()
    assert next(f for f in listed if f["Id"] == fault["Id"])["Remaining"] == 0
    clients[0].delete(f"/_sandbox/faults/{fault['Id']}", headers=SANDBOX_ADMIN)


def test_added_latency_slows_the_next_request_only(
    clients: tuple[httpx.Client, ...], store: Store
) -> None:
    tenant = make_tenant(store.engine)
    add_fault(clients[0], DelayMs=600, Count=1, AccessToken=tenant.access_token)
    started = time.monotonic()
    assert clients[1].post(GET_ALL, json=query(tenant)).status_code == 200
    assert time.monotonic() - started >= 0.6
    started = time.monotonic()
    assert clients[0].post(GET_ALL, json=query(tenant)).status_code == 200
    assert time.monotonic() - started < 0.6


def test_latency_then_a_status_delays_the_fault_itself(
    clients: tuple[httpx.Client, ...], store: Store
) -> None:
    tenant = make_tenant(store.engine)
    add_fault(clients[0], Status=503, DelayMs=300, Count=1, AccessToken=tenant.access_token)
    started = time.monotonic()
    assert_error_body(clients[0].post(GET_ALL, json=query(tenant)), 503)
    assert time.monotonic() - started >= 0.3


def test_a_percentage_fault_hits_about_that_share_until_removed(
    clients: tuple[httpx.Client, ...], store: Store
) -> None:
    tenant = make_tenant(store.engine)
    fault = add_fault(clients[0], Status=500, Percent=50, AccessToken=tenant.access_token)
    statuses = [clients[i % 2].post(GET_ALL, json=query(tenant)).status_code for i in range(60)]
    assert set(statuses) == {200, 500}
    assert 10 <= statuses.count(500) <= 50, statuses  # binomial(60, 0.5): outside is ~1e-8
    removed = clients[1].delete(f"/_sandbox/faults/{fault['Id']}", headers=SANDBOX_ADMIN)
    assert removed.status_code == 204
    assert [clients[0].post(GET_ALL, json=query(tenant)).status_code for _ in range(5)] == [200] * 5


def test_a_fault_for_one_operation_leaves_the_others_alone(
    clients: tuple[httpx.Client, ...], store: Store
) -> None:
    tenant = make_tenant(store.engine)
    fault = add_fault(
        clients[0], Status=503, Operation="orderitems/CANCEL", AccessToken=tenant.access_token
    )
    assert fault["Operation"] == "orderItems/cancel"
    assert clients[0].post(GET_ALL, json=query(tenant)).status_code == 200
    cancel = tenant.envelope(OrderItemIds=["8a2b7f3c-0000-4000-8000-000000000001"])
    assert_error_body(clients[1].post(CANCEL, json=cancel), 503)
    clients[0].delete(f"/_sandbox/faults/{fault['Id']}", headers=SANDBOX_ADMIN)


def test_a_fault_for_one_access_token_leaves_other_tokens_alone(
    clients: tuple[httpx.Client, ...], store: Store
) -> None:
    target, bystander = make_tenant(store.engine), make_tenant(store.engine)
    fault = add_fault(clients[0], Status=500, AccessToken=target.access_token)
    assert fault["AccessTokenSha256"] is not None
    assert target.access_token not in str(fault), "the token itself is never echoed"
    assert clients[1].post(GET_ALL, json=query(bystander)).status_code == 200
    assert_error_body(clients[1].post(GET_ALL, json=query(target)), 500)
    clients[0].delete(f"/_sandbox/faults/{fault['Id']}", headers=SANDBOX_ADMIN)


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({"Status": 404}, "Status"),
        ({}, "Status"),
        ({"Status": 500, "RetryAfter": 3}, "RetryAfter"),
        ({"Status": 500, "Operation": "orderItems/delete"}, "Operation"),
        ({"Status": 500, "Percent": 0}, "Percent"),
        ({"Status": "often"}, "Status"),
    ],
)
def test_a_fault_that_cannot_be_injected_is_refused_with_400(
    clients: tuple[httpx.Client, ...], spec: dict[str, Any], named: str
) -> None:
    response = clients[0].post("/_sandbox/faults", json=spec, headers=SANDBOX_ADMIN)
    assert named in assert_error_body(response, 400)["Message"]
