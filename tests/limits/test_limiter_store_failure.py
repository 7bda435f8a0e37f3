"""Redis, the limiter's and the sandbox's store, killed and started again under a running
``serve --workers 2`` (docs/behaviour.md#limits, #errors): while it is down every answer is a
503 with ``Retry-After`` and the error body (``rate_limit_store_failure=closed``, the default)
or the request is served unlimited (``open``); never a 500; once it is back, the limit is exact
again. The Redis is a ``redis-server`` of the test's own (the shared one is never stopped)."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from contract import assert_matches_schema
from factories import make_tenant
from processes import SANDBOX_ADMIN, SANDBOX_TOKEN, RedisServer, ServerProcess, Store, running

GET_ALL = "/api/connector/v1/orderItems/getAll"
LIMIT = 5

pytestmark = pytest.mark.parametrize("store", ["sqlite"], indirect=True)


def query(store: Store) -> dict[str, Any]:
    """A request of a new token (so a new window)."""
    return make_tenant(store.engine).envelope(
        CreatedUtc={"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-03-31T00:00:00Z"},
        Limitation={"Count": 1},
    )


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert_matches_schema(body, "ConnectorApiExceptionResult")
    assert body["RequestId"] == response.headers["Request-Id"]
    assert "unavailable" in body["Message"]
    assert int(response.headers["Retry-After"]) >= 1


def concurrent_statuses(server: ServerProcess, body: dict[str, Any], count: int) -> Counter[int]:
    with server.client() as http, ThreadPoolExecutor(max_workers=8) as pool:
        return Counter(pool.map(lambda _: http.post(GET_ALL, json=body).status_code, range(count)))


def wait_until_served(server: ServerProcess, store: Store, timeout: float = 30) -> None:
    """Poll (a new token each time) until a request is answered 200 again."""
    deadline = time.monotonic() + timeout
    with server.client() as http:
        while time.monotonic() < deadline:
            status = http.post(GET_ALL, json=query(store)).status_code
            assert status in (200, 503), status
            if status == 200:
                return
            time.sleep(0.1)
    raise AssertionError("not served again after Redis came back")


def limited_server(
    store: Store, redis_server: RedisServer, tmp_path: Any, **settings: object
) -> ServerProcess:
    return ServerProcess(
        store.database_url,
        tmp_path,
        workers=2,
        redis_url=redis_server.url,
        rate_limit_requests=LIMIT,
        rate_limit_window_seconds=60,
        options=settings,
    )


def test_with_redis_down_requests_are_503_then_the_limit_is_exact_again(
    store: Store, own_redis: RedisServer, tmp_path: Any
) -> None:
    server = limited_server(store, own_redis, tmp_path, sandbox=True, admin_token=SANDBOX_TOKEN)
    with running(server), server.client() as http:
        assert http.post(GET_ALL, json=query(store)).status_code == 200
        own_redis.kill()
        body = query(store)
        for _ in range(10):  # over kept-alive connections, so both workers' pools see it
            assert_unavailable(http.post(GET_ALL, json=body))
        assert concurrent_statuses(server, body, 40) == {503: 40}
        assert_unavailable(http.get("/_sandbox/faults", headers=SANDBOX_ADMIN))

        own_redis.start()
        wait_until_served(server, store)
        assert concurrent_statuses(server, query(store), 3 * LIMIT) == {200: LIMIT, 429: 2 * LIMIT}
        assert http.get("/_sandbox/faults", headers=SANDBOX_ADMIN).json() == []
        logged = http.get("/_sandbox/requests", headers=SANDBOX_ADMIN).json()
        statuses = {entry["Status"] for entry in logged}
        assert 429 in statuses, statuses
        assert statuses <= {200, 429, 503}, statuses
    log = server.log.read_text()
    assert "Traceback" not in log
    assert "shared state in Redis unavailable" in log


def test_an_open_limiter_serves_unlimited_while_redis_is_down(
    store: Store, own_redis: RedisServer, tmp_path: Any
) -> None:
    server = limited_server(store, own_redis, tmp_path, rate_limit_store_failure="open")
    with running(server):
        own_redis.kill()
        assert concurrent_statuses(server, query(store), 3 * LIMIT) == {200: 3 * LIMIT}
        own_redis.start()
        body = query(store)
        assert concurrent_statuses(server, body, 3 * LIMIT) == {200: LIMIT, 429: 2 * LIMIT}
    log = server.log.read_text()
    assert "Traceback" not in log
    assert "served unlimited (rate_limit_store_failure=open)" in log
