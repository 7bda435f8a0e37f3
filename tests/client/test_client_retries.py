"""Retries against the real server, with faults injected into the real traffic (MockTransport
style): 429 with and without ``Retry-After``, 408, 5xx and dropped connections are survived with
a complete result; 400 and 401 fail at once with the API's message and request id.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import anyio
import httpx
import pytest
from client_support import (
    Fault,
    FaultyTransport,
    Recorder,
    error,
    make_async_client,
    make_client,
)
from sqlalchemy.engine import Engine

from conftest import ServerThread
from factories import T0, Tenant, make_item, make_tenant, store_items
from orderitems.client import (
    BadRequest,
    ConnectionFailed,
    OrderItem,
    RateLimited,
    RetryPolicy,
    ServerError,
    Timeout,
    Unauthorized,
)

PERIOD = (T0, T0 + timedelta(days=30))


@pytest.fixture(scope="module")
def tenant(engine: Engine) -> Tenant:
    tenant = make_tenant(engine)
    store_items(
        engine,
        tenant,
        [
            make_item(enterprise_id=tenant.enterprise_id, created_utc=T0 + timedelta(hours=k))
            for k in range(9)
        ],
    )
    return tenant


def fetch(
    server: ServerThread,
    tenant: Tenant,
    recorder: Recorder,
    faults: list[Fault],
    *,
    page_size: int = 4,
    retry: RetryPolicy | None = None,
) -> list[OrderItem]:
    kwargs = {} if retry is None else {"retry": retry}
    with make_client(server, tenant, recorder=recorder, faults=faults, **kwargs) as client:
        return list(client.iter_order_items(created_utc=PERIOD, page_size=page_size))


def assert_complete(items: list[OrderItem], tenant: Tenant) -> None:
    ids = [item.id for item in items]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(item.id for item in tenant.items)


def test_a_429_with_retry_after_waits_exactly_what_the_server_asked(
    server: ServerThread, tenant: Tenant
) -> None:
    recorder = Recorder()
    items = fetch(server, tenant, recorder, [error(429, "Too many", **{"Retry-After": "3"})])
    assert_complete(items, tenant)
    assert recorder.sleeps == [3.0]
    assert recorder.statuses[:2] == [429, 200]
    assert recorder.bodies[0] == recorder.bodies[1], "the same request is sent again"


def test_a_429_without_retry_after_backs_off_exponentially(
    server: ServerThread, tenant: Tenant
) -> None:
    recorder = Recorder()
    items = fetch(server, tenant, recorder, [error(429), error(429), error(429)])
    assert_complete(items, tenant)
    assert recorder.sleeps == [0.5, 1.0, 2.0]


def test_backoff_is_jittered_within_the_upper_half_of_each_step(
    server: ServerThread, tenant: Tenant
) -> None:
    recorder = Recorder()
    items = fetch(server, tenant, recorder, [error(429)] * 4, retry=RetryPolicy())
    assert_complete(items, tenant)
    for step, slept in enumerate(recorder.sleeps):
        assert 0.25 * 2**step <= slept <= 0.5 * 2**step


def test_a_408_halves_the_page_size_and_the_result_is_still_complete(
    server: ServerThread, tenant: Tenant
) -> None:
    recorder = Recorder()
    items = fetch(server, tenant, recorder, [error(408), error(408)])
    assert_complete(items, tenant)
    counts = [body["Limitation"]["Count"] for body in recorder.bodies]
    assert counts[:3] == [4, 2, 1]
    assert set(counts[3:]) == {1}, "the smaller size is kept for the rest of the request"
    assert recorder.sleeps == [], "a smaller request is the remedy, not waiting"


def test_a_408_at_page_size_one_is_retried_with_backoff_then_raised(
    server: ServerThread, tenant: Tenant
) -> None:
    recorder = Recorder()
    assert_complete(fetch(server, tenant, recorder, [error(408)], page_size=1), tenant)
    assert recorder.sleeps == [0.5]
    with pytest.raises(Timeout) as raised:
        fetch(server, tenant, Recorder(), [error(408)] * 6, page_size=1)
    assert raised.value.status == 408


def test_5xx_and_dropped_connections_are_retried_mid_stream_with_the_same_cursor(
    server: ServerThread, tenant: Tenant
) -> None:
    recorder = Recorder()
    faults: list[Fault] = [error(500), httpx.ConnectError("refused"), error(503)]
    with make_client(server, tenant, recorder=recorder, faults=faults) as client:
        transport = client.http._transport
        assert isinstance(transport, FaultyTransport)
        transport.when = lambda request: b'"Cursor"' in request.content
        items = list(client.iter_order_items(created_utc=PERIOD, page_size=4))
    assert_complete(items, tenant)
    assert recorder.statuses[:5] == [200, 500, None, 503, 200]
    assert len({str(body["Limitation"]) for body in recorder.bodies[1:5]}) == 1
    assert recorder.sleeps == [0.5, 1.0, 2.0]


def test_5xx_beyond_the_retry_budget_raises_server_error_with_the_request_id(
    server: ServerThread, tenant: Tenant
) -> None:
    recorder = Recorder()
    with pytest.raises(ServerError) as raised:
        fetch(server, tenant, recorder, [error(500, "Boom")] * 3, retry=RetryPolicy(max_retries=2))
    assert (raised.value.status, raised.value.message) == (500, "Boom")
    assert raised.value.request_id == "fault-500"
    assert len(recorder.bodies) == 3


def test_connection_failures_beyond_the_budget_raise_connection_failed(
    server: ServerThread, tenant: Tenant
) -> None:
    faults: list[Fault] = [httpx.ConnectError("refused")] * 2
    with pytest.raises(ConnectionFailed):
        fetch(server, tenant, Recorder(), faults, retry=RetryPolicy(max_retries=1, jitter=False))


def test_a_429_beyond_the_budget_raises_rate_limited_with_retry_after(
    server: ServerThread, tenant: Tenant
) -> None:
    recorder = Recorder()
    faults: list[Fault] = [error(429, **{"Retry-After": "7"})] * 3
    with pytest.raises(RateLimited) as raised:
        fetch(server, tenant, recorder, faults, retry=RetryPolicy(max_rate_limit_retries=2))
    assert raised.value.retry_after == 7.0
    assert recorder.sleeps == [7.0, 7.0]


def test_401_fails_fast_with_the_servers_message_and_request_id(
    server: ServerThread, tenant: Tenant
) -> None:
    recorder = Recorder()
    stranger = Tenant(
        enterprise_ids=tenant.enterprise_ids,
        client_token=tenant.client_token,
        access_token="NOT-A-TOKEN",
        profile_id=uuid.uuid4(),
    )
    with pytest.raises(Unauthorized) as raised:
        fetch(server, stranger, recorder, [])
    assert raised.value.status == 401
    assert "AccessToken" in raised.value.message or "token" in raised.value.message.lower()
    assert raised.value.request_id
    assert str(raised.value).startswith("401 ")
    assert len(recorder.bodies) == 1, "never retried"
    assert recorder.sleeps == []


def test_400_is_never_retried(server: ServerThread, tenant: Tenant) -> None:
    recorder = Recorder()
    with make_client(server, tenant, recorder=recorder) as client, pytest.raises(BadRequest):
        list(client.iter_order_items(accounting_states=["Open"]))
    assert len(recorder.bodies) == 1
    assert recorder.sleeps == []


def test_the_async_client_survives_the_same_faults_with_the_same_result(
    server: ServerThread, tenant: Tenant
) -> None:
    recorder = Recorder()
    faults: list[Fault] = [
        error(429, **{"Retry-After": "1"}),
        error(408),
        httpx.ReadTimeout("slow"),
        error(502),
    ]

    async def fetch_async() -> list[OrderItem]:
        client = make_async_client(server, tenant, recorder=recorder, faults=faults)
        async with client:
            return [i async for i in client.iter_order_items(created_utc=PERIOD, page_size=4)]

    items = anyio.run(fetch_async)
    assert_complete(items, tenant)
    assert recorder.sleeps == [1.0, 0.5, 1.0]
    assert [body["Limitation"]["Count"] for body in recorder.bodies[:3]] == [4, 4, 2]
