"""The plugin's handle on the app in this process: the reset, and the assertions on the log.

The reset is measured here on the size the issue names (20,000 items): a cancel of 10 items,
a fault, a frozen clock, a rate-limit window and log lines, then ``restore``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator

import httpx
import pytest

from orderitems.testing import InProcessTransport, transport

GET_ALL = "/api/connector/v1/orderItems/getAll"
CANCEL = "/api/connector/v1/orderItems/cancel"
PERIOD = {"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-04-01T00:00:00Z"}


@pytest.fixture(scope="module")
def app() -> Iterator[InProcessTransport]:
    opened = transport(items=20_000, rate_limit_requests=5, rate_limit_window_seconds=60)
    yield opened
    opened.shutdown()


@pytest.fixture
def http(app: InProcessTransport) -> Iterator[httpx.Client]:
    app.sandbox.restore()
    with httpx.Client(transport=app, base_url=app.base_url) as client:
        yield client


def _rows(path: object, ids: list[str]) -> list[tuple[object, ...]]:
    with sqlite3.connect(str(path)) as connection:
        marks = ",".join("?" * len(ids))
        return connection.execute(
            f"SELECT * FROM order_items WHERE id IN ({marks}) ORDER BY id", ids
        ).fetchall()


def _page(
    http: httpx.Client, app: InProcessTransport, count: int, **filters: object
) -> list[dict[str, object]]:
    body = app.tokens["gross_uk"].body(
        Limitation={"Count": count}, **(filters or {"CreatedUtc": PERIOD})
    )
    response = http.post(GET_ALL, json=body)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["OrderItems"]
    return items


def test_restore_puts_back_rows_and_forgets_sandbox_state(
    app: InProcessTransport, http: httpx.Client
) -> None:
    late = {"StartUtc": "2026-10-01T00:00:00Z", "EndUtc": "2027-01-01T00:00:00Z"}
    open_items = _page(http, app, 10, CreatedUtc=late, AccountingStates=["Open"])
    ids = [str(item["Id"]) for item in open_items]
    assert len(ids) == 10
    with sqlite3.connect(app.copy.live) as connection:
        stored_ids = [
            row[0]
            for row in connection.execute(
                "SELECT id FROM order_items ORDER BY rowid DESC LIMIT 2000"
            )
        ]
    canceled = http.post(CANCEL, json=app.tokens["gross_uk"].body(OrderItemIds=ids))
    assert canceled.status_code == 200, canceled.text
    body = app.tokens["gross_uk"].body(CreatedUtc=PERIOD, Limitation={"Count": 1})
    assert [http.post(GET_ALL, json=body).status_code for _ in range(4)][-1] == 429
    app.sandbox.fault(503, count=5)
    app.sandbox.freeze_clock("2030-01-01T00:00:00Z")
    changed = [
        row[0]
        for row in sqlite3.connect(app.copy.live).execute(
            "SELECT id FROM order_items WHERE accounting_state = 'Canceled'"
        )
    ]
    assert changed, "the cancel changed the live file"

    started = time.perf_counter()
    app.sandbox.restore()
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"restore of 20,000 items after a cancel of 10: {elapsed_ms:.1f} ms")  # noqa: T201

    sample = stored_ids[:50] + changed
    assert _rows(app.copy.live, sample) == _rows(app.copy.pristine, sample)
    assert app.sandbox.faults() == []
    assert app.sandbox.requests() == []
    clock = app.sandbox._send("GET", "/clock")
    assert clock["OffsetSeconds"] == 0
    assert not clock["Frozen"]
    # The requests above filled the window of 5; the restore emptied it.
    assert _page(http, app, 1)
    assert elapsed_ms < 1000, "a restore copies the changed rows back, never the whole file"


def test_assert_rate_respected_fails_for_a_client_that_ignores_retry_after(
    app: InProcessTransport, http: httpx.Client
) -> None:
    app.sandbox.fault(429, retry_after=30, count=1)
    body = app.tokens["gross_uk"].body(CreatedUtc=PERIOD, Limitation={"Count": 1})
    assert http.post(GET_ALL, json=body).status_code == 429
    assert http.post(GET_ALL, json=body).status_code == 200
    [refused] = app.sandbox.requests("orderitems/GETALL", status=429)
    assert refused.retry_after == 30
    with pytest.raises(AssertionError, match="ignored Retry-After"):
        app.sandbox.assert_rate_respected()


def test_the_limiters_own_429_carries_its_retry_after(
    app: InProcessTransport, http: httpx.Client
) -> None:
    body = app.tokens["net_us"].body(CreatedUtc=PERIOD, Limitation={"Count": 1})
    statuses = [http.post(GET_ALL, json=body).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    [refused] = app.sandbox.requests(token="net_us", status=429)
    assert refused.retry_after is not None
    assert 1 <= refused.retry_after <= 60
    app.sandbox.assert_rate_respected()  # no request after the 429: nothing ignored


def test_assert_complete_names_what_the_client_missed(
    app: InProcessTransport, http: httpx.Client
) -> None:
    window = ("2025-01-01T00:00:00Z", "2025-01-08T00:00:00Z")
    expected = app.sandbox.matching_ids(token="gross_uk", CreatedUtc=window)
    assert 1 < len(expected) < 1000
    app.sandbox.assert_complete(expected, token="gross_uk", CreatedUtc=window)
    dropped = sorted(expected)[0]
    with pytest.raises(AssertionError, match=f"missed 1 of the {len(expected)} items.*{dropped}"):
        app.sandbox.assert_complete(expected - {dropped}, token="gross_uk", CreatedUtc=window)


def test_matching_ids_splits_a_long_period_as_getall_pages_would(
    app: InProcessTransport, http: httpx.Client
) -> None:
    year = ("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
    quarters = [
        ("2025-01-01T00:00:00Z", "2025-04-01T00:00:00Z"),
        ("2025-04-01T00:00:00Z", "2025-07-01T00:00:00Z"),
        ("2025-07-01T00:00:00Z", "2025-10-01T00:00:00Z"),
        ("2025-10-01T00:00:00Z", "2026-01-01T00:00:00Z"),
    ]
    by_quarter = set().union(
        *(app.sandbox.matching_ids(token="portfolio", CreatedUtc=q) for q in quarters)
    )
    assert app.sandbox.matching_ids(token="portfolio", CreatedUtc=year) == by_quarter
    assert len(by_quarter) > 1000


def test_an_async_client_uses_the_same_transport(app: InProcessTransport) -> None:
    app.sandbox.restore()
    app.sandbox.fault(503, count=1, operation="orderItems/getAll")
    body = app.tokens["berlin"].body(CreatedUtc=PERIOD, Limitation={"Count": 3})

    async def two_requests() -> list[int]:
        async with httpx.AsyncClient(transport=app, base_url=app.base_url) as client:
            return [(await client.post(GET_ALL, json=body)).status_code for _ in range(2)]

    assert asyncio.run(two_requests()) == [503, 200]
    assert [call.status for call in app.sandbox.requests(token="berlin")] == [503, 200]
