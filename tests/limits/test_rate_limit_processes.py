"""The rate limit over real HTTP on real server processes that share one store: a SQLite file,
PostgreSQL, or Redis (docs/behaviour.md#limits).

A small window (5 requests per 2 s) keeps the waits short; one test runs the default 200 per
30 s on ``serve --workers 4``.
"""

from __future__ import annotations

import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from contract import assert_matches_schema
from factories import Tenant, make_tenant
from processes import (
    SANDBOX_ADMIN,
    SANDBOX_TOKEN,
    Pairs,
    ServerProcess,
    Store,
    running,
    store_settings,
)

GET_ALL = "/api/connector/v1/orderItems/getAll"
LIMIT, WINDOW = 5, 2.0
JSON = {"Content-Type": "application/json"}


def query(tenant: Tenant) -> dict[str, Any]:
    return tenant.envelope(
        CreatedUtc={"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-03-31T00:00:00Z"},
        Limitation={"Count": 1},
    )


def assert_rate_limited(response: httpx.Response, *, at_most: float) -> int:
    """A 429 with the official error body and a whole-second Retry-After in 1..at_most."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert_matches_schema(body, "ConnectorApiExceptionResult")
    assert body["RequestId"] == response.headers["Request-Id"]
    assert "Too many requests" in body["Message"]
    retry_after = response.headers["Retry-After"]
    assert re.fullmatch(r"[1-9][0-9]*", retry_after), retry_after
    assert int(retry_after) <= math.ceil(at_most)
    return int(retry_after)


@pytest.fixture
def pair(pairs: Pairs, store: Store) -> tuple[ServerProcess, ...]:
    """Two server processes on one store, limited to 5 requests per AccessToken per 2 s."""
    return pairs.get(
        "limited",
        store,
        rate_limit_requests=LIMIT,
        rate_limit_window_seconds=WINDOW,
        max_body_bytes=4096,
    )


def test_the_limit_is_accepted_then_429_with_retry_after_then_accepted_again(
    pair: tuple[ServerProcess, ...], store: Store
) -> None:
    tenant = make_tenant(store.engine)
    body = query(tenant)
    with pair[0].client() as http:
        first = time.time()
        assert [http.post(GET_ALL, json=body).status_code for _ in range(LIMIT)] == [200] * LIMIT
        refused = http.post(GET_ALL, json=body)
        refused_at = time.time()
        retry_after = assert_rate_limited(refused, at_most=WINDOW)
        assert abs(retry_after - (first + WINDOW - refused_at)) <= 1, "correct within a second"
        for _ in range(3):
            assert_rate_limited(http.post(GET_ALL, json=body), at_most=WINDOW)
        # Not synchronisation: the window really has to elapse on the servers' own clock.
        time.sleep(max(retry_after - (time.time() - refused_at), 0))
        assert http.post(GET_ALL, json=body).status_code == 200, "refusals were not counted"


def test_two_processes_sharing_the_store_allow_the_limit_in_total(
    pair: tuple[ServerProcess, ...], store: Store
) -> None:
    """Three times the limit, sent concurrently to both processes: exactly the limit passes."""
    tenant = make_tenant(store.engine)
    body = query(tenant)
    clients = [server.client() for server in pair]
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            responses = list(
                pool.map(lambda i: clients[i % 2].post(GET_ALL, json=body), range(3 * LIMIT))
            )
    finally:
        for client in clients:
            client.close()
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == 2 * LIMIT, statuses
    for response in responses:
        if response.status_code == 429:
            assert_rate_limited(response, at_most=WINDOW)


def test_each_access_token_has_its_own_window(
    pair: tuple[ServerProcess, ...], store: Store
) -> None:
    first, second = make_tenant(store.engine), make_tenant(store.engine)
    with pair[1].client() as http:
        for _ in range(LIMIT):
            assert http.post(GET_ALL, json=query(first)).status_code == 200
        assert_rate_limited(http.post(GET_ALL, json=query(first)), at_most=WINDOW)
        assert http.post(GET_ALL, json=query(second)).status_code == 200


def test_malformed_bodies_are_400_and_never_counted(
    pair: tuple[ServerProcess, ...], store: Store
) -> None:
    tenant = make_tenant(store.engine)
    with pair[0].client() as http:
        for bad in (b"{not json", b"[]", b'{"AccessToken": 7}'):
            for _ in range(LIMIT + 1):
                assert http.post(GET_ALL, content=bad, headers=JSON).status_code == 400
        for _ in range(LIMIT):
            assert http.post(GET_ALL, json=query(tenant)).status_code == 200


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_refused_request_does_no_database_work(
    pair: tuple[ServerProcess, ...], store: Store
) -> None:
    """With the items table locked, an accepted getAll would wait; a refused one answers.

    PostgreSQL only: there a lock on the items table leaves the limiter's own table free.
    """
    tenant = make_tenant(store.engine)
    with pair[0].client() as http:
        for _ in range(LIMIT):
            assert http.post(GET_ALL, json=query(tenant)).status_code == 200
        with store.engine.begin() as connection:
            connection.execute(sa.text("lock table order_items in access exclusive mode"))
            started = time.monotonic()
            refused = http.post(GET_ALL, json=query(tenant), timeout=5)
            assert time.monotonic() - started < 2
            assert_rate_limited(refused, at_most=WINDOW)


def test_a_body_over_the_limit_is_413_before_the_rest_is_sent(
    pair: tuple[ServerProcess, ...],
) -> None:
    """A 1 GiB Content-Length is answered at once, while the client has sent a few bytes."""
    import socket

    with socket.create_connection(("127.0.0.1", pair[0].port), timeout=10) as sock:
        sock.sendall(
            f"POST {GET_ALL} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {1 << 30}\r\n\r\n".encode()
            + b'{"ClientToken": "'
        )
        answer = ""
        while '"Message"' not in answer and (chunk := sock.recv(65536)):
            answer += chunk.decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert '"Message":"The request body is larger than 4096 bytes."' in answer


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_serve_with_four_workers_allows_two_hundred_per_thirty_seconds_in_total(
    store: Store, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The default limit on ``serve --workers 4``: 240 concurrent requests, exactly 200 pass.

    On the SQLite file, the default store of a demo server (four workers start slowly on two
    cores); the two-process tests above prove every store's atomicity.
    """
    tenant = make_tenant(store.engine)
    body = query(tenant)
    server = ServerProcess(
        store.database_url,
        tmp_path_factory.mktemp("workers"),
        workers=4,
        options={"admin_token": SANDBOX_TOKEN, **store_settings(store)},
    )
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    with (
        running(server),
        httpx.Client(base_url=server.base_url, timeout=60, limits=limits) as http,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        started = time.time()
        responses = list(pool.map(lambda _: http.post(GET_ALL, json=body), range(240)))
        elapsed = time.time() - started
        metrics = http.get("/metrics", headers=SANDBOX_ADMIN).text
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 200, statuses
    assert statuses.count(429) == 40, statuses
    for response in responses:
        if response.status_code == 429:
            retry_after = assert_rate_limited(response, at_most=30)
            assert retry_after >= 30 - elapsed - 1
    assert 'orderitems_requests_total{operation="orderItems/getAll",status="200"} 200.0' in metrics
    assert 'orderitems_rate_limit_rejections_total{operation="orderItems/getAll"} 40.0' in metrics
