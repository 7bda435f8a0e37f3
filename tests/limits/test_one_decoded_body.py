"""The limiter, the sandbox and the operation read one decoded body (docs/behaviour.md#envelope).

A body that spelled ``AccessToken`` twice (``"AccessToken": "<random>", "accesstoken":
"<real>"``, or null or "" beside a variant) once let the limiter count one token while the
operation authenticated with the other: every request of a full window answered 200. Such a
body is now a 400 naming the property, on a real ``serve`` process with the default limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from answers import assert_error
from factories import Tenant, make_tenant
from processes import ServerProcess, Stores, running

GET_ALL = "/api/connector/v1/orderItems/getAll"
LIMIT = 200  # the default: 200 requests per AccessToken per 30 s


@pytest.fixture(scope="module")
def limited(
    stores: Stores, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, Tenant]]:
    """``orderitems serve`` on a SQLite file with the default rate limit, and one tenant."""
    store = stores.get("sqlite", request)
    server = ServerProcess(store.database_url, tmp_path_factory.mktemp("decoded-body"))
    with running(server):
        yield server, make_tenant(store.engine)


def query(tenant: Tenant) -> dict[str, Any]:
    return tenant.envelope(
        CreatedUtc={"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-03-31T00:00:00Z"},
        Limitation={"Count": 1},
    )


def encoded(pairs: list[tuple[str, Any]]) -> bytes:
    """A JSON object with these members in this order (a dict cannot hold two spellings)."""
    return (
        b"{"
        + b",".join(msgspec.json.encode(k) + b":" + msgspec.json.encode(v) for k, v in pairs)
        + b"}"
    )


def attacks(tenant: Tenant) -> list[bytes]:
    """Bodies that name the real token once and something else under another spelling."""
    rest = [(k, v) for k, v in query(tenant).items() if k != "AccessToken"]
    real = tenant.access_token
    return [
        encoded([("AccessToken", uuid.uuid4().hex), ("accesstoken", real), *rest]),
        encoded([("accesstoken", real), ("AccessToken", uuid.uuid4().hex), *rest]),
        encoded([("AccessToken", None), ("accessToken", real), *rest]),
        encoded([("AccessToken", ""), ("ACCESSTOKEN", real), *rest]),
        encoded([("accessToken", real), ("AccessToken", None), *rest]),
        encoded([*rest, ("AccessToken", real), ("accesstoken", uuid.uuid4().hex)]),
    ]


def test_a_full_window_cannot_be_bypassed_by_spelling_access_token_twice(
    limited: tuple[ServerProcess, Tenant],
) -> None:
    """260 requests: 200 ordinary ones fill the window; 60 with two spellings of AccessToken
    are 400 naming it (they answered 200 before); the window stays full (429)."""
    server, tenant = limited
    bodies = attacks(tenant)
    with server.client() as http:
        ordinary = [http.post(GET_ALL, json=query(tenant)).status_code for _ in range(LIMIT)]
        assert ordinary == [200] * LIMIT
        for i in range(60):
            response = http.post(
                GET_ALL,
                content=bodies[i % len(bodies)],
                headers={"Content-Type": "application/json"},
            )
            assert_error(response, 400, "AccessToken")
        assert http.post(GET_ALL, json=query(tenant)).status_code == 429


def test_one_spelling_of_access_token_is_counted_in_any_letter_case(
    limited: tuple[ServerProcess, Tenant], stores: Stores, request: pytest.FixtureRequest
) -> None:
    """``accesstoken`` alone is the same token to the limiter as to the operation."""
    server, _ = limited
    tenant = make_tenant(stores.get("sqlite", request).engine)
    body = {("accesstoken" if k == "AccessToken" else k): v for k, v in query(tenant).items()}
    with server.client() as http:
        statuses = [http.post(GET_ALL, json=body).status_code for _ in range(LIMIT + 1)]
        assert statuses == [200] * LIMIT + [429]
        assert http.post(GET_ALL, json=query(tenant)).status_code == 429


def test_requests_with_two_spellings_are_never_served_and_never_reach_the_database(
    limited: tuple[ServerProcess, Tenant], stores: Stores, request: pytest.FixtureRequest
) -> None:
    """With the window empty too: a body the server cannot read one way is refused."""
    server, _ = limited
    tenant = make_tenant(stores.get("sqlite", request).engine)
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        for body in attacks(tenant):
            response = http.post(
                GET_ALL, content=body, headers={"Content-Type": "application/json"}
            )
            assert_error(response, 400, "AccessToken")
