"""The client against the server's own fault injection and a rate limiter set low: no mocks.

The faults are scoped to this test's AccessToken and limited in count, so nothing else sees them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from client_support import Recorder, make_client
from sqlalchemy.engine import Engine

from conftest import ServerThread
from factories import T0, Tenant, make_item, make_tenant, store_items
from orderitems.client import Client, RetryPolicy
from orderitems.settings import Settings

ADMIN = "client-tests-admin"
PERIOD = (T0, T0 + timedelta(days=10))


@pytest.fixture(scope="module")
def tenant(engine: Engine) -> Tenant:
    tenant = make_tenant(engine)
    store_items(
        engine,
        tenant,
        [
            make_item(enterprise_id=tenant.enterprise_id, created_utc=T0 + timedelta(hours=k))
            for k in range(10)
        ],
    )
    return tenant


@pytest.fixture(scope="module")
def sandbox(database_url: str, engine: Engine) -> Iterator[ServerThread]:
    settings = Settings(
        database_url=database_url,
        development=True,
        sandbox=True,
        admin_token=ADMIN,
        rate_limit=False,
    )
    with ServerThread(settings, engine) as running:
        yield running


@pytest.fixture(scope="module")
def limited(database_url: str, engine: Engine) -> Iterator[ServerThread]:
    settings = Settings(
        database_url=database_url, rate_limit_requests=4, rate_limit_window_seconds=1.0
    )
    with ServerThread(settings, engine) as running:
        yield running


def add_fault(server: ServerThread, tenant: Tenant, **spec: object) -> None:
    body = {"Operation": "orderItems/getAll", "AccessToken": tenant.access_token, **spec}
    answer = httpx.post(
        f"{server.base_url}/_sandbox/faults",
        json=body,
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert answer.status_code == 201, answer.text


def test_injected_429_408_and_500_are_survived_and_the_result_is_complete(
    sandbox: ServerThread, tenant: Tenant
) -> None:
    add_fault(sandbox, tenant, Status=429, RetryAfter=1, Count=1)
    add_fault(sandbox, tenant, Status=429, Count=1)
    add_fault(sandbox, tenant, Status=408, Count=1)
    add_fault(sandbox, tenant, Status=500, Count=1)
    recorder = Recorder()
    with make_client(sandbox, tenant, recorder=recorder) as client:
        items = list(client.iter_order_items(created_utc=PERIOD, page_size=6))
    assert sorted(i.id for i in items) == sorted(i.id for i in tenant.items)
    answered = [s for s in recorder.statuses if s is not None]
    assert sorted(s for s in answered if s != 200) == [408, 429, 429, 500]
    assert 1.0 in recorder.sleeps, "Retry-After honoured"
    after_408 = recorder.statuses.index(408) + 1
    assert recorder.bodies[after_408]["Limitation"]["Count"] == 3


def test_a_low_rate_limit_is_waited_out_with_the_servers_retry_after(
    limited: ServerThread, tenant: Tenant
) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)  # the client really waits out Retry-After: the window must pass

    client = Client(
        base_url=limited.base_url,
        client_token=tenant.client_token,
        access_token=tenant.access_token,
        retry=RetryPolicy(jitter=False),
        sleep=sleep,
    )
    with client:
        items = list(client.iter_order_items(created_utc=PERIOD, page_size=2))
    assert sorted(i.id for i in items) == sorted(i.id for i in tenant.items)
    assert slept, "six requests at four a second meet the limit"
    assert all(0 < s <= 1 for s in slept), "whole seconds from Retry-After"
